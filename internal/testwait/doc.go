// Package testwait polls a condition in a test until it holds, for states
// that announce themselves with no event a test could wait on (a
// connection flag, counters, what a remote store holds).
//
// A wait that runs out fails the test with what was awaited and the
// condition's last explanation of why it did not hold yet, so a failure
// says what the state was, not only that a deadline passed. The functions
// call t.Fatalf and must run on the test's goroutine.
//
// The condition is polled often at first, so that a wait for a state that
// is almost reached costs little, and then every 50ms, so that a long wait
// for a condition that does I/O does not load the machine under test.
package testwait
