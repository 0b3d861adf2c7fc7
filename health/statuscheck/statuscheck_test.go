package statuscheck_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra/status"
)

func TestAgentStateIsTheWorstPluginState(t *testing.T) {
	const (
		I = statuscheck.StateInit
		O = statuscheck.StateOK
		E = statuscheck.StateError
	)
	tests := []struct {
		name    string
		start   bool
		plugins []statuscheck.PluginState
		want    statuscheck.PluginState
	}{
		{"no plugin, not started", false, nil, I},
		{"no plugin, started", true, nil, O},
		{"all ok, not started", false, []statuscheck.PluginState{O, O}, I},
		{"all ok", true, []statuscheck.PluginState{O, O, O}, O},
		{"one init", true, []statuscheck.PluginState{O, I, O}, I},
		{"one error", true, []statuscheck.PluginState{O, E, O}, E},
		{"error wins over init", true, []statuscheck.PluginState{I, E, I}, E},
		{"error before start", false, []statuscheck.PluginState{O, E}, E},
		{"error reported last does not hide earlier", true, []statuscheck.PluginState{E, O}, E},
		{"ok reported last does not hide error", true, []statuscheck.PluginState{O, E, O, O}, E},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := statuscheck.NewPlugin(statuscheck.UseConf(statuscheck.Config{ProbeInterval: time.Hour}))
			if err := p.Init(); err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.plugins {
				if err := p.ReportStateChange(fmt.Sprintf("p%d", i), s, nil); err != nil {
					t.Fatal(err)
				}
			}
			if tt.start {
				if err := p.AfterInit(); err != nil {
					t.Fatal(err)
				}
			}
			defer p.Close()
			if got := statuscheck.PluginState(p.GetAgentStatus().GetState()); got != tt.want {
				t.Errorf("agent state = %v, want %v", got, tt.want)
			}
			if got := p.Snapshot().Started; got != tt.start {
				t.Errorf("Started = %v, want %v", got, tt.start)
			}
		})
	}
}

func TestPushReportsBeforeInitAreKept(t *testing.T) {
	clock := newClock(1000)
	p := statuscheck.NewPlugin(statuscheck.WithClock(clock.Now), statuscheck.UseConf(statuscheck.Config{ProbeInterval: time.Hour}))
	// As a plugin that starts before the status check would, from its Init.
	if err := p.Register("etcd", nil); err != nil {
		t.Fatal(err)
	}
	clock.Set(1001)
	if err := p.ReportStateChange("etcd", statuscheck.StateOK, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Init(); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.AfterInit(); err != nil {
		t.Fatal(err)
	}
	s := p.GetAllPluginStatus()["etcd"]
	want := &model.PluginStatus{Name: "etcd", State: model.OperationalState_OK, LastChange: 1001, LastUpdate: 1001}
	if s.String() != want.String() {
		t.Errorf("status = %v, want %v", s, want)
	}
	if got := p.GetAgentStatus().GetState(); got != model.OperationalState_OK {
		t.Errorf("agent state = %v, want OK", got)
	}
}

func TestTimestampsMoveOnlyWithChanges(t *testing.T) {
	clock := newClock(100)
	p := started(t, statuscheck.WithClock(clock.Now))
	steps := []struct {
		at         int64
		state      statuscheck.PluginState
		err        error
		lastChange int64
		lastUpdate int64
	}{
		{101, statuscheck.StateOK, nil, 101, 101},
		{102, statuscheck.StateOK, nil, 101, 101},                               // nothing changed
		{103, statuscheck.StateError, errors.New("VPP connecting"), 103, 103},   // state changed
		{104, statuscheck.StateError, errors.New("VPP disconnected"), 103, 104}, // error text changed
		{105, statuscheck.StateError, errors.New("VPP disconnected"), 103, 104}, // same again
		{106, statuscheck.StateOK, nil, 106, 106},
	}
	for _, s := range steps {
		clock.Set(s.at)
		if err := p.ReportStateChange("GOVPP", s.state, s.err); err != nil {
			t.Fatal(err)
		}
		got := p.Snapshot().Plugin("GOVPP")
		if got.GetLastChange() != s.lastChange || got.GetLastUpdate() != s.lastUpdate {
			t.Errorf("at %d: last_change, last_update = %d, %d, want %d, %d",
				s.at, got.GetLastChange(), got.GetLastUpdate(), s.lastChange, s.lastUpdate)
		}
	}
	a := p.Snapshot().Agent
	if a.GetLastChange() != 106 || a.GetLastUpdate() != 106 || a.GetStartTime() != 100 {
		t.Errorf("agent last_change, last_update, start_time = %d, %d, %d, want 106, 106, 100",
			a.GetLastChange(), a.GetLastUpdate(), a.GetStartTime())
	}
}

func TestMixingPushAndPullIsRejected(t *testing.T) {
	ok := func(context.Context) (statuscheck.PluginState, error) { return statuscheck.StateOK, nil }
	tests := []struct {
		name string
		run  func(p *statuscheck.Plugin) error
		want error
	}{
		{"push registered twice is fine", func(p *statuscheck.Plugin) error {
			_ = p.Register("a", nil)
			return p.Register("a", nil)
		}, nil},
		{"pull after push", func(p *statuscheck.Plugin) error {
			_ = p.Register("a", nil)
			return p.Register("a", ok)
		}, statuscheck.ErrMixedModes},
		{"pull after a report", func(p *statuscheck.Plugin) error {
			_ = p.ReportStateChange("a", statuscheck.StateOK, nil)
			return p.Register("a", ok)
		}, statuscheck.ErrMixedModes},
		{"push after pull", func(p *statuscheck.Plugin) error {
			_ = p.Register("a", ok)
			return p.Register("a", nil)
		}, statuscheck.ErrMixedModes},
		{"report for a pulled plugin", func(p *statuscheck.Plugin) error {
			_ = p.Register("a", ok)
			return p.ReportStateChange("a", statuscheck.StateError, nil)
		}, statuscheck.ErrMixedModes},
		{"two probes", func(p *statuscheck.Plugin) error {
			_ = p.Register("a", ok)
			return p.Register("a", ok)
		}, statuscheck.ErrAlreadyRegistered},
		{"invalid state", func(p *statuscheck.Plugin) error {
			return p.ReportStateChange("a", 7, nil)
		}, statuscheck.ErrInvalidState},
		{"empty name", func(p *statuscheck.Plugin) error { return p.Register("", nil) }, statuscheck.ErrInvalidName},
		{"name with a slash", func(p *statuscheck.Plugin) error {
			return p.ReportStateChange("a/b", statuscheck.StateOK, nil)
		}, statuscheck.ErrInvalidName},
		{"name with a space", func(p *statuscheck.Plugin) error { return p.Register("a b", nil) }, statuscheck.ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run(statuscheck.NewPlugin())
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMixedModesErrorNamesThePlugin(t *testing.T) {
	p := statuscheck.NewPlugin()
	_ = p.Register("kafka", func(context.Context) (statuscheck.PluginState, error) { return statuscheck.StateOK, nil })
	err := p.ReportStateChange("kafka", statuscheck.StateOK, nil)
	want := `statuscheck: report "kafka": push and pull mixed for one plugin: report with ReportStateChange or register a probe, not both`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestPullProbesAreCalledAndRecorded(t *testing.T) {
	p := started(t)
	var mu sync.Mutex
	state, perr := statuscheck.StateOK, error(nil)
	if err := p.Register("vpp", func(context.Context) (statuscheck.PluginState, error) {
		mu.Lock()
		defer mu.Unlock()
		return state, perr
	}); err != nil {
		t.Fatal(err)
	}
	if got := p.Snapshot().Plugin("vpp").GetState(); got != model.OperationalState_INIT {
		t.Errorf("before the first round: state = %v, want INIT", got)
	}
	p.ProbeRound()
	if got := p.Snapshot().Plugin("vpp").GetState(); got != model.OperationalState_OK {
		t.Errorf("after a round: state = %v, want OK", got)
	}
	mu.Lock()
	state, perr = statuscheck.StateError, errors.New("VPP disconnected")
	mu.Unlock()
	p.ProbeRound()
	got := p.Snapshot().Plugin("vpp")
	if got.GetState() != model.OperationalState_ERROR || got.GetError() != "VPP disconnected" {
		t.Errorf("after a failing round: %v, want ERROR VPP disconnected", got)
	}
	if a := p.Snapshot().Agent.GetState(); a != model.OperationalState_ERROR {
		t.Errorf("agent state = %v, want ERROR", a)
	}
}

func TestPullProbesRunAtStartAndOnTheInterval(t *testing.T) {
	p := statuscheck.NewPlugin(statuscheck.UseConf(statuscheck.Config{ProbeInterval: 10 * time.Millisecond}))
	calls := make(chan struct{}, 100)
	_ = p.Register("x", func(context.Context) (statuscheck.PluginState, error) {
		select {
		case calls <- struct{}{}:
		default:
		}
		return statuscheck.StateOK, nil
	})
	if err := p.Init(); err != nil {
		t.Fatal(err)
	}
	if err := p.AfterInit(); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for range 3 {
		select {
		case <-calls:
		case <-time.After(10 * time.Second):
			t.Fatal("the probe was not called")
		}
	}
}

func TestHungProbeTimesOutWithoutBlockingOthers(t *testing.T) {
	p := started(t) // probe timeout 100ms
	release := make(chan struct{})
	defer close(release)
	var calls atomic.Int32
	_ = p.Register("hung", func(ctx context.Context) (statuscheck.PluginState, error) {
		calls.Add(1)
		<-release // ignores ctx on purpose
		return statuscheck.StateOK, nil
	})
	_ = p.Register("fast", func(context.Context) (statuscheck.PluginState, error) { return statuscheck.StateOK, nil })

	start := time.Now()
	p.ProbeRound()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a round with a hung probe took %v", d)
	}
	hung, fast := p.Snapshot().Plugin("hung"), p.Snapshot().Plugin("fast")
	if hung.GetState() != model.OperationalState_ERROR || hung.GetError() != "probe timed out" {
		t.Errorf("hung = %v, want ERROR probe timed out", hung)
	}
	if fast.GetState() != model.OperationalState_OK {
		t.Errorf("fast = %v, want OK", fast)
	}
	// The hung call still runs: the next round must not call it again.
	p.ProbeRound()
	if calls.Load() != 1 {
		t.Errorf("hung probe called %d times while in flight, want 1", calls.Load())
	}
}

func TestProbeThatHonoursItsContextReturnsOnTimeout(t *testing.T) {
	p := started(t)
	_ = p.Register("slow", func(ctx context.Context) (statuscheck.PluginState, error) {
		<-ctx.Done()
		return statuscheck.StateOK, ctx.Err()
	})
	p.ProbeRound()
	if got := p.Snapshot().Plugin("slow").GetError(); got != "probe timed out" {
		t.Errorf("error = %q, want probe timed out", got)
	}
}

func TestPanickingProbeReportsError(t *testing.T) {
	p := started(t)
	_ = p.Register("bad", func(context.Context) (statuscheck.PluginState, error) { panic("boom") })
	_ = p.Register("odd", func(context.Context) (statuscheck.PluginState, error) { return 9, nil })
	p.ProbeRound()
	if got := p.Snapshot().Plugin("bad").GetError(); got != "probe panicked: boom" {
		t.Errorf("bad: error = %q", got)
	}
	if got := p.Snapshot().Plugin("odd").GetError(); got != "probe returned invalid state 9" {
		t.Errorf("odd: error = %q", got)
	}
}

func TestProbesRunConcurrently(t *testing.T) {
	p := statuscheck.NewPlugin(statuscheck.UseConf(statuscheck.Config{ProbeInterval: time.Hour, ProbeTimeout: 10 * time.Second}))
	const n = 20
	var arrived sync.WaitGroup
	arrived.Add(n)
	for i := range n {
		_ = p.Register(fmt.Sprintf("p%02d", i), func(ctx context.Context) (statuscheck.PluginState, error) {
			// Every probe waits for all the others: they all return OK
			// before the timeout only if they run at once.
			arrived.Done()
			arrived.Wait()
			return statuscheck.StateOK, nil
		})
	}
	if err := p.Init(); err != nil {
		t.Fatal(err)
	}
	if err := p.AfterInit(); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.WaitFirstRound()
	if got := p.Snapshot().Agent.GetState(); got != model.OperationalState_OK {
		t.Errorf("agent state = %v, want OK", got)
	}
}

func TestConcurrentReportsAndReads(t *testing.T) {
	p := started(t)
	changed, cancel := p.Subscribe()
	defer cancel()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 500 {
				st := statuscheck.PluginState(i % 3)
				_ = p.ReportStateChange(fmt.Sprintf("w%d", w), st, nil)
			}
			_ = p.ReportStateChange(fmt.Sprintf("w%d", w), statuscheck.StateOK, nil)
		}()
		go func() {
			defer wg.Done()
			for range 500 {
				s := p.Snapshot()
				_ = s.Agent.AppendJSON(nil)
				_ = p.GetAllPluginStatus()
			}
		}()
	}
	wg.Wait()
	if got := p.Snapshot().Agent.GetState(); got != model.OperationalState_OK {
		t.Errorf("agent state = %v, want OK", got)
	}
	select {
	case <-changed:
	default:
		t.Error("no change signalled")
	}
}

func TestSubscribeCoalescesAndClosesOnCancel(t *testing.T) {
	p := started(t)
	changed, cancel := p.Subscribe()
	seq := p.Snapshot().Seq
	for i := range 10 {
		_ = p.ReportStateChange("a", statuscheck.PluginState(i%2+1), nil)
	}
	<-changed
	select {
	case <-changed:
		t.Error("ten changes gave two signals; want them coalesced into one")
	default:
	}
	if got := p.Snapshot().Seq; got != seq+10 {
		t.Errorf("Seq = %d, want %d", got, seq+10)
	}
	cancel()
	cancel() // idempotent
	if _, ok := <-changed; ok {
		t.Error("channel open after cancel")
	}
}

func TestCloseClosesSubscriptions(t *testing.T) {
	p := statuscheck.NewPlugin()
	changed, cancel := p.Subscribe()
	defer cancel()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-changed; ok {
		t.Error("channel open after Close")
	}
	late, _ := p.Subscribe()
	if _, ok := <-late; ok {
		t.Error("subscription after Close is open")
	}
}

func TestReadersReturnCopies(t *testing.T) {
	p := started(t)
	_ = p.ReportStateChange("a", statuscheck.StateOK, nil)
	p.GetAgentStatus().Plugins[0].State = model.OperationalState_ERROR
	p.GetAllPluginStatus()["a"].State = model.OperationalState_ERROR
	if got := p.Snapshot().Plugin("a").GetState(); got != model.OperationalState_OK {
		t.Errorf("state = %v after modifying copies, want OK", got)
	}
}

func TestInvalidConfigFailsInit(t *testing.T) {
	p := statuscheck.NewPlugin(statuscheck.UseConf(statuscheck.Config{ProbeTimeout: -time.Second}))
	err := p.Init()
	if err == nil || err.Error() != "statuscheck: the config set in code (UseConf): probe-timeout must not be negative, got -1s" {
		t.Errorf("Init = %v", err)
	}
}

func TestPluginStateString(t *testing.T) {
	for s, want := range map[statuscheck.PluginState]string{
		statuscheck.StateInit: "INIT", statuscheck.StateOK: "OK", statuscheck.StateError: "ERROR", 5: "State(5)",
	} {
		if got := s.String(); got != want {
			t.Errorf("PluginState(%d).String() = %q, want %q", int32(s), got, want)
		}
	}
}

// The states are defined in the leaf package infra/status, which cannot
// import the model; their numbers and names must stay those of the model,
// which the status JSON and agentctl read.
func TestStatesAreTheModelStates(t *testing.T) {
	if len(model.OperationalState_name) != 3 {
		t.Fatalf("the model has %d states, the status contract 3", len(model.OperationalState_name))
	}
	for n, name := range model.OperationalState_name {
		if got := statuscheck.PluginState(n).String(); got != name {
			t.Errorf("PluginState(%d).String() = %q, want the model's %q", n, got, name)
		}
	}
	for _, tc := range []struct {
		s    statuscheck.PluginState
		want model.OperationalState
	}{
		{status.StateInit, model.OperationalState_INIT},
		{status.StateOK, model.OperationalState_OK},
		{status.StateError, model.OperationalState_ERROR},
	} {
		if int32(tc.s) != int32(tc.want) {
			t.Errorf("%v = %d, want %d", tc.s, int32(tc.s), int32(tc.want))
		}
	}
}

func TestPluginIsAStatusReader(t *testing.T) {
	var r status.Reader = started(t)
	changed, cancel := r.Subscribe()
	defer cancel()
	if got := r.AgentState(); got != status.StateOK {
		t.Errorf("AgentState() = %v, want OK (started, no plugin)", got)
	}
	if st, text, ok := r.PluginState("db"); ok {
		t.Errorf("PluginState(db) = %v, %q, true before any report, want ok false", st, text)
	}
	w := r.(status.Writer)
	if err := w.ReportStateChange("db", status.StateError, errors.New("unreachable")); err != nil {
		t.Fatal(err)
	}
	<-changed
	if st, text, ok := r.PluginState("db"); st != status.StateError || text != "unreachable" || !ok {
		t.Errorf("PluginState(db) = %v, %q, %v, want ERROR, \"unreachable\", true", st, text, ok)
	}
	if got := r.AgentState(); got != status.StateError {
		t.Errorf("AgentState() = %v, want ERROR", got)
	}
}

func TestRegisterDependencyMarksThePluginInTheSnapshot(t *testing.T) {
	p := started(t)
	if err := p.Register("own", nil); err != nil {
		t.Fatal(err)
	}
	if err := p.RegisterDependency("db", nil); err != nil {
		t.Fatal(err)
	}
	before := p.Snapshot()
	// A plugin registered first and marked later is a dependency too.
	if err := p.RegisterDependency("own", nil); err != nil {
		t.Fatal(err)
	}
	snap := p.Snapshot()
	for name, want := range map[string]bool{"own": true, "db": true, "other": false} {
		if got := snap.Dependency(name); got != want {
			t.Errorf("Snapshot().Dependency(%q) = %v, want %v", name, got, want)
		}
	}
	if before.Dependency("own") {
		t.Error("an earlier snapshot changed: snapshots must be immutable")
	}
	if err := p.RegisterDependency("bad/name", nil); !errors.Is(err, statuscheck.ErrInvalidName) {
		t.Errorf("RegisterDependency(bad/name) = %v, want ErrInvalidName", err)
	}
}
