package faultsuite

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
)

// TestStatusKeysFollowTheAgentAcrossEtcdCrashes: the agent starts while
// etcd is down and serves its probes; each time etcd comes back (after a
// SIGKILL), the status keys in etcd reach the states that /readiness
// shows, including a change made while etcd was down; /liveness and
// /readiness answer within maxProbeLatency throughout.
func TestStatusKeysFollowTheAgentAcrossEtcdCrashes(t *testing.T) {
	const scenario = "etcd-crash"
	e := etcdtest.StartProcess(t)
	cli := newEtcdClient(t, e.Endpoints())
	a := newAgent(t, "faultsuite-etcd", e.Endpoints(), map[string]string{
		// A short dial timeout makes the agent notice the outage sooner.
		"etcd.conf":       "dial-timeout: 1s\n",
		"supervisor.conf": sleeperConf,
	})
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()

	// Start degraded: etcd is down when the agent starts.
	e.Kill()
	a.Start()
	waitFor(t, recoverTimeout, "agent serves /readiness with etcd down", pluginState(c, a, "etcd", 2))

	p := startProber(c, a)
	for round := range rounds(3, 20) {
		if round > 0 {
			e.Kill()
			waitFor(t, recoverTimeout, "agent notices etcd is down", pluginState(c, a, "etcd", 2))
		}
		// Change a state that only the restarted etcd can learn: the
		// sleeper alternately dies (ERROR) and is started again (OK).
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		want := 2
		if round%2 == 0 {
			pid, err := programPid(ctx, c, a, "sleeper")
			if err != nil {
				t.Fatal(err)
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		} else {
			if err := startProgram(ctx, c, a, "sleeper"); err != nil {
				t.Fatal(err)
			}
			want = 1
		}
		cancel()
		waitFor(t, recoverTimeout, "sleeper state changes while etcd is down", pluginState(c, a, "supervisor.sleeper", want))

		e.Restart()
		d := waitFor(t, recoverTimeout, fmt.Sprintf("round %d: keys match /readiness after etcd restart", round), inSync(c, cli, a))
		record(t, scenario, "etcd up -> keys in sync", d)
	}
	maxLatency, probes, err := p.stop()
	record(t, scenario, "max probe latency", maxLatency)
	t.Logf("%s: %d probes", scenario, probes)
	if err != nil {
		t.Error(err)
	}
	if maxLatency > maxProbeLatency {
		t.Errorf("slowest probe took %v, want at most %v", maxLatency, maxProbeLatency)
	}
}

// pluginState returns a condition for waitFor: /readiness shows plugin in
// state.
func pluginState(c *http.Client, a *agent, plugin string, state int) func(ctx context.Context) (bool, string) {
	return func(ctx context.Context) (bool, string) {
		_, s, _, err := probe(ctx, c, a.url("/readiness"))
		if err != nil {
			return false, err.Error()
		}
		got, ok := s.states()["plugin/"+plugin]
		return ok && got == state, fmt.Sprintf("/readiness: %v", s.states())
	}
}

// prober requests /liveness and /readiness in turn, every 10 ms, and
// keeps the slowest latency and the first unexpected answer.
type prober struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// Written by the probing goroutine, read after wg.Wait.
	max   time.Duration
	count int
	err   error
}

func startProber(c *http.Client, a *agent) *prober {
	ctx, cancel := context.WithCancel(context.Background())
	p := &prober{cancel: cancel}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, path := range []string{"/liveness", "/readiness"} {
				code, _, took, err := probe(ctx, c, a.url(path))
				if ctx.Err() != nil {
					return
				}
				p.count++
				p.max = max(p.max, took)
				if err == nil && code != http.StatusOK && code != http.StatusServiceUnavailable {
					err = fmt.Errorf("%s answered %d", path, code)
				}
				if err != nil && p.err == nil {
					p.err = fmt.Errorf("probe %d: %w", p.count, err)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

// stop stops probing and returns the slowest latency, the number of
// requests and the first failure.
func (p *prober) stop() (time.Duration, int, error) {
	p.cancel()
	p.wg.Wait()
	if p.count == 0 {
		return 0, 0, errors.New("prober: no request completed")
	}
	return p.max, p.count, p.err
}
