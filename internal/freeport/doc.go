// Package freeport hands tests loopback TCP ports that were free a moment
// ago, never the same one twice in a process.
//
// Asking the kernel for port 0 and closing the listener is the usual way to
// find a free port, but the kernel may give that port again to the next
// such listener: two addresses picked one after the other (an etcd
// member's client and peer addresses, three brokers) can then be equal,
// and the process that binds them fails to start. The functions here
// remember what they returned and ask again on a repeat.
//
// A port can still be taken by another process between the call and the
// test's bind; tests that must not fail on that retry the start.
package freeport
