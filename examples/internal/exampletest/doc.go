// Package exampletest runs the example programs the way a user does: built
// with go build, started as processes with the arguments, environment and
// working directory a test chooses, and stopped with SIGINT.
//
// # Usage
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		exampletest.RemoveBinaries()
//		os.Exit(code)
//	}
//
//	func TestWithAUserFile(t *testing.T) {
//		p := exampletest.Start(t, exampletest.Command{
//			Binary: exampletest.Binary(t, "github.com/plinth-go/plinth/examples/supervisor"),
//			Args:   []string{"-supervisor-config", file},
//		})
//		p.WaitOutput(t, "vpp started", time.Minute)
//		if code := p.Interrupt(t, 30*time.Second); code != 0 { … }
//	}
//
// # Concurrency
//
// A Process is safe for concurrent use; Binary may be called from parallel
// tests.
package exampletest
