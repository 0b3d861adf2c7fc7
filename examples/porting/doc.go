// Package porting holds the "after" side of docs/porting-from-cn-infra.md:
// every Go snippet the guide marks as compiled is copied from the example
// tests of this package, and TestGuideSnippetsAreCompiled checks that the two
// stay identical. Run them with
//
//	go test ./examples/porting/...
//
// The examples run for real: the key-value ones against an etcd server
// started in the test process, the Kafka ones against in-process brokers,
// the process ones (Linux only) against real child processes.
//
// The sub-package statuscheck is a whole program ported from cn-infra's
// status check example.
package porting
