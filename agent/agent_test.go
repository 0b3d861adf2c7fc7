package agent_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/logging"
)

func TestMain(m *testing.M) {
	if helperMain() {
		return
	}
	goleak.VerifyTestMain(m)
}

// recorder collects lifecycle calls in the order they happen.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.calls = append(r.calls, s)
	r.mu.Unlock()
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// plug is a configurable plugin; Deps are followed by the agent.
type plug struct {
	infra.PluginName
	Deps []infra.Plugin

	rec      *recorder
	initErr  error
	afterErr error
	closeErr error
	initFn   func() error
	closeFn  func()
}

func newPlug(name string, rec *recorder, deps ...infra.Plugin) *plug {
	return &plug{PluginName: infra.PluginName(name), rec: rec, Deps: deps}
}

func (p *plug) Init() error {
	p.rec.add(p.String() + ".Init")
	if p.initFn != nil {
		return p.initFn()
	}
	return p.initErr
}

func (p *plug) AfterInit() error {
	p.rec.add(p.String() + ".AfterInit")
	return p.afterErr
}

func (p *plug) Close() error {
	p.rec.add(p.String() + ".Close")
	if p.closeFn != nil {
		p.closeFn()
	}
	return p.closeErr
}

func quiet() agent.Option { return agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))) }

func newAgent(t *testing.T, opts ...agent.Option) *agent.Agent {
	t.Helper()
	a, err := agent.New(append([]agent.Option{agent.Args(), quiet()}, opts...)...)
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	return a
}

func TestStartOrderPutsDependenciesFirst(t *testing.T) {
	tests := []struct {
		name  string
		roots func(rec *recorder) []infra.Plugin
		want  []string
	}{
		{
			name: "diamond",
			roots: func(rec *recorder) []infra.Plugin {
				d := newPlug("d", rec)
				b := newPlug("b", rec, d)
				c := newPlug("c", rec, d)
				return []infra.Plugin{newPlug("a", rec, b, c)}
			},
			want: []string{"d", "b", "c", "a"},
		},
		{
			name: "deep chain",
			roots: func(rec *recorder) []infra.Plugin {
				var p infra.Plugin = newPlug("p0", rec)
				for i := 1; i < 50; i++ {
					p = newPlug(fmt.Sprintf("p%d", i), rec, p)
				}
				return []infra.Plugin{p}
			},
			want: func() []string {
				var s []string
				for i := range 50 {
					s = append(s, fmt.Sprintf("p%d", i))
				}
				return s
			}(),
		},
		{
			name: "roots keep their order and shared deps start once",
			roots: func(rec *recorder) []infra.Plugin {
				shared := newPlug("shared", rec)
				return []infra.Plugin{newPlug("x", rec), newPlug("y", rec, shared), newPlug("z", rec, shared)}
			},
			want: []string{"x", "shared", "y", "z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			a := newAgent(t, agent.AllPlugins(tt.roots(rec)...))
			if got := a.Order(); !slices.Equal(got, tt.want) {
				t.Fatalf("Order() = %v, want %v", got, tt.want)
			}
			if err := a.Start(); err != nil {
				t.Fatal(err)
			}
			if err := a.Stop(); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, n := range tt.want {
				want = append(want, n+".Init")
			}
			for _, n := range tt.want {
				want = append(want, n+".AfterInit")
			}
			for _, n := range slices.Backward(tt.want) {
				want = append(want, n+".Close")
			}
			if got := rec.get(); !slices.Equal(got, want) {
				t.Errorf("calls = %v\nwant %v", got, want)
			}
		})
	}
}

// Types for injection tests.

type Greeter interface{ Greet() string }

type greeter struct{ infra.PluginDeps }

func (g *greeter) Init() error     { return nil }
func (g *greeter) Greet() string   { return "hello from " + g.String() }
func newGreeter(n string) *greeter { g := &greeter{}; g.SetName(n); return g }

type store struct{ infra.PluginDeps }

func (s *store) Init() error { return nil }

type vstore struct{ infra.PluginDeps }

func (s *vstore) Init() error { return nil }

type consumer struct {
	Deps
	infra.PluginDeps
}

type Deps struct {
	Greeter Greeter
	Store   *store `plinth:"optional"`
	Logs    *logging.Registry
	Info    *infra.AgentInfo
	Skip    Greeter `plinth:"-"`
	Any     any
	Value   vstore // a plugin held by value
}

func (c *consumer) Init() error { return nil }

func TestInjectionFillsNilFields(t *testing.T) {
	c := &consumer{}
	c.SetName("consumer")
	c.Value.SetName("valuestore")
	g := newGreeter("greeter")
	a := newAgent(t, agent.AllPlugins(c, g))
	if c.Greeter != g {
		t.Errorf("Greeter = %v, want the greeter plugin", c.Greeter)
	}
	if c.Store != nil {
		t.Errorf("optional Store = %v, want nil", c.Store)
	}
	if c.Logs != a.Logs() {
		t.Errorf("Logs = %p, want the agent registry %p", c.Logs, a.Logs())
	}
	if c.Info != a.Info() || c.Info.Plugins[2] != "consumer" {
		t.Errorf("Info = %+v, want the agent's", c.Info)
	}
	if c.Skip != nil || c.Any != nil {
		t.Errorf("Skip = %v, Any = %v; want both nil", c.Skip, c.Any)
	}
	if c.Log == nil || c.Log.Name() != "consumer" || c.Cfg == nil {
		t.Errorf("PluginDeps not set up: Log=%v Cfg=%v", c.Log, c.Cfg)
	}
	// The greeter and the value-held store start before the consumer.
	if got, want := a.Order(), []string{"valuestore", "greeter", "consumer"}; !slices.Equal(got, want) {
		t.Errorf("Order() = %v, want %v", got, want)
	}
	if !strings.Contains(a.Graph(), "-> greeter (consumer.Deps.Greeter)") {
		t.Errorf("Graph() lacks the injected edge:\n%s", a.Graph())
	}
	if !strings.Contains(a.DOT(), `"consumer" -> "greeter";`) {
		t.Errorf("DOT() lacks the edge:\n%s", a.DOT())
	}
}

// lowerConsumer embeds its dependencies in an unexported struct, whose
// exported fields are the plugin's own as much as those of an exported one.
type lowerConsumer struct {
	lowerDeps
	infra.PluginDeps
}

type lowerDeps struct {
	Greeter Greeter
	Value   vstore
}

func (c *lowerConsumer) Init() error { return nil }

func TestInjectionReachesUnexportedEmbeddedStructs(t *testing.T) {
	c := &lowerConsumer{}
	c.SetName("lower")
	c.Value.SetName("valuestore")
	g := newGreeter("greeter")
	a := newAgent(t, agent.AllPlugins(c, g))
	if c.Greeter != g {
		t.Errorf("Greeter = %v, want the greeter plugin", c.Greeter)
	}
	if got, want := a.Order(), []string{"valuestore", "greeter", "lower"}; !slices.Equal(got, want) {
		t.Errorf("Order() = %v, want %v", got, want)
	}

	// Without a provider, the field is reported, not left nil.
	c = &lowerConsumer{}
	c.SetName("lower")
	c.Value.SetName("valuestore")
	_, err := agent.New(agent.Args(), quiet(), agent.AllPlugins(c))
	var ie *agent.InjectionError
	if !errors.As(err, &ie) || ie.Field != "lower.lowerDeps.Greeter" {
		t.Errorf("agent.New without a Greeter: %v, want an InjectionError for lower.lowerDeps.Greeter", err)
	}
}

func TestInjectionFillsPluginPointers(t *testing.T) {
	type holder struct {
		infra.PluginDeps
		Store *store
	}
	s := &store{}
	s.SetName("store")
	h := &struct {
		holder
	}{}
	h.SetName("holder")
	_ = h
	c := &consumer{}
	c.SetName("c")
	c.Value.SetName("v")
	c.Greeter = newGreeter("g")
	newAgent(t, agent.AllPlugins(c, s))
	if c.Store != s {
		t.Errorf("Store = %v, want the store plugin (optional fields are filled when a provider exists)", c.Store)
	}
}

func TestWiringErrors(t *testing.T) {
	tests := []struct {
		name  string
		roots func() []infra.Plugin
		want  string
		check func(t *testing.T, err error)
	}{
		{
			name: "missing provider",
			roots: func() []infra.Plugin {
				c := &consumer{}
				c.SetName("myplugin")
				c.Value.SetName("v")
				return []infra.Plugin{c}
			},
			want: "agent: myplugin.Deps.Greeter: no plugin provides agent_test.Greeter",
			check: func(t *testing.T, err error) {
				var ie *agent.InjectionError
				if !errors.As(err, &ie) || ie.Field != "myplugin.Deps.Greeter" || ie.Type != reflect.TypeFor[Greeter]() {
					t.Errorf("errors.As(InjectionError) = %+v", ie)
				}
			},
		},
		{
			name: "ambiguous provider",
			roots: func() []infra.Plugin {
				c := &consumer{}
				c.SetName("myplugin")
				c.Value.SetName("v")
				return []infra.Plugin{c, newGreeter("g1"), newGreeter("g2")}
			},
			want: "agent: myplugin.Deps.Greeter: 2 plugins provide agent_test.Greeter: g1 (*agent_test.greeter), g2 (*agent_test.greeter)",
		},
		{
			name: "cycle",
			roots: func() []infra.Plugin {
				rec := &recorder{}
				a := newPlug("a", rec)
				b := newPlug("b", rec, a)
				a.Deps = []infra.Plugin{b}
				return []infra.Plugin{a}
			},
			want: "agent: dependency cycle: a -> b -> a (via a.Deps[0], b.Deps[0])",
			check: func(t *testing.T, err error) {
				var ce *agent.CycleError
				if !errors.As(err, &ce) || !slices.Equal(ce.Plugins, []string{"a", "b", "a"}) {
					t.Errorf("errors.As(CycleError) = %+v", ce)
				}
			},
		},
		{
			name: "duplicate names",
			roots: func() []infra.Plugin {
				rec := &recorder{}
				return []infra.Plugin{newPlug("x", rec), newPlug("x", rec)}
			},
			want: `agent: duplicate plugin name "x": *agent_test.plug at AllPlugins[0] and *agent_test.plug at AllPlugins[1]`,
		},
		{
			name:  "empty name",
			roots: func() []infra.Plugin { return []infra.Plugin{newPlug("", &recorder{})} },
			want:  "agent: AllPlugins[0]: plugin *agent_test.plug has an empty name",
		},
		{
			name:  "nil plugin",
			roots: func() []infra.Plugin { return []infra.Plugin{(*plug)(nil)} },
			want:  "agent: AllPlugins[0]: plugin is a nil *agent_test.plug",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := agent.New(agent.Args(), quiet(), agent.AllPlugins(tt.roots()...))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New() error = %v\nwant it to contain %q", err, tt.want)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func TestInvalidOptionsAreErrors(t *testing.T) {
	//lint:ignore SA1012 the test checks that a nil Context is refused
	_, err := agent.New(agent.StartTimeout(-1), agent.Context(nil), agent.Logs(nil))
	for _, want := range []string{"StartTimeout(-1ns): must not be negative", "Context(nil)", "Logs(nil)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New() error = %v, want it to contain %q", err, want)
		}
	}
	if s := agent.StartTimeout(time.Second).String(); s != "agent.StartTimeout(1s)" {
		t.Errorf("String() = %q", s)
	}
}

func TestFailedStartRollsBackInReverse(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name  string
		setup func(a, b, c *plug)
		want  []string
		err   string
	}{
		{
			name:  "Init fails",
			setup: func(a, b, c *plug) { c.initErr = boom },
			want:  []string{"a.Init", "b.Init", "c.Init", "b.Close", "a.Close"},
			err:   `agent: plugin "c" Init: boom`,
		},
		{
			name:  "AfterInit fails",
			setup: func(a, b, c *plug) { b.afterErr = boom },
			want:  []string{"a.Init", "b.Init", "c.Init", "a.AfterInit", "b.AfterInit", "c.Close", "b.Close", "a.Close"},
			err:   `agent: plugin "b" AfterInit: boom`,
		},
		{
			name:  "Init panics",
			setup: func(a, b, c *plug) { b.initFn = func() error { panic("kaput") } },
			want:  []string{"a.Init", "b.Init", "a.Close"},
			err:   `agent: plugin "b" Init: panic: kaput`,
		},
		{
			name: "rollback continues past a failing Close",
			setup: func(a, b, c *plug) {
				c.initErr = boom
				b.closeErr = errors.New("close b")
			},
			want: []string{"a.Init", "b.Init", "c.Init", "b.Close", "a.Close"},
			err:  `agent: plugin "b" Close: close b`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			a := newPlug("a", rec)
			b := newPlug("b", rec, a)
			c := newPlug("c", rec, b)
			tt.setup(a, b, c)
			ag := newAgent(t, agent.AllPlugins(c))
			err := ag.Start()
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Start() = %v, want it to contain %q", err, tt.err)
			}
			var pe *agent.PluginError
			if !errors.As(err, &pe) {
				t.Errorf("Start() error is not a *PluginError: %v", err)
			}
			if got := rec.get(); !slices.Equal(got, tt.want) {
				t.Errorf("calls = %v\nwant %v", got, tt.want)
			}
			select {
			case <-ag.Done():
			default:
				t.Error("Done() not closed after a failed start")
			}
			if err := ag.Start(); !errors.Is(err, agent.ErrAlreadyStarted) {
				t.Errorf("second Start() = %v, want ErrAlreadyStarted", err)
			}
		})
	}
}

func TestStartTimeoutAbandonsHungInitAndClosesItLater(t *testing.T) {
	rec := &recorder{}
	release := make(chan struct{})
	closed := make(chan struct{})
	a := newPlug("a", rec)
	b := newPlug("b", rec, a)
	b.initFn = func() error { <-release; return nil }
	b.closeFn = func() { close(closed) }
	ag := newAgent(t, agent.AllPlugins(b), agent.StartTimeout(50*time.Millisecond))
	err := ag.Start()
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `plugin "b" Init: abandoned after`) {
		t.Fatalf("Start() = %v, want a timeout naming b", err)
	}
	if got, want := rec.get(), []string{"a.Init", "b.Init", "a.Close"}; !slices.Equal(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
	close(release) // b's Init returns now: the agent closes it
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the abandoned plugin was not closed after its Init returned")
	}
}

func TestStopClosesEveryPluginAndJoinsErrors(t *testing.T) {
	rec := &recorder{}
	a := newPlug("a", rec)
	b := newPlug("b", rec, a)
	c := newPlug("c", rec, b)
	a.closeErr = errors.New("a failed")
	c.closeErr = errors.New("c failed")
	ag := newAgent(t, agent.AllPlugins(c))
	if err := ag.Start(); err != nil {
		t.Fatal(err)
	}
	err := ag.Stop()
	if err == nil || !strings.Contains(err.Error(), `plugin "a" Close: a failed`) || !strings.Contains(err.Error(), `plugin "c" Close: c failed`) {
		t.Fatalf("Stop() = %v, want both errors", err)
	}
	if got, want := rec.get()[6:], []string{"c.Close", "b.Close", "a.Close"}; !slices.Equal(got, want) {
		t.Errorf("close calls = %v, want %v", got, want)
	}
	if err2 := ag.Stop(); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("second Stop() = %v, want the same result", err2)
	}
	if err2 := ag.Wait(); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("Wait() = %v, want the stop result", err2)
	}
}

func TestStopTimeoutNamesHungPluginAndClosesTheRest(t *testing.T) {
	rec := &recorder{}
	release := make(chan struct{})
	a := newPlug("a", rec)
	b := newPlug("b", rec, a)
	b.closeFn = func() { <-release }
	ag := newAgent(t, agent.AllPlugins(b), agent.StopTimeout(50*time.Millisecond))
	if err := ag.Start(); err != nil {
		t.Fatal(err)
	}
	err := ag.Stop()
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `plugin "b" Close: still running after`) {
		t.Fatalf("Stop() = %v, want a timeout naming b", err)
	}
	if got := rec.get(); got[len(got)-1] != "a.Close" {
		t.Errorf("a was not closed after b hung: %v", got)
	}
}

func TestStopBeforeStart(t *testing.T) {
	ag := newAgent(t, agent.AllPlugins(newPlug("a", &recorder{})))
	if err := ag.Stop(); !errors.Is(err, agent.ErrNotStarted) {
		t.Errorf("Stop() = %v, want ErrNotStarted", err)
	}
	if err := ag.Wait(); !errors.Is(err, agent.ErrNotStarted) {
		t.Errorf("Wait() = %v, want ErrNotStarted", err)
	}
}

func TestStopDuringStartAbandonsTheStart(t *testing.T) {
	rec := &recorder{}
	entered := make(chan struct{})
	release := make(chan struct{})
	a := newPlug("a", rec)
	b := newPlug("b", rec, a)
	b.initFn = func() error { close(entered); <-release; return errors.New("late") }
	ag := newAgent(t, agent.AllPlugins(b), agent.StopTimeout(100*time.Millisecond))
	startErr := make(chan error, 1)
	go func() { startErr <- ag.Start() }()
	<-entered
	// b's Init still runs: Stop waits for it the stop timeout, then says so.
	if err := ag.Stop(); err == nil || !strings.Contains(err.Error(), `plugin "b"`) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop() = %v, want the stop timeout naming b", err)
	}
	err := <-startErr
	close(release)
	if err == nil || !strings.Contains(err.Error(), "stop requested") {
		t.Errorf("Start() = %v, want it abandoned by the stop", err)
	}
	if calls := rec.get(); !slices.Contains(calls, "a.Close") {
		t.Errorf("calls %v, want a closed", calls)
	}
}

func TestStopWaitsForAnAbandonedInitThatReturnsWithinTheStopTimeout(t *testing.T) {
	rec := &recorder{}
	entered := make(chan struct{})
	release := make(chan struct{})
	b := newPlug("b", rec)
	b.initFn = func() error { close(entered); <-release; return nil }
	ag := newAgent(t, agent.AllPlugins(b), agent.StopTimeout(time.Minute))
	go func() { _ = ag.Start() }()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- ag.Stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("Stop() = %v while b's Init still runs, want it to wait", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release) // b's Init returns: the agent closes b, then Stop returns
	if err := <-stopped; err != nil {
		t.Errorf("Stop() = %v", err)
	}
	if calls := rec.get(); !slices.Equal(calls, []string{"b.Init", "b.Close"}) {
		t.Errorf("calls %v, want b initialised and closed before Stop returned", calls)
	}
}

// TestStopAtAnyMomentOfStartClosesEveryStartedPlugin: a Stop that races
// with the end of Start (the last plugin's result against the stop request)
// must neither hang nor leave a started plugin open.
func TestStopAtAnyMomentOfStartClosesEveryStartedPlugin(t *testing.T) {
	for i := range 300 {
		rec := &recorder{}
		a := newPlug("a", rec)
		b := newPlug("b", rec, a)
		c := newPlug("c", rec, b)
		ag := newAgent(t, agent.AllPlugins(c))
		startErr := make(chan error, 1)
		go func() { startErr <- ag.Start() }()
		for range i % 50 { // stop at a different moment each time
			runtime.Gosched()
		}
		stopped := make(chan error, 1)
		go func() { stopped <- ag.Stop() }()
		var stopErr error
		select {
		case err := <-stopped:
			stopErr = err
			if errors.Is(err, agent.ErrNotStarted) {
				// Stop came before Start began: a plain stop afterwards.
				<-startErr
				startErr <- nil
				if err := ag.Stop(); err != nil {
					t.Fatalf("iteration %d: Stop after Start = %v", i, err)
				}
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("iteration %d: Stop still blocked after 20 s; calls %v", i, rec.get())
		}
		serr := <-startErr
		calls := rec.get()
		for _, name := range []string{"a", "b", "c"} {
			inits := slices.Index(calls, name+".Init") >= 0
			closes := 0
			for _, c := range calls {
				if c == name+".Close" {
					closes++
				}
			}
			if inits && closes != 1 {
				t.Fatalf("iteration %d: %s was initialised and closed %d times, want once; calls %v; Start: %v; Stop: %v", i, name, closes, calls, serr, stopErr)
			}
		}
	}
}

func TestRunStopsWhenContextIsDone(t *testing.T) {
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	ag := newAgent(t, agent.AllPlugins(newPlug("a", rec)), agent.Context(ctx), agent.QuitSignals())
	done := make(chan error, 1)
	go func() { done <- ag.Run() }()
	<-ag.Ready()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if got, want := rec.get(), []string{"a.Init", "a.AfterInit", "a.Close"}; !slices.Equal(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
}

func TestRunStopsOnStopFromAnotherGoroutine(t *testing.T) {
	rec := &recorder{}
	ag := newAgent(t, agent.AllPlugins(newPlug("a", rec)), agent.QuitSignals())
	done := make(chan error, 1)
	go func() { done <- ag.Run() }()
	<-ag.Ready()
	if err := ag.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if got, want := rec.get(), []string{"a.Init", "a.AfterInit", "a.Close"}; !slices.Equal(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
}

func TestTwoAgentsInOneProcess(t *testing.T) {
	var agents []*agent.Agent
	for i := range 2 {
		p := &store{}
		p.SetName("same-name")
		ag := newAgent(t, agent.AllPlugins(p), agent.Args(fmt.Sprintf("-same-name-config=%d.conf", i)))
		agents = append(agents, ag)
	}
	for _, ag := range agents {
		if err := ag.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, ag := range agents {
		if err := ag.Stop(); err != nil {
			t.Fatal(err)
		}
	}
}

type flagPlug struct {
	infra.PluginDeps
	port *int
	flag string
}

func (f *flagPlug) Init() error { return nil }
func (f *flagPlug) RegisterFlags(fs *flag.FlagSet) {
	f.port = fs.Int(f.flag, 1, "a port")
}

func TestFlags(t *testing.T) {
	f := &flagPlug{flag: "port"}
	f.SetName("fp")
	ag := newAgent(t, agent.AllPlugins(f), agent.Args("-port=7", "-fp-config=/x.conf", "-config-dir=/etc/x"))
	if *f.port != 7 {
		t.Errorf("port = %d, want 7", *f.port)
	}
	if got := f.Cfg.GetConfigName(); got != "/x.conf" {
		t.Errorf("GetConfigName() = %q, want /x.conf", got)
	}
	if ag.FlagSet().Lookup("config-dir") == nil {
		t.Error("no -config-dir flag")
	}

	g := &flagPlug{flag: "port"}
	g.SetName("other")
	_, err := agent.New(agent.Args(), quiet(), agent.AllPlugins(&flagPlug{flag: "port", PluginDeps: infra.PluginDeps{PluginName: "fp"}}, g))
	if want := `agent: flag -port defined by plugin "fp" and by plugin "other"`; err == nil || err.Error() != want {
		t.Errorf("New() = %v, want %q", err, want)
	}

	_, err = agent.New(agent.Args("-nope"), quiet())
	if err == nil || !strings.Contains(err.Error(), "flag provided but not defined: -nope") {
		t.Errorf("New(-nope) = %v", err)
	}
	_, err = agent.New(agent.Args("-h"), quiet(), agent.Name("x"))
	if !errors.Is(err, flag.ErrHelp) {
		t.Errorf("New(-h) = %v, want flag.ErrHelp", err)
	}
	_, err = agent.New(agent.Args("stray"), quiet())
	if err == nil || !strings.Contains(err.Error(), `unexpected argument "stray"`) {
		t.Errorf("New(stray) = %v", err)
	}
}

func TestInitialLogLevelFromEnv(t *testing.T) {
	reg := logging.NewRegistry(logging.WithOutput(io.Discard))
	reg.Preset("x", logging.ErrorLevel)
	env := map[string]string{"INITIAL_LOGLVL": "debug"}
	p := &store{}
	p.SetName("x")
	_, err := agent.New(agent.Args(), agent.Logs(reg), agent.Getenv(func(k string) string { return env[k] }), agent.AllPlugins(p))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Log.Level(); got != logging.DebugLevel {
		t.Errorf("level of x = %v, want debug", got)
	}
	env["INITIAL_LOGLVL"] = "loud"
	_, err = agent.New(agent.Args(), quiet(), agent.Getenv(func(k string) string { return env[k] }))
	if err == nil || !strings.Contains(err.Error(), `env INITIAL_LOGLVL="loud"`) {
		t.Errorf("New() = %v, want an error naming INITIAL_LOGLVL", err)
	}
}

func TestParallelInitRunsIndependentPluginsConcurrently(t *testing.T) {
	rec := &recorder{}
	aStarted := make(chan struct{})
	a := newPlug("a", rec)
	b := newPlug("b", rec)
	c := newPlug("c", rec, a, b)
	// b can only finish while a is running: sequential start would time out.
	a.initFn = func() error { close(aStarted); time.Sleep(10 * time.Millisecond); return nil }
	b.initFn = func() error {
		select {
		case <-aStarted:
			return nil
		case <-time.After(5 * time.Second):
			return errors.New("a did not start concurrently")
		}
	}
	ag := newAgent(t, agent.AllPlugins(c), agent.ParallelInit())
	if err := ag.Start(); err != nil {
		t.Fatal(err)
	}
	defer ag.Stop()
	calls := rec.get()
	if i, j := slices.Index(calls, "c.Init"), slices.Index(calls, "a.Init"); i < j {
		t.Errorf("c initialised before its dependency a: %v", calls)
	}
	if tr := ag.Trace(); len(tr.Stats) != 6 {
		t.Errorf("Trace() has %d entities, want 6 (3 plugins x 2 phases)", len(tr.Stats))
	}
}

// Reporter and Sink model a plugin that reports to another one which, in
// turn, depends on it: the "unordered" tag breaks the cycle.
type Reporter interface{ Report(string) }

type sink struct {
	infra.PluginDeps
	Store Greeter // strong: the greeter starts first
	got   []string
}

func (s *sink) Init() error       { return nil }
func (s *sink) Report(msg string) { s.got = append(s.got, msg) }

type source struct {
	infra.PluginDeps
	Sink Reporter `plinth:"optional,unordered"`
}

func (s *source) Init() error   { s.Sink.Report("hello"); return nil }
func (s *source) Greet() string { return "" }

func TestUnorderedFieldIsInjectedWithoutOrderingEdge(t *testing.T) {
	src := &source{}
	src.SetName("source")
	snk := &sink{}
	snk.SetName("sink")
	a := newAgent(t, agent.AllPlugins(snk, src))
	if src.Sink != snk || snk.Store != src {
		t.Fatalf("fields not filled: Sink=%v Store=%v", src.Sink, snk.Store)
	}
	if got, want := a.Order(), []string{"source", "sink"}; !slices.Equal(got, want) {
		t.Errorf("Order() = %v, want %v", got, want)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	if !slices.Equal(snk.got, []string{"hello"}) {
		t.Errorf("sink got %v", snk.got)
	}
}

func TestUnknownTagOptionIsAnError(t *testing.T) {
	p := &badTag{}
	p.SetName("bad")
	_, err := agent.New(agent.Args(), quiet(), agent.AllPlugins(p, newGreeter("g")))
	want := "agent: bad.G: unknown option \"optinal\" in tag `plinth:\"optinal\"` (want optional, unordered, ordered or -)"
	if err == nil || err.Error() != want {
		t.Errorf("New() = %v\nwant %s", err, want)
	}
}

type badTag struct {
	infra.PluginDeps
	G Greeter `plinth:"optinal"`
}

func (b *badTag) Init() error { return nil }
