package bench

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/logging"
)

// noop is a plugin that does nothing: the benchmark measures the lifecycle.
type noop struct{ infra.PluginName }

func (*noop) Init() error  { return nil }
func (*noop) Close() error { return nil }

// component is fx's counterpart of noop.
type component struct{ id int }

// BenchmarkAgentStartStop builds, starts and stops an application of N
// no-op parts: N plugins for Plinth, N annotated providers in a value group
// with a start and a stop hook each for fx. On both sides the timer covers
// describing the application, building it (discovery and injection for
// ours, the dig graph and the constructors for fx), starting and stopping
// it; cpu-ns/op adds the CPU time of every goroutine (ours calls each
// plugin in a goroutine of its own). Sizes: a typical agent has tens of
// plugins; 1000 shows how the cost grows.
func BenchmarkAgentStartStop(b *testing.B) {
	for _, n := range []int{100, 1000} {
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("p%d", i)
		}
		logs := logging.NewRegistry(logging.WithOutput(io.Discard))
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			interleave(b, side{"ours", func(b *testing.B) {
				b.ReportAllocs()
				cpu := startCPU()
				defer cpu.report(b)
				for b.Loop() {
					plugins := make([]infra.Plugin, n)
					for i := range plugins {
						plugins[i] = &noop{PluginName: infra.PluginName(names[i])}
					}
					a, err := agent.New(agent.AllPlugins(plugins...), agent.Args(), agent.Logs(logs), agent.QuitSignals())
					if err != nil {
						b.Fatal(err)
					}
					if err := a.Start(); err != nil {
						b.Fatal(err)
					}
					if err := a.Stop(); err != nil {
						b.Fatal(err)
					}
				}
			}}, side{"fx", func(b *testing.B) {
				b.ReportAllocs()
				cpu := startCPU()
				defer cpu.report(b)
				for b.Loop() {
					opts := make([]fx.Option, 0, n+2)
					for i := range n {
						opts = append(opts, fx.Provide(fx.Annotate(
							func() *component { return &component{id: i} },
							fx.ResultTags(`group:"components"`),
						)))
					}
					opts = append(opts,
						fx.WithLogger(func() fxevent.Logger { return fxevent.NopLogger }),
						fx.Invoke(fx.Annotate(func(lc fx.Lifecycle, cs []*component) {
							for range cs {
								lc.Append(fx.Hook{
									OnStart: func(context.Context) error { return nil },
									OnStop:  func(context.Context) error { return nil },
								})
							}
						}, fx.ParamTags(``, `group:"components"`))),
					)
					app := fx.New(opts...)
					if err := app.Err(); err != nil {
						b.Fatal(err)
					}
					ctx := context.Background()
					if err := app.Start(ctx); err != nil {
						b.Fatal(err)
					}
					if err := app.Stop(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}})
		})
	}
}

// The shape of BenchmarkParallelInit (peers.md §1.4, goal G2): 100 plugins
// in 5 layers of 20, each plugin of a layer depending on 3 of the layer
// below (the average fan-in of the synthetic graphs), each start taking
// 50 ms. The longest dependency chain is the 5 layers: 250 ms.
const (
	dagLayers = 5
	dagWidth  = 20
	dagFanIn  = 3
	dagSleep  = 50 * time.Millisecond
)

// sleeper is a plugin whose Init takes dagSleep; After holds the plugins
// it depends on, which the agent finds through the exported field.
type sleeper struct {
	infra.PluginName
	After []*sleeper
}

func (*sleeper) Init() error  { time.Sleep(dagSleep); return nil }
func (*sleeper) Close() error { return nil }

// dagSleepers returns the plugins of the DAG, top layer first.
func dagSleepers() []infra.Plugin {
	var below, all []*sleeper
	for l := range dagLayers {
		layer := make([]*sleeper, dagWidth)
		for i := range layer {
			s := &sleeper{PluginName: infra.PluginName(fmt.Sprintf("l%dp%02d", l, i))}
			// Plugins i, i+1, i+2 of the layer below: every plugin there
			// has a dependent, so every chain is dagLayers long.
			for k := range min(dagFanIn, len(below)) {
				s.After = append(s.After, below[(i+k)%dagWidth])
			}
			layer[i] = s
		}
		all = append(layer, all...)
		below = layer
	}
	plugins := make([]infra.Plugin, len(all))
	for i, s := range all {
		plugins[i] = s
	}
	return plugins
}

// fxNode is fx's counterpart of sleeper.
type fxNode struct{ deps []*fxNode }

// dagFx returns the fx options of the same DAG: one named provider per
// plugin taking its dependencies by name, whose start hook takes dagSleep.
func dagFx() []fx.Option {
	name := func(l, i int) string { return fmt.Sprintf(`name:"l%dp%02d"`, l, i) }
	hook := fx.Hook{OnStart: func(context.Context) error { time.Sleep(dagSleep); return nil }}
	var opts []fx.Option
	for l := range dagLayers {
		for i := range dagWidth {
			// fx takes no variadic dependencies: one constructor per
			// arity, the second one for dagFanIn = 3.
			var ctor any = func(lc fx.Lifecycle) *fxNode {
				lc.Append(hook)
				return &fxNode{}
			}
			params := []string{``}
			if l > 0 {
				ctor = func(lc fx.Lifecycle, d0, d1, d2 *fxNode) *fxNode {
					lc.Append(hook)
					return &fxNode{deps: []*fxNode{d0, d1, d2}}
				}
				for k := range dagFanIn {
					params = append(params, name(l-1, (i+k)%dagWidth))
				}
			}
			opts = append(opts, fx.Provide(fx.Annotate(ctor, fx.ParamTags(params...), fx.ResultTags(name(l, i)))))
		}
	}
	// fx builds only what is needed: ask for the top layer, which needs the
	// rest.
	for i := range dagWidth {
		opts = append(opts, fx.Invoke(fx.Annotate(func(*fxNode) {}, fx.ParamTags(name(dagLayers-1, i)))))
	}
	return append(opts, fx.WithLogger(func() fxevent.Logger { return fxevent.NopLogger }))
}

// BenchmarkParallelInit starts the DAG above with agent.ParallelInit. On
// every side the timer covers one start: for ours, building the agent
// (discovery, injection, ordering), starting it and stopping it; for
// critical-path, sleeping dagSleep dagLayers times in a row, the ideal
// start of this graph that any scheduler is bounded by (goal G2: ours ≤ 1.1
// times it); for fx, building the app and starting and stopping it, where
// fx runs the start hooks one after the other (about 5 s per start, so one
// sample is one start).
func BenchmarkParallelInit(b *testing.B) {
	logs := logging.NewRegistry(logging.WithOutput(io.Discard))
	if a, err := agent.New(agent.AllPlugins(dagSleepers()...), agent.Args(), agent.Logs(logs), agent.QuitSignals()); err != nil {
		b.Fatal(err)
	} else if got := len(a.Order()); got != dagLayers*dagWidth {
		b.Fatalf("the agent found %d plugins, want %d", got, dagLayers*dagWidth)
	}
	interleave(b, side{"ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			a, err := agent.New(agent.AllPlugins(dagSleepers()...), agent.ParallelInit(),
				agent.Args(), agent.Logs(logs), agent.QuitSignals())
			if err != nil {
				b.Fatal(err)
			}
			if err := a.Start(); err != nil {
				b.Fatal(err)
			}
			if err := a.Stop(); err != nil {
				b.Fatal(err)
			}
		}
	}}, side{"critical-path", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for range dagLayers {
				time.Sleep(dagSleep)
			}
		}
	}}, side{"fx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			app := fx.New(dagFx()...)
			if err := app.Err(); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if err := app.Start(ctx); err != nil {
				b.Fatal(err)
			}
			if err := app.Stop(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}})
}
