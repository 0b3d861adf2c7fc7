//go:build unix

package supervisor

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// handleSIGHUP calls Reload on every SIGHUP the agent process receives,
// until the returned func is called; that func waits for a reload in
// progress. Signals that arrive during a reload coalesce into one more.
func (p *Plugin) handleSIGHUP() (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ch:
				p.Log.Infof("SIGHUP: reloading the conf")
				if _, err := p.Reload(); err != nil {
					p.Log.Errorf("SIGHUP: %v", err)
				}
			case <-done:
				return
			}
		}
	})
	return func() {
		signal.Stop(ch)
		close(done)
		wg.Wait()
	}
}
