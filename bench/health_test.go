package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/health/probe"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/servicelabel"
)

// healthPlugins is the number of plugins registered in the status check:
// a large agent (peers.md §2.5).
const healthPlugins = 50

// quietLogs discards the agents' logs at the default level, as in
// production: debug lines are not even formatted.
func quietLogs() agent.Option {
	return agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard)))
}

// awaitCond polls cond until it holds, or fails after 20 s. The status check
// publishes in the background and has no event for "written", so the
// benchmarks poll, outside the timer.
func awaitCond(b *testing.B, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("waited 20s for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// statusFloor is the cheapest thing a plugin could do instead of reporting
// to the status check: compare-and-set its state in a map guarded by a
// mutex. It aggregates, publishes and serves nothing; it is the floor that
// an unchanged report cannot go below, not a peer library.
type statusFloor struct {
	mu sync.Mutex // guards m and the values it points to
	m  map[string]*floorStatus
}

type floorStatus struct {
	state statuscheck.PluginState
	err   string
}

func (f *statusFloor) report(name string, state statuscheck.PluginState, err error) {
	text := ""
	if err != nil {
		text = err.Error()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.m[name]
	if s == nil {
		f.m[name] = &floorStatus{state, text}
		return
	}
	if s.state != state || s.err != text {
		s.state, s.err = state, text
	}
}

// BenchmarkReportStateChangeUnchanged is a push plugin that reports on
// every event while nothing changes (statuscheck.md: "costs about 100 ns,
// allocates nothing and writes nothing"; goal 0 allocs, 0 writes). The
// status check runs in an agent publishing to a real etcd server, with
// healthPlugins plugins registered; "state=ok" reports OK without an error,
// "state=error" ERROR with the same error every time.
//
// The timer covers, for ours, ReportStateChange called through the
// PluginStatusWriter interface that plugins inject; for mutex-map-floor,
// statusFloor.report on a map of as many plugins. Around every sample of
// ours, outside the timer, the benchmark checks that the timed reports
// made no new snapshot (so woke no publisher) and wrote no key: a barrier
// (a real change of another plugin, awaited in etcd) before and after the
// loop, and etcd's revision, read by a client of its own, grown by exactly
// the 2 keys of the second barrier.
func BenchmarkReportStateChangeUnchanged(b *testing.B) {
	srv := etcdtest.Start(b)
	cli := etcdtest.Client(b, srv.Endpoints()...)
	const label = "bench"
	sc := statuscheck.NewPlugin(statuscheck.UseConf(statuscheck.Config{ProbeInterval: time.Hour}))
	agenttest.Start(b, quietLogs(), agent.AllPlugins(
		etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: srv.Endpoints()})),
		servicelabel.NewPlugin(servicelabel.UseLabel(label)),
		sc,
	))
	errDown := errors.New("connection refused")
	floor := &statusFloor{m: map[string]*floorStatus{}}
	for i := range healthPlugins {
		name := fmt.Sprintf("plugin%02d", i)
		if err := sc.Register(name, nil); err != nil {
			b.Fatal(err)
		}
		state, err := statuscheck.StateOK, error(nil)
		if i == 13 {
			state, err = statuscheck.StateError, errDown
		}
		if err := sc.ReportStateChange(name, state, err); err != nil {
			b.Fatal(err)
		}
		floor.report(name, state, err)
	}
	awaitCond(b, "the status check to see etcd connected", func() bool {
		ps := sc.Snapshot().Plugin("etcd")
		return ps != nil && statuscheck.PluginState(ps.GetState()) == statuscheck.StateOK
	})

	agentKey := servicelabel.AgentPrefix(label) + model.AgentStatusKey()
	barriers := 0
	// barrier changes the sentinel plugin, waits until etcd holds the agent
	// status with that change (the publisher writes the agent key last) and
	// returns etcd's revision then. Only the publisher writes to this etcd,
	// and every write increments the revision, so the revisions of two
	// barriers differ by the number of keys written in between.
	// (PublishStats is no substitute: the publisher counts a put after etcd
	// has applied it, so a read right after the barrier may miss the last.)
	barrier := func(b *testing.B) (rev int64) {
		barriers++
		marker := fmt.Sprintf("barrier %d", barriers)
		if err := sc.ReportStateChange("sentinel", statuscheck.StateError, errors.New(marker)); err != nil {
			b.Fatal(err)
		}
		awaitCond(b, "the status to reach etcd", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			resp, err := cli.Get(ctx, agentKey)
			if err != nil {
				b.Fatal(err)
			}
			rev = resp.Header.Revision
			return len(resp.Kvs) == 1 && strings.Contains(string(resp.Kvs[0].Value), `"error":"`+marker+`"`)
		})
		return rev
	}
	barrier(b) // the first publication is over

	var w statuscheck.PluginStatusWriter = sc
	for _, tc := range []struct {
		name   string
		plugin string
		state  statuscheck.PluginState
		err    error
	}{
		{"state=ok", "plugin07", statuscheck.StateOK, nil},
		{"state=error", "plugin13", statuscheck.StateError, errDown},
	} {
		b.Run(tc.name, func(b *testing.B) {
			interleave(b, side{"ours", func(b *testing.B) {
				rev := barrier(b)
				seq := sc.Snapshot().Seq
				b.ReportAllocs()
				for b.Loop() {
					if err := w.ReportStateChange(tc.plugin, tc.state, tc.err); err != nil {
						b.Fatal(err)
					}
				}
				if got := sc.Snapshot().Seq; got != seq {
					b.Fatalf("unchanged reports made %d new snapshots", got-seq)
				}
				if n := barrier(b) - rev; n != 2 {
					b.Fatalf("%d keys written to etcd for the barrier's 2: unchanged reports wrote to the store", n)
				}
			}}, side{"mutex-map-floor", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					floor.report(tc.plugin, tc.state, tc.err)
				}
			}})
		})
	}
}

// pushPlugin is a plugin that reports its state, wired as statuscheck.md
// shows: INIT from its Init, OK from its AfterInit.
type pushPlugin struct {
	infra.PluginDeps
	StatusCheck statuscheck.PluginStatusWriter `plinth:"optional,unordered"`
}

func (p *pushPlugin) Init() error { return p.StatusCheck.Register(p.String(), nil) }
func (p *pushPlugin) AfterInit() error {
	return p.StatusCheck.ReportStateChange(p.String(), statuscheck.StateOK, nil)
}
func (p *pushPlugin) Close() error { return nil }

// deadAddr returns a loopback address where nothing listens: a port that
// was free a moment ago.
func deadAddr(b *testing.B) string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// requestTimes records the time of every request of a sample and reports
// percentiles.
type requestTimes []time.Duration

// newRequestTimes allocates, before the timer starts, room for the requests
// of about 10 s (at 40 µs each), so that recording allocates nothing
// within the default -benchtime.
func newRequestTimes() requestTimes { return make(requestTimes, 0, 1<<18) }

func (l requestTimes) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	at := func(q float64) float64 { return float64(l[int(q*float64(len(l)-1))].Nanoseconds()) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
}

// getStatus requests url over a kept-alive connection, reads the whole
// body and returns the status code.
func getStatus(b *testing.B, c *http.Client, url string) int {
	resp, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		b.Fatal(err)
	}
	return resp.StatusCode
}

// BenchmarkReadinessEtcdDown serves GET /readiness while etcd is down (goal
// G6: p99 < 1 ms). Ours is an agent with the etcd plugin pointed at a port
// where nothing listens, the HTTP server, the status check, the probe and
// healthPlugins push plugins; readiness answers 503 with the agent status
// (about 4 KB of JSON). The peer, bare-net-http, is a net/http server with
// the same timeouts as ours whose handler writes the same bytes with a 200:
// the floor of serving this answer over HTTP. Both listen on loopback, and
// each side has a client of its own that keeps one connection alive.
//
// The timer covers, on both sides, one request: sending it, the server's
// work, and reading the whole response. ns/op is the mean time of a
// request; p50-ns and p99-ns are percentiles of the same requests;
// cpu-ns/op is the CPU time of the process per request: client, server and,
// on both sides alike, the agent's background work (etcd reconnects, the
// status publisher's retries).
func BenchmarkReadinessEtcdDown(b *testing.B) {
	httpPlugin := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	sc := statuscheck.NewPlugin()
	plugins := []infra.Plugin{
		etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: []string{deadAddr(b)}, DialTimeout: time.Second})),
		servicelabel.NewPlugin(),
		httpPlugin, sc, probe.NewPlugin(),
	}
	for i := range healthPlugins {
		p := &pushPlugin{}
		p.SetName(fmt.Sprintf("plugin%02d", i))
		plugins = append(plugins, p)
	}
	agenttest.Start(b, quietLogs(), agent.AllPlugins(plugins...))
	awaitCond(b, "the status check to see etcd down", func() bool {
		ps := sc.Snapshot().Plugin("etcd")
		return ps != nil && statuscheck.PluginState(ps.GetState()) == statuscheck.StateError
	})
	if n := len(sc.Snapshot().Agent.GetPlugins()); n < healthPlugins {
		b.Fatalf("%d plugins in the status, want at least %d", n, healthPlugins)
	}

	client := func() *http.Client {
		tr := &http.Transport{MaxIdleConnsPerHost: 1}
		b.Cleanup(tr.CloseIdleConnections)
		// No Client.Timeout: its timer would add to every request; a hung
		// request fails the run by go test's -timeout instead.
		return &http.Client{Transport: tr}
	}
	oursURL := "http://" + httpPlugin.Addr().String() + probe.ReadinessPath
	oursClient := client()
	resp, err := oursClient.Get(oursURL)
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		b.Fatalf("GET %s = %d, %v; want 503 with etcd down", oursURL, resp.StatusCode, err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	bare := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: rest.DefaultReadHeaderTimeout,
		IdleTimeout:       rest.DefaultIdleTimeout,
	}
	served := make(chan error, 1)
	go func() { served <- bare.Serve(ln) }()
	b.Cleanup(func() {
		bare.Close()
		<-served
	})
	bareURL := "http://" + ln.Addr().String() + probe.ReadinessPath
	bareClient := client()

	interleave(b, side{"ours", func(b *testing.B) {
		lat := newRequestTimes()
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			t0 := time.Now()
			if code := getStatus(b, oursClient, oursURL); code != http.StatusServiceUnavailable {
				b.Fatalf("GET %s = %d, want 503", oursURL, code)
			}
			lat = append(lat, time.Since(t0))
		}
		cpu.report(b)
		lat.report(b)
	}}, side{"bare-net-http", func(b *testing.B) {
		lat := newRequestTimes()
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			t0 := time.Now()
			if code := getStatus(b, bareClient, bareURL); code != http.StatusOK {
				b.Fatalf("GET %s = %d, want 200", bareURL, code)
			}
			lat = append(lat, time.Since(t0))
		}
		cpu.report(b)
		lat.report(b)
	}})
}
