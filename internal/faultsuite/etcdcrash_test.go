//go:build linux

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

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
)

// flapperConf adds to sleeperConf a program that flaps: it runs 20 ms,
// exits and is restarted 20 ms later, for ever, so its status check state
// (supervisor.flapper) changes tens of times a second.
const flapperConf = `  - name: "flapper"
    executable-path: "sleep"
    executable-args: ["0.02"]
    restarts: -1
    restart-delay: 20ms
    restart-delay-max: 20ms
`

// The status-key writes of the flapper are counted with etcd up while the
// flapper changes at least minFlaps times; it makes tens of changes a second
// on an idle machine, far fewer on a busy one, so the count waits for the
// changes, up to flapTimeout, rather than for a fixed time. Forty changes
// keep the slack of the write bound (8 writes) small next to the writes a
// storm of three per change would add.
const (
	minFlaps    = 40
	flapTimeout = time.Minute
)

// crashSessionTTL is the agent's session-ttl in the etcd-crash scenario:
// short, so that checking the keys again one TTL after they matched
// costs little.
const crashSessionTTL = 3 * time.Second

// TestStatusKeysFollowTheAgentAcrossEtcdCrashes: the agent starts while
// etcd is down and serves its probes, while a supervised program flaps (its
// status changes tens of times a second); each time etcd comes back (after
// a SIGKILL), the agent writes the flapping status at most twice per change
// (its key and the agent key: no write storm), and once the flapper is
// stopped the status keys in etcd reach what /readiness shows (whole
// values), including a change of the sleeper made while etcd was down,
// and still do one session TTL later; /liveness
// and /readiness answer within maxProbeLatency throughout.
func TestStatusKeysFollowTheAgentAcrossEtcdCrashes(t *testing.T) {
	const scenario = "etcd-crash"
	e := etcdtest.StartProcess(t)
	cli := newEtcdClient(t, e.Endpoints())
	a := newAgent(t, "faultsuite-etcd", e.Endpoints(), map[string]string{
		// A short dial timeout makes the agent notice the outage sooner.
		"etcd.conf":       fmt.Sprintf("dial-timeout: 1s\nsession-ttl: %s\n", crashSessionTTL),
		"supervisor.conf": sleeperConf + flapperConf,
	})
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()

	// Start degraded: etcd is down when the agent starts.
	e.Kill()
	a.Start()
	waitFor(t, recoverTimeout, "agent serves /readiness with etcd down", pluginState(c, a, "etcd", 2))

	p := startProber(c, a, false)
	var changes int // status changes of the flapper
	for round := range rounds(3, 20) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		flapStart, err := programByName(ctx, c, a, "flapper")
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if round > 0 {
			e.Kill()
			waitFor(t, recoverTimeout, "agent notices etcd is down", pluginState(c, a, "etcd", 2))
		}
		// Change a state that only the restarted etcd can learn: the
		// sleeper alternately dies (ERROR) and is started again (OK).
		ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
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
		d := waitFor(t, recoverTimeout, fmt.Sprintf("round %d: agent connected again", round), pluginState(c, a, "etcd", 1))
		record(t, scenario, "etcd up -> plugin etcd OK", d)
		writes, flips, d := countFlapperWrites(t, c, cli, a)
		record(t, scenario, "counting window", d)
		recordCount(t, scenario, "flapper changes, counted", int64(flips))
		recordCount(t, scenario, "status-key writes, counted", int64(writes))
		// Each change makes at most one publish, of the flapper's key and
		// the agent key, as the other keys do not change meanwhile; add a
		// publish under way at the start and one waiting, and a little
		// room.
		if limit := 2*flips + 8; writes > limit {
			t.Errorf("round %d: %d writes to etcd while the flapper changed %d times, want at most %d", round, writes, flips, limit)
		}
		if writes == 0 || flips < minFlaps {
			t.Errorf("round %d: %d writes to etcd while the flapper changed %d times, want it to flap (%d changes or more) and the changes to reach etcd",
				round, writes, flips, minFlaps)
		}

		// A flapping state is never still: stop the flapper, then the keys
		// must reach what /readiness shows.
		ctx, cancel = context.WithTimeout(t.Context(), 30*time.Second)
		err = stopProgram(ctx, c, a, "flapper")
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		d = waitFor(t, recoverTimeout, fmt.Sprintf("round %d: keys match /readiness after etcd restart", round), inSync(c, cli, a))
		record(t, scenario, "flapper stopped -> keys in sync", d)
		// Keys on a lease that died with the outage would vanish within
		// one TTL of the first match: they must still match after it.
		time.Sleep(crashSessionTTL + time.Second)
		ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
		if ok, why := inSync(c, cli, a)(ctx); !ok {
			t.Errorf("round %d: one session TTL (%v) after the keys matched /readiness: %s", round, crashSessionTTL, why)
		}
		cancel()

		ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
		flapEnd, err := programByName(ctx, c, a, "flapper")
		if err == nil {
			// Flapping on through the next outage.
			err = startProgram(ctx, c, a, "flapper")
		}
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		// A run is an OK and its end an ERROR.
		changes += 2 * (flapEnd.Restarts - flapStart.Restarts)
	}
	recordCount(t, scenario, "flapper changes in all", int64(changes))
	p.stopAndCheck(t, scenario)
}

// countFlapperWrites counts the writes to etcd (its revisions: the agent is
// its only writer) while the flapper changes status at least minFlaps times
// (two per run: OK as it starts, ERROR as it ends), those changes and how
// long that took. It fails the test if, within flapTimeout, the flapper does
// not change that often or no change reaches etcd.
func countFlapperWrites(t *testing.T, c *http.Client, cli *clientv3.Client, a *agent) (writes, changes int, took time.Duration) {
	t.Helper()
	restarts := func(ctx context.Context) (int, error) {
		p, err := programByName(ctx, c, a, "flapper")
		return p.Restarts, err
	}
	revision := func(ctx context.Context) (int64, error) {
		resp, err := cli.Get(ctx, "/", clientv3.WithCountOnly())
		if err != nil {
			return 0, err
		}
		return resp.Header.Revision, nil
	}
	// The changes are counted over a little more than the writes: the
	// restarts are read first at the start and last at the end.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	restarts0, err := restarts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rev0, err := revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	// Two changes per restart, not counting the runs in progress at each
	// end. The supervisor may learn of several runs at once, and their
	// writes follow: the count goes on until one has reached etcd.
	took = waitFor(t, flapTimeout, fmt.Sprintf("the flapper to change %d times and a change to reach etcd", minFlaps), func(ctx context.Context) (bool, string) {
		n, err := restarts(ctx)
		if err != nil {
			return false, err.Error()
		}
		rev, err := revision(ctx)
		if err != nil {
			return false, err.Error()
		}
		return 2*(n-restarts0) >= minFlaps && rev > rev0, fmt.Sprintf("%d restarts, %d writes", n-restarts0, rev-rev0)
	})
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rev1, err := revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	restarts1, err := restarts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Two more changes: the runs in progress at each end.
	return int(rev1 - rev0), 2*(restarts1-restarts0) + 2, took
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
// keeps the slowest latency and the first unexpected answer: a failure to
// connect, and any code but 200 and 503, or any but 200 when the prober
// is strict.
type prober struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// Written by the probing goroutine, read after wg.Wait.
	max   time.Duration
	count int
	err   error
}

func startProber(c *http.Client, a *agent, strict bool) *prober {
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
				if err == nil && code != http.StatusOK && (strict || code != http.StatusServiceUnavailable) {
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

// stopAndCheck stops probing, records the slowest latency of the scenario
// and fails the test if a probe failed or took longer than maxProbeLatency.
func (p *prober) stopAndCheck(t *testing.T, scenario string) {
	t.Helper()
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
