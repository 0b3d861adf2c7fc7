package bench

import (
	"context"
	"fmt"
	"io"
	"testing"

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
// with a start and a stop hook each for fx. Sizes: a typical agent has tens
// of plugins; 1000 shows how the cost grows.
func BenchmarkAgentStartStop(b *testing.B) {
	for _, n := range []int{100, 1000} {
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("p%d", i)
		}
		logs := logging.NewRegistry(logging.WithOutput(io.Discard))
		b.Run(fmt.Sprintf("N=%d/ours", n), func(b *testing.B) {
			b.ReportAllocs()
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
		})
		b.Run(fmt.Sprintf("N=%d/fx", n), func(b *testing.B) {
			b.ReportAllocs()
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
		})
	}
}
