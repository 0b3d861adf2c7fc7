package agent_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra"
)

// StatusWriter is what a status check offers its reporters; statusSink
// declares it an unordered type: it accepts reports from its construction on.
type StatusWriter interface {
	Report(plugin, state string)
	Register(plugin string)
}

// StateReporter is a smaller interface a consumer may define with some of
// the methods of StatusWriter.
type StateReporter interface{ Report(plugin, state string) }

// StatusCounter has a method StatusWriter lacks: a field of this type keeps
// the sink first.
type StatusCounter interface {
	Report(plugin, state string)
	Count() int
}

// statusSink models a status check: it publishes through a store (Store, an
// ordinary dependency) that itself reports to it.
type statusSink struct {
	infra.PluginDeps
	Store Greeter
	rec   *recorder
}

var _ agent.UnorderedProvider = (*statusSink)(nil)

func newStatusSink(rec *recorder) *statusSink {
	s := &statusSink{rec: rec}
	s.SetName("status")
	return s
}

func (s *statusSink) UnorderedTypes() []reflect.Type {
	return []reflect.Type{reflect.TypeFor[StatusWriter]()}
}

func (s *statusSink) Init() error                 { s.rec.add("status.Init"); return nil }
func (s *statusSink) Close() error                { s.rec.add("status.Close"); return nil }
func (s *statusSink) Report(plugin, state string) { s.rec.add("status<-" + plugin + ":" + state) }
func (s *statusSink) Register(plugin string)      { s.rec.add("status<-" + plugin + ":registered") }
func (s *statusSink) Count() int                  { return 0 }

// kvStore models the store the sink publishes through: it reports to the
// sink from its own Init, through a field without any tag.
type kvStore struct {
	infra.PluginDeps
	Status StatusWriter
	rec    *recorder
}

func (k *kvStore) Init() error {
	k.rec.add("kv.Init")
	k.Status.Register(k.String())
	k.Status.Report(k.String(), "OK")
	return nil
}
func (k *kvStore) Close() error  { k.rec.add("kv.Close"); return nil }
func (k *kvStore) Greet() string { return "kv" }

// app reports through a consumer-defined interface, also untagged.
type app struct {
	infra.PluginDeps
	Status StateReporter
	rec    *recorder
}

func (a *app) Init() error  { a.rec.add("app.Init"); a.Status.Report(a.String(), "OK"); return nil }
func (a *app) Close() error { a.rec.add("app.Close"); return nil }

func TestReportSinkFieldsNeedNoTagAndFormNoCycle(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		name := "sequential"
		opts := []agent.Option{}
		if parallel {
			name = "parallel"
			opts = append(opts, agent.ParallelInit())
		}
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			sink := newStatusSink(rec)
			kv := &kvStore{rec: rec}
			kv.SetName("kv")
			ap := &app{rec: rec}
			ap.SetName("app")
			// The sink is the first root: without the rule the agent
			// would have to start it before kv, which it depends on.
			a := newAgent(t, append(opts, agent.AllPlugins(sink, kv, ap))...)

			if kv.Status != sink || ap.Status != sink || sink.Store != kv {
				t.Fatalf("fields not injected: kv.Status=%v app.Status=%v status.Store=%v", kv.Status, ap.Status, sink.Store)
			}
			order := a.Order()
			if i, j := slices.Index(order, "kv"), slices.Index(order, "status"); i < 0 || j < 0 || i > j {
				t.Errorf("Order() = %v, want kv before status (status depends on kv)", order)
			}
			if err := a.Start(); err != nil {
				t.Fatal(err)
			}
			if err := a.Stop(); err != nil {
				t.Fatal(err)
			}
			calls := rec.get()
			before := func(x, y string) {
				t.Helper()
				i, j := slices.Index(calls, x), slices.Index(calls, y)
				if i < 0 || j < 0 || i > j {
					t.Errorf("%s is not before %s in %v", x, y, calls)
				}
			}
			before("kv.Init", "status.Init")               // the sink's ordinary dependency starts first
			before("status<-kv:registered", "status.Init") // reports reach the sink before its Init
			before("status<-kv:OK", "status.Init")
			before("app.Init", "status<-app:OK")
			before("status.Close", "kv.Close") // and it closes before what it depends on

			g := a.Graph()
			for _, want := range []string{"-> kv (status.Store)", "~> status (kv.Status, unordered)", "~> status (app.Status, unordered)"} {
				if !strings.Contains(g, want) {
					t.Errorf("Graph() lacks %q:\n%s", want, g)
				}
			}
			if d := a.DOT(); !strings.Contains(d, `"kv" -> "status" [style=dashed];`) || !strings.Contains(d, `"status" -> "kv";`) {
				t.Errorf("DOT() lacks the dashed or the solid edge:\n%s", d)
			}
		})
	}
}

// ordinaryHolder holds the sink through types that are not declared
// unordered, or with the ordered tag: each of these fields orders the start.
type ordinaryHolder struct {
	infra.PluginDeps
	Counter StatusCounter
	Pointer *statusSink
	Tagged  StatusWriter `plinth:"ordered"`
}

func (h *ordinaryHolder) Init() error { return nil }

func TestFieldsOfOtherTypesStillOrderTheSink(t *testing.T) {
	rec := &recorder{}
	sink := newStatusSink(rec)
	sink.Store = newGreeter("store")
	h := &ordinaryHolder{}
	h.SetName("holder")
	a := newAgent(t, agent.AllPlugins(h, sink))
	if h.Counter != sink || h.Pointer != sink || h.Tagged != sink {
		t.Fatalf("fields not injected: %+v", h)
	}
	if got, want := a.Order(), []string{"store", "status", "holder"}; !slices.Equal(got, want) {
		t.Errorf("Order() = %v, want %v", got, want)
	}
	for _, want := range []string{"-> status (holder.Counter)"} {
		if g := a.Graph(); !strings.Contains(g, want) || strings.Contains(g, "~>") {
			t.Errorf("Graph() = \n%s\nwant %q and no unordered edge", g, want)
		}
	}
}

// presetHolder holds the sink in a field set in code, which the agent
// follows instead of filling: the same rule applies.
type presetHolder struct {
	infra.PluginDeps
	Status StatusWriter
}

func (h *presetHolder) Init() error { return nil }

func TestAFieldSetInCodeFollowsTheSameRule(t *testing.T) {
	rec := &recorder{}
	sink := newStatusSink(rec)
	h := &presetHolder{Status: sink}
	h.SetName("holder")
	sink.Store = h // the sink depends on the plugin that reports to it
	a := newAgent(t, agent.AllPlugins(h))
	if got, want := a.Order(), []string{"holder", "status"}; !slices.Equal(got, want) {
		t.Errorf("Order() = %v, want %v", got, want)
	}
}

func (h *presetHolder) Greet() string { return "" }

func TestReportSinkFieldIsRequiredUnlessOptional(t *testing.T) {
	kv := &kvStore{rec: &recorder{}}
	kv.SetName("kv")
	_, err := agent.New(agent.Args(), quiet(), agent.AllPlugins(kv))
	var ie *agent.InjectionError
	if !errors.As(err, &ie) || ie.Field != "kv.Status" {
		t.Errorf("New without a sink = %v, want an InjectionError for kv.Status", err)
	}

	op := &optionalHolder{}
	op.SetName("op")
	newAgent(t, agent.AllPlugins(op))
	if op.Status != nil {
		t.Errorf("optional Status = %v, want nil", op.Status)
	}
}

type optionalHolder struct {
	infra.PluginDeps
	Status StatusWriter `plinth:"optional"`
}

func (h *optionalHolder) Init() error { return nil }

// Ordinary plugins that need each other form a cycle, reported with its
// path, also when a sink is in the agent.
type (
	AlphaAPI interface{ Alpha() }
	BetaAPI  interface{ Beta() }
)

type alpha struct {
	infra.PluginDeps
	B BetaAPI
}

func (a *alpha) Init() error { return nil }
func (a *alpha) Alpha()      {}

type beta struct {
	infra.PluginDeps
	A AlphaAPI
}

func (b *beta) Init() error { return nil }
func (b *beta) Beta()       {}

func TestCycleBetweenOrdinaryPluginsIsStillReported(t *testing.T) {
	al := &alpha{}
	al.SetName("alpha")
	be := &beta{}
	be.SetName("beta")
	sink := newStatusSink(&recorder{})
	kv := &kvStore{rec: &recorder{}}
	kv.SetName("kv")
	_, err := agent.New(agent.Args(), quiet(), agent.AllPlugins(sink, kv, al, be))
	var ce *agent.CycleError
	if !errors.As(err, &ce) {
		t.Fatalf("New() = %v, want a CycleError", err)
	}
	if want := []string{"alpha", "beta", "alpha"}; !slices.Equal(ce.Plugins, want) {
		t.Errorf("CycleError.Plugins = %v, want %v", ce.Plugins, want)
	}
	if want := []string{"alpha.B", "beta.A"}; !slices.Equal(ce.Fields, want) {
		t.Errorf("CycleError.Fields = %v, want %v", ce.Fields, want)
	}
	if want := "agent: dependency cycle: alpha -> beta -> alpha (via alpha.B, beta.A)"; !strings.Contains(err.Error(), want) {
		t.Errorf("New() = %v, want it to contain %q", err, want)
	}
}

// counterStore reports to the sink through StatusCounter, which is not
// declared unordered: with the sink depending on it, that is a cycle.
type counterStore struct {
	infra.PluginDeps
	Status StatusCounter
}

func (c *counterStore) Init() error   { return nil }
func (c *counterStore) Greet() string { return "" }

func TestCycleThroughASinkByAnotherTypeIsReported(t *testing.T) {
	sink := newStatusSink(&recorder{})
	cs := &counterStore{}
	cs.SetName("store")
	_, err := agent.New(agent.Args(), quiet(), agent.AllPlugins(sink, cs))
	var ce *agent.CycleError
	if !errors.As(err, &ce) || !slices.Equal(ce.Fields, []string{"status.Store", "store.Status"}) {
		t.Errorf("New() = %v, want a cycle via status.Store, store.Status", err)
	}
}

// badSink lists types the agent refuses.
type badSink struct {
	infra.PluginDeps
	types []reflect.Type
}

func (b *badSink) Init() error                    { return nil }
func (b *badSink) Report(plugin, state string)    {}
func (b *badSink) UnorderedTypes() []reflect.Type { return b.types }

func TestInvalidUnorderedTypesAreWiringErrors(t *testing.T) {
	tests := []struct {
		name  string
		types []reflect.Type
		want  string
	}{
		{"nil", []reflect.Type{nil}, "agent: AllPlugins[0]: *agent_test.badSink.UnorderedTypes lists a nil type"},
		{"not an interface", []reflect.Type{reflect.TypeFor[*badSink]()}, "lists *agent_test.badSink, which is not an interface"},
		{"not implemented", []reflect.Type{reflect.TypeFor[StatusWriter]()}, "lists agent_test.StatusWriter, which *agent_test.badSink does not implement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &badSink{types: tt.types}
			b.SetName("bad")
			_, err := agent.New(agent.Args(), quiet(), agent.AllPlugins(b))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	// A valid list next to them is accepted.
	b := &badSink{types: []reflect.Type{reflect.TypeFor[StateReporter]()}}
	b.SetName("good")
	newAgent(t, agent.AllPlugins(b))
}

type contradictoryTag struct {
	infra.PluginDeps
	S StatusWriter `plinth:"ordered,unordered"`
}

func (c *contradictoryTag) Init() error { return nil }

func TestOrderedAndUnorderedTogetherIsAnError(t *testing.T) {
	c := &contradictoryTag{}
	c.SetName("c")
	_, err := agent.New(agent.Args(), quiet(), agent.AllPlugins(c, newStatusSink(&recorder{})))
	want := "agent: c.S: tag `plinth:\"ordered,unordered\"` says both ordered and unordered"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("New() = %v, want it to contain %q", err, want)
	}
}
