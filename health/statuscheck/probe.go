package statuscheck

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// probeLoop calls the pull-mode probes at once, then every probe interval.
func (p *Plugin) probeLoop() {
	defer p.wg.Done()
	t := time.NewTicker(p.cfg.ProbeInterval)
	defer t.Stop()
	p.probeRound()
	close(p.firstRound)
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
		p.probeRound()
	}
}

// probeRound calls every pull-mode probe that is not still running from an
// earlier round, concurrently, and records each result or timeout. It
// returns when every call has returned or timed out.
func (p *Plugin) probeRound() {
	type due struct {
		name  string
		e     *entry
		probe PluginStateProbe
	}
	var calls []due
	p.mu.Lock()
	for _, name := range p.names {
		if e := p.plugins[name]; e.probe != nil && !e.inFlight {
			e.inFlight = true
			calls = append(calls, due{name, e, e.probe})
		}
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.runProbe(c.name, c.e, c.probe)
		}()
	}
	wg.Wait()
}

type probeResult struct {
	state PluginState
	err   error
}

// runProbe calls one probe on its own goroutine and waits for its result or
// its timeout. A probe that times out keeps running (it is marked in flight
// until it returns, so it is never called twice at once), and its late
// result is dropped: the next round asks again.
func (p *Plugin) runProbe(name string, e *entry, probe PluginStateProbe) {
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.ProbeTimeout)
	defer cancel()
	// Buffered, so that the call can finish after runProbe gave up.
	done := make(chan probeResult, 1)
	p.callWG.Add(1)
	go func() {
		defer p.callWG.Done()
		r := callProbe(ctx, probe)
		p.mu.Lock()
		e.inFlight = false
		p.mu.Unlock()
		done <- r
	}()
	var r probeResult
	select {
	case r = <-done:
	case <-ctx.Done():
		if p.ctx.Err() == nil {
			p.report(name, StateError, ErrProbeTimeout)
		}
		return
	}
	switch {
	case p.ctx.Err() != nil:
		return // closing: the probe was cancelled, not failing
	case ctx.Err() != nil && errors.Is(r.err, context.DeadlineExceeded):
		// The probe honoured its deadline: that is a timeout too.
		r = probeResult{StateError, ErrProbeTimeout}
	}
	p.report(name, r.state, r.err)
}

// callProbe turns a panic of the probe into an ERROR, so that a faulty probe
// cannot take the agent down.
func callProbe(ctx context.Context, probe PluginStateProbe) (r probeResult) {
	defer func() {
		if v := recover(); v != nil {
			r = probeResult{StateError, fmt.Errorf("probe panicked: %v", v)}
		}
	}()
	state, err := probe(ctx)
	return probeResult{state, err}
}
