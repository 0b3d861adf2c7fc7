// Package logmanagertest runs stand-ins for the log collectors that the log
// manager's hooks send records to (Logstash, syslog, Fluentd), so that tests
// can check what an agent's log forwarding does when its collector fails.
//
// A [Collector] listens on a loopback port and keeps every record it
// receives, with the time it read it. A test can kill it as a crash would
// ([Collector.Kill]), start it again on the same address
// ([Collector.Restart]), or make it stop reading while it keeps its
// connections open ([Collector.StopReading]):
//
//	c := logmanagertest.Start(t, logmanagertest.Lines)
//	conf := fmt.Sprintf("hooks:\n  logstash:\n    address: %s\n", c.Addr())
//	// ... start an agent with this logs.conf and log an error ...
//	recs, err := c.WaitFor(ctx, func(r []logmanagertest.Record) bool { return len(r) > 0 })
//
// # Ports
//
// The port is chosen outside the kernel's range of ephemeral ports (below
// 32768 on Linux, macOS and Windows), so that while a collector is killed
// no outgoing connection of this or another program takes its port, and
// never twice in one process. Another program that binds the same port
// while the collector is down makes Restart wait until it is free again.
//
// # Concurrency
//
// A Collector is safe for concurrent use.
package logmanagertest
