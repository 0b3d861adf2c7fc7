package main

import (
	"context"
	"errors"
	"flag"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra"
)

// defaultFlip is how long each demo plugin stays in one state, unless
// -flip-every says otherwise.
const defaultFlip = 10 * time.Second

// pusher reports its state on every change (push mode). It injects the
// status check the way infrastructure plugins do: optional, and usable from
// its Init.
type pusher struct {
	infra.PluginDeps
	StatusCheck statuscheck.PluginStatusWriter `plinth:"optional,unordered"`

	flip time.Duration
	stop chan struct{}
	wg   sync.WaitGroup
}

func newPusher() *pusher {
	p := &pusher{flip: defaultFlip, stop: make(chan struct{})}
	p.SetName("pusher")
	return p
}

// RegisterFlags defines -flip-every, shared by both demo plugins.
func (p *pusher) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&p.flip, "flip-every", defaultFlip, "how long the demo plugins stay OK or ERROR")
}

// Init registers the plugin: it stays INIT, and keeps the agent not ready,
// until AfterInit reports OK.
func (p *pusher) Init() error {
	if p.StatusCheck != nil {
		return p.StatusCheck.Register(p.String(), nil)
	}
	return nil
}

// AfterInit reports OK, then flips to ERROR and back every flip period.
func (p *pusher) AfterInit() error {
	if p.StatusCheck == nil {
		return nil
	}
	_ = p.StatusCheck.ReportStateChange(p.String(), statuscheck.StateOK, nil)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(p.flip)
		defer t.Stop()
		failing := false
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
			failing = !failing
			if failing {
				_ = p.StatusCheck.ReportStateChange(p.String(), statuscheck.StateError, errors.New("simulated outage"))
			} else {
				_ = p.StatusCheck.ReportStateChange(p.String(), statuscheck.StateOK, nil)
			}
		}
	}()
	return nil
}

func (p *pusher) Close() error {
	close(p.stop)
	p.wg.Wait()
	return nil
}

// puller is probed by the status check (pull mode): its probe reports ERROR
// during every other flip period, starting half a period after the pusher's.
type puller struct {
	infra.PluginDeps
	StatusCheck statuscheck.PluginStatusWriter `plinth:"optional,unordered"`
	Pusher      *pusher

	start atomic.Pointer[time.Time]
}

func newPuller() *puller {
	p := &puller{}
	p.SetName("puller")
	return p
}

func (p *puller) Init() error {
	now := time.Now()
	p.start.Store(&now)
	if p.StatusCheck != nil {
		return p.StatusCheck.Register(p.String(), p.probe)
	}
	return nil
}

func (p *puller) probe(ctx context.Context) (statuscheck.PluginState, error) {
	flip := p.Pusher.flip
	elapsed := time.Since(*p.start.Load()) + flip/2
	if (elapsed/flip)%2 == 1 {
		return statuscheck.StateError, errors.New("simulated backend timeout")
	}
	return statuscheck.StateOK, nil
}

func (p *puller) Close() error { return nil }

// watcher logs every change of the agent state, as a dashboard would follow
// it.
type watcher struct {
	infra.PluginDeps
	Status statuscheck.StatusReader

	stop func()
	wg   sync.WaitGroup
}

func newWatcher() *watcher {
	w := &watcher{}
	w.SetName("watcher")
	return w
}

func (w *watcher) Init() error { return nil }

func (w *watcher) AfterInit() error {
	changed, cancel := w.Status.Subscribe()
	w.stop = cancel
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		last := statuscheck.PluginState(-1)
		for {
			// Read first: the state may have changed before Subscribe.
			if st := statuscheck.PluginState(w.Status.Snapshot().Agent.GetState()); st != last {
				last = st
				w.Log.Infof("agent state %s", st)
			}
			if _, ok := <-changed; !ok {
				return
			}
		}
	}()
	return nil
}

func (w *watcher) Close() error {
	if w.stop != nil {
		w.stop()
	}
	w.wg.Wait()
	return nil
}
