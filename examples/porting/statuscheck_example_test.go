package porting_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra"
)

// Backend is probed by the status check (pull mode).
type Backend struct {
	infra.PluginDeps
	StatusCheck statuscheck.PluginStatusWriter `plinth:"optional,unordered"`

	Ping func(ctx context.Context) error
}

func (b *Backend) Init() error {
	if b.StatusCheck == nil {
		return nil // an agent without a status check
	}
	return b.StatusCheck.Register(b.String(), func(ctx context.Context) (statuscheck.PluginState, error) {
		if err := b.Ping(ctx); err != nil {
			return statuscheck.StateError, err
		}
		return statuscheck.StateOK, nil
	})
}

// Link reports every change of its state itself (push mode).
type Link struct {
	infra.PluginDeps
	StatusCheck statuscheck.PluginStatusWriter `plinth:"optional,unordered"`
}

func (l *Link) Init() error { return nil }

func (l *Link) SetUp(up bool, cause error) {
	if l.StatusCheck == nil {
		return
	}
	state := statuscheck.StateOK
	if !up {
		state = statuscheck.StateError
	}
	_ = l.StatusCheck.ReportStateChange(l.String(), state, cause)
}

// PrintStatus reads the aggregated status, as cn-infra's StatusReader users
// did; plugins inject statuscheck.StatusReader to get it.
func PrintStatus(r statuscheck.StatusReader) {
	s := r.GetAgentStatus()
	fmt.Println("agent:", s.GetState())
	for _, p := range s.GetPlugins() { // sorted by name
		line := p.GetName() + ": " + p.GetState().String()
		if p.GetError() != "" {
			line += " (" + p.GetError() + ")"
		}
		fmt.Println(line)
	}
}

func Example_statuscheck() {
	backend := &Backend{Ping: func(ctx context.Context) error { return nil }}
	backend.SetName("backend")
	link := &Link{}
	link.SetName("link")
	sc := statuscheck.NewPlugin()
	a := newAgent(agent.AllPlugins(sc, backend, link))
	if err := a.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer a.Stop()

	link.SetUp(false, errors.New("carrier lost"))
	waitForStatus(sc, func(s *statuscheck.Snapshot) bool {
		return s.Plugin("backend").GetState() == model.OperationalState_OK &&
			s.Plugin("link").GetState() == model.OperationalState_ERROR
	})
	PrintStatus(sc)
	// Output:
	// agent: ERROR
	// backend: OK
	// link: ERROR (carrier lost)
}

// waitForStatus returns once cond holds for the status of sc. Pull probes run
// in the background, so their first result comes a little after the start.
func waitForStatus(sc *statuscheck.Plugin, cond func(*statuscheck.Snapshot) bool) {
	changed, cancel := sc.Subscribe()
	defer cancel()
	timeout := time.After(time.Minute)
	for !cond(sc.Snapshot()) {
		select {
		case _, ok := <-changed:
			if !ok {
				panic("status check closed")
			}
		case <-timeout:
			panic(fmt.Sprintf("status never matched: %v", sc.GetAgentStatus()))
		}
	}
}
