// Package etcdtest starts real etcd servers for tests: in the test process
// ([Start]) or as separate processes that tests can kill and restart
// ([StartProcess], [StartCluster]).
//
// # Usage
//
//	func TestSomething(t *testing.T) {
//		srv := etcdtest.Start(t)            // closed by t.Cleanup
//		cli := newClient(srv.Endpoints())   // close it before the test ends
//		...
//	}
//
// Every server gets free ports and a data directory under t.TempDir(), and
// skips fsync. Register client cleanups after starting the server, so that
// clients close first (t.Cleanup runs in reverse order).
//
// # Processes
//
// [StartProcess] runs cmd/plinth-etcd, built once per test binary with the go
// command found in PATH (or GOROOT). The build runs in the test's working
// directory, so it works in this module and in modules that require it.
// Kill sends SIGKILL, as a crash would; Restart starts the member again on the
// same ports and data.
//
// # Leaks
//
// etcd's peer connections may outlive a closed member by up to five seconds.
// [VerifyTestMain] checks for leaked goroutines like goleak.VerifyTestMain,
// but waits for them to end first.
package etcdtest
