package dashboard_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/plinth-go/plinth/dashboard"
	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/health/probe"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/logging/logmanager"
	"github.com/plinth-go/plinth/messaging/kafka"
	"github.com/plinth-go/plinth/messaging/kafka/kafkatest"
	"github.com/plinth-go/plinth/servicelabel"
)

// chromiumPath is Debian's chromium, which CI installs.
const chromiumPath = "/usr/bin/chromium"

// browserBound bounds the life of the browser, every step included.
const browserBound = 90 * time.Second

// stepBound bounds one wait on the page.
const stepBound = 15 * time.Second

// requireChromium returns the browser to drive. Without it the test skips on
// a developer's machine and fails in CI, where it must run.
func requireChromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and no browser: %v (install Debian's chromium)", err)
		}
		t.Skipf("no browser at %s (apt-get install chromium); with CI=true this fails", chromiumPath)
	}
	return chromiumPath
}

// startBrowser starts a headless chromium and returns a tab context, bounded
// by browserBound; the browser is gone, and its goroutines with it, when the
// test ends.
func startBrowser(t *testing.T, exe string) context.Context {
	t.Helper()
	root, cancelRoot := context.WithTimeout(context.Background(), browserBound)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(root,
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser process to exit
		cancelRoot()
	})
	// The first run starts the browser, which lives as long as the context
	// of that run: give it the tab's, which browserBound bounds.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	return ctx
}

// step runs one action with its own bound.
func step[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepBound)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitFor polls a JavaScript predicate on the page.
func waitFor(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	step(t, ctx, "waiting for "+what, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(stepBound)))
}

func cell(table, row, field string) string {
	return fmt.Sprintf(`document.querySelector('#%s tr[data-name=%q] [data-field=%q]')`, table, row, field)
}

// open prepares the tab (credentials, when given, and the UTC time zone, so
// that times read the same on every machine) and loads url.
func open(t *testing.T, ctx context.Context, url, user, pass string) {
	t.Helper()
	step(t, ctx, "prepare the tab", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "UTC"}); err != nil {
			return err
		}
		if user == "" {
			return nil
		}
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
		_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Authorization": auth},
		})
		return err
	}))
	step(t, ctx, "wide window", chromedp.EmulateViewport(1400, 900))
	step(t, ctx, "open "+url, chromedp.Navigate(url))
}

// clearInput empties an input as the operator would, telling the page.
func clearInput(id string) string {
	return fmt.Sprintf(`(() => { const el = document.getElementById(%q); el.value = ""; el.dispatchEvent(new Event("input")); })()`, id)
}

// whenRe matches a time as the page shows it: in UTC, with how long ago.
var whenRe = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \((just now|\d+ (s|min|h|d) ago)\)$`)

// screenshots saves PNGs of what the operator sees in the test's artifact
// directory and, when DASHBOARD_SCREENSHOTS names a directory (docs/ when
// the documentation's pictures are renewed), there too.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shot := step(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	dirs := []string{t.ArtifactDir()}
	if d := os.Getenv("DASHBOARD_SCREENSHOTS"); d != "" {
		dirs = append(dirs, d)
	}
	for _, dir := range dirs {
		if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBrowserShowsTheAgentLiveAndControlsIt(t *testing.T) {
	exe := requireChromium(t)
	started := time.Now()

	srv := etcdtest.Start(t)
	sc := statuscheck.NewPlugin(statuscheck.WithBuildInfo("2.5.0", "2026-01-02", "feedbeef"))
	zero := time.Duration(0)
	sup := supervisor.NewPlugin(supervisor.UseConf(supervisor.Config{Programs: []supervisor.Program{{
		Name: "worker", ExecutablePath: "sleep", ExecutableArgs: []string{"1000"},
		Restarts: -1, StopTimeout: 2 * time.Second,
	}, {
		Name: "flaky", ExecutablePath: "sh", ExecutableArgs: []string{"-c", "exit 3"},
		Restarts: 2, RestartDelay: &zero,
	}}}))
	brokers := kafkatest.Start(t, 1, "orders")
	kafkaConf := filepath.Join(t.TempDir(), "kafka.conf")
	if err := os.WriteFile(kafkaConf, []byte("addrs: ["+strings.Join(brokers.ListenAddrs(), ", ")+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The agent has no agent.Version: the header shows the build the
	// status check publishes.
	s := startServerWith(t, setup{http: rest.Config{BasicAuth: []string{"admin:s3cret"}}, noVersion: true,
		env: map[string]string{"KAFKA_CONFIG": kafkaConf}},
		etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: srv.Endpoints()})), kafka.NewPlugin(),
		sc, logmanager.NewPlugin(), processmanager.NewPlugin(), sup, servicelabel.NewPlugin(), probe.NewPlugin(),
		newReporter("alpha"), newReporter("beta"), newReporter("inventory-synchronizer"), dashboard.NewPlugin())
	s.user, s.pass = "admin", "s3cret"

	ctx := startBrowser(t, exe)
	open(t, ctx, s.base+"/ui/", s.user, s.pass)

	// The states shown are the agent's.
	waitFor(t, ctx, "alpha and beta OK", fmt.Sprintf(
		`%s?.textContent === "OK" && %s?.textContent === "OK"`, cell("plugins", "alpha", "state"), cell("plugins", "beta", "state")))
	waitFor(t, ctx, "live", `document.getElementById("conn").textContent === "live"`)
	if name := step(t, ctx, "agent name", chromedp.Text("#agent-name")); name != "test-agent" {
		t.Errorf("agent name %q, want test-agent", name)
	}
	if label := step(t, ctx, "agent label", chromedp.Text("#agent-label")); label != "dash1" {
		t.Errorf("agent label %q, want dash1", label)
	}

	// The header: the version, and when the agent started, in the time
	// zone of the browser and how long ago.
	if v := step(t, ctx, "version", chromedp.Text("#agent-version")); v != "2.5.0" {
		t.Errorf("version in the header %q, want 2.5.0 (the status check's build)", v)
	}
	start := time.Unix(sc.GetAgentStatus().GetStartTime(), 0).UTC().Format("2006-01-02 15:04:05 UTC (")
	waitFor(t, ctx, "the start time with its zone", fmt.Sprintf(`document.getElementById("agent-started").textContent.startsWith(%q)`, start))
	if when := step(t, ctx, "start time", chromedp.Text("#agent-started")); !whenRe.MatchString(when) {
		t.Errorf("start time %q, want the form %s", when, whenRe)
	}
	if when := step(t, ctx, "alpha's last change", chromedp.Evaluate[string](cell("plugins", "alpha", "last_change")+".textContent")); !whenRe.MatchString(when) {
		t.Errorf("alpha's last change %q, want the form %s", when, whenRe)
	}

	// Programs: restarts done of the limit, the command line, the last
	// exit. flaky fails at once and gives up after its two restarts, which
	// makes the agent ERROR.
	waitFor(t, ctx, "flaky restarted twice of two", fmt.Sprintf(`%s?.textContent === "2 of 2" && %s?.textContent === "exit 3"`,
		cell("programs", "flaky", "restarts"), cell("programs", "flaky", "exit")))
	flaky, _ := sup.Program("flaky")
	if cmd := step(t, ctx, "flaky's command line", chromedp.Evaluate[string](cell("programs", "flaky", "name")+`.querySelector(".cmdline").textContent`)); cmd != flaky.Executable+" -c 'exit 3'" {
		t.Errorf("flaky's command line %q, want %q", cmd, flaky.Executable+" -c 'exit 3'")
	}
	eventually(t, "the agent ERROR in the status check", func() bool {
		return sc.GetAgentStatus().GetState() == model.OperationalState_ERROR
	})
	waitFor(t, ctx, "the agent ERROR on the page", `document.getElementById("agent-state").textContent === "ERROR"`)

	// A change arrives without a reload: the marker set on this document
	// survives it.
	step(t, ctx, "mark the document", chromedp.Evaluate[chromedp.Void](`window.sameDocument = true`))
	if err := sc.ReportStateChange("alpha", statuscheck.StateError, errors.New("disk full")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "alpha ERROR with its error", fmt.Sprintf(
		`%s?.textContent === "ERROR" && %s?.textContent === "disk full"`,
		cell("plugins", "alpha", "state"), cell("plugins", "alpha", "error")))
	if same := step(t, ctx, "check the document", chromedp.Evaluate[bool](`window.sameDocument === true`)); !same {
		t.Error("the page reloaded to show the change")
	}

	// The etcd panel: where etcd is, and that the agent reaches it.
	waitFor(t, ctx, "etcd connected", `document.getElementById("etcd-conn").textContent === "connected" &&
		document.getElementById("etcd-state").textContent === "OK"`)
	if eps := step(t, ctx, "etcd endpoints", chromedp.Text("#etcd-endpoints")); eps != strings.Join(srv.Endpoints(), ", ") {
		t.Errorf("etcd endpoints %q, want %q", eps, strings.Join(srv.Endpoints(), ", "))
	}

	waitFor(t, ctx, "Kafka connected", `document.getElementById("kafka-conn").textContent === "connected" &&
		document.getElementById("kafka-group").textContent === "dash1"`)

	// Charts drawn from /metrics: a line of at least two samples.
	waitFor(t, ctx, "the goroutines chart drawn", `(() => {
		const fig = document.querySelector('#charts figure[data-chart="goroutines"]');
		if (!fig || Number(fig.dataset.points) < 2) return false;
		const line = fig.querySelector("polyline");
		const pts = line.getAttribute("points").trim().split(/\s+/);
		const box = line.getBoundingClientRect();
		return pts.length >= 2 && box.width > 0 && /^\d+$/.test(fig.querySelector(".val").textContent);
	})()`)
	// The page's parser of the Prometheus text format.
	for _, tc := range []struct {
		name, text, metric string
		want               float64
	}{
		{"plain", "# HELP go_goroutines x\n# TYPE go_goroutines gauge\ngo_goroutines 42\n", "go_goroutines", 42},
		{"labels summed", "plinth_plugin_state{plugin=\"a\"} 1\nplinth_plugin_state{plugin=\"b\"} 2\n", "plinth_plugin_state", 3},
		{"escapes and a timestamp", "m{a=\"x\\\"}\",b=\"y\\\\\"} 1.5e3 1700000000000\n", "m", 1500},
		{"infinity", "h_bucket{le=\"+Inf\"} +Inf\n", "h_bucket", -1},
		{"malformed lines skipped", "m{a=\"x} 1\nm 2\n", "m", 2},
	} {
		got := step(t, ctx, "parse "+tc.name, chromedp.Evaluate[float64](fmt.Sprintf(
			`(() => { const v = metricValue(parseMetrics(%q), %q); return v === Infinity ? -1 : v; })()`, tc.text, tc.metric)))
		if got != tc.want {
			t.Errorf("parseMetrics, %s: %s = %v, want %v", tc.name, tc.metric, got, tc.want)
		}
	}

	// The loggers: a search box, and every level in the selector.
	sel := `#loggers tr[data-name="alpha"] select`
	step(t, ctx, "the level selector of alpha", chromedp.WaitVisible(sel))
	if label := step(t, ctx, "its label", chromedp.AttributeValue(sel, "aria-label")); label.Value != "Level of logger alpha" {
		t.Errorf("aria-label of the selector = %q, want \"Level of logger alpha\"", label.Value)
	}
	if levels := step(t, ctx, "its levels", chromedp.Evaluate[string](fmt.Sprintf(
		`[...document.querySelector(%q).options].map((o) => o.value).join(" ")`, sel))); levels != "trace debug info warning error fatal panic" {
		t.Errorf("levels offered = %q, want every level from trace to panic", levels)
	}
	step(t, ctx, "search the loggers", chromedp.SendKeys("#loggers-search", "invent"))
	waitFor(t, ctx, "only the matching logger shown", `(() => {
		const shown = [...document.querySelectorAll("#loggers tbody tr")].filter((r) => !r.hidden).map((r) => r.dataset.name);
		return shown.length === 1 && shown[0] === "inventory-synchronizer";
	})()`)
	step(t, ctx, "clear the search", chromedp.Evaluate[chromedp.Void](clearInput("loggers-search")))
	waitFor(t, ctx, "every logger shown again", `[...document.querySelectorAll("#loggers tbody tr")].every((r) => !r.hidden)`)
	step(t, ctx, "choose trace", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`(() => { const s = document.querySelector(%q); s.value = "trace"; s.dispatchEvent(new Event("change", {bubbles: true})); })()`, sel)))
	eventually(t, "alpha at trace over REST", func() bool {
		var list []logging.LoggerLevel
		s.json(http.MethodGet, "/log/list", &list)
		for _, l := range list {
			if l.Logger == "alpha" {
				return l.Level == logging.TraceLevel
			}
		}
		return false
	})
	waitFor(t, ctx, "the page confirming it", `document.getElementById("loggers-msg").textContent === "alpha: level trace"`)

	// Restart a program from the keyboard: focus its button, press Enter.
	// The page sends it to the supervisor, which counts it: the restart
	// count grows by one without a reload.
	if got := step(t, ctx, "where program actions go", chromedp.Evaluate[string](`panels.program_actions`)); got != supervisor.ProgramsPath {
		t.Errorf("panels.program_actions = %q, want %q", got, supervisor.ProgramsPath)
	}
	waitFor(t, ctx, "worker running", fmt.Sprintf(`%s?.textContent === "running"`, cell("programs", "worker", "state")))
	first, _ := sup.Program("worker")
	pidCell, restarts := cell("programs", "worker", "pid"), cell("programs", "worker", "restarts")
	of := func(n int) string { return strconv.Itoa(n) + " of ∞" }
	waitFor(t, ctx, "worker's pid and restarts", fmt.Sprintf(`%s?.textContent === %q && %s?.textContent === %q`,
		pidCell, strconv.Itoa(first.Pid), restarts, of(first.Restarts)))
	restart := `#programs tr[data-name="worker"] button[data-action="restart"]`
	if label := step(t, ctx, "restart button label", chromedp.AttributeValue(restart, "aria-label")); label.Value != "Restart worker" {
		t.Errorf("aria-label of the restart button = %q, want \"Restart worker\"", label.Value)
	}
	step(t, ctx, "focus restart", chromedp.Focus(restart))
	step(t, ctx, "press Enter", chromedp.KeyEvent("\r"))
	waitFor(t, ctx, "worker running with a new pid and one more restart", fmt.Sprintf(
		`%s?.textContent === "running" && !["–", %q].includes(%s?.textContent) && %s?.textContent === %q`,
		cell("programs", "worker", "state"), strconv.Itoa(first.Pid), pidCell, restarts, of(first.Restarts+1)))
	waitFor(t, ctx, "the page confirming it", `document.getElementById("programs-msg").textContent === "worker: restart done"`)
	restarted, _ := sup.Program("worker")
	if restarted.Pid == first.Pid || restarted.Restarts != first.Restarts+1 {
		t.Fatalf("worker after the restart: pid %d restarts %d, want a new pid and restarts %d", restarted.Pid, restarted.Restarts, first.Restarts+1)
	}
	if same := step(t, ctx, "check the document", chromedp.Evaluate[bool](`window.sameDocument === true`)); !same {
		t.Error("the page reloaded to show the restart")
	}

	// A crash is restarted by the supervisor, and the count grows again.
	if err := killProcess(restarted.Pid); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "one more restart and the exit shown", fmt.Sprintf(
		`%s?.textContent === %q && %s?.textContent === "SIGKILL" && %s?.textContent === "running"`,
		restarts, of(restarted.Restarts+1), cell("programs", "worker", "exit"), cell("programs", "worker", "state")))

	// The status keys show what the status check published, each whole and
	// on one line at 1400px.
	waitFor(t, ctx, "alpha's status key published as ERROR", fmt.Sprintf(
		`%s?.textContent === "ERROR" && %s?.textContent !== "–"`, cell("keys", "plugin/alpha", "state"), cell("keys", "plugin/alpha", "published")))
	waitFor(t, ctx, "the long plugin's key", cell("keys", "plugin/inventory-synchronizer", "name")+` !== null`)
	if w := step(t, ctx, "window width", chromedp.Evaluate[int](`window.innerWidth`)); w != 1400 {
		t.Fatalf("window %dpx wide, want 1400", w)
	}
	clipped := step(t, ctx, "status keys cut or wrapped", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#keys tbody th")].filter((th) => {
		const r = document.createRange();
		r.selectNodeContents(th);
		const lines = new Set([...r.getClientRects()].map((q) => Math.round(q.top))).size;
		return th.textContent !== th.parentElement.dataset.name || th.scrollWidth > th.clientWidth || lines !== 1;
	}).map((th) => th.textContent)`))
	if len(clipped) > 0 {
		t.Errorf("status keys not shown whole on one line at 1400px: %q", clipped)
	}
	if when := step(t, ctx, "alpha's publish time", chromedp.Evaluate[string](cell("keys", "plugin/alpha", "published")+".textContent")); !whenRe.MatchString(when) {
		t.Errorf("alpha's publish time %q, want the form %s", when, whenRe)
	}

	// Save what the operator sees, wide and at phone width; for the
	// documentation, with some history in the charts.
	if os.Getenv("DASHBOARD_SCREENSHOTS") != "" {
		waitFor(t, ctx, "some history", `Number(document.querySelector('#charts figure[data-chart="goroutines"]').dataset.points) >= 6`)
	}
	screenshot(t, ctx, "dashboard.png")
	step(t, ctx, "phone width", chromedp.EmulateViewport(390, 844))
	waitFor(t, ctx, "no horizontal scrolling at phone width",
		`document.documentElement.scrollWidth <= window.innerWidth`)
	screenshot(t, ctx, "dashboard-phone.png")
	t.Logf("browser test took %v", time.Since(started).Round(time.Millisecond))
}

// fakeSupervisor serves GET /supervisor/programs as the supervisor does, with
// the fields a newer supervisor may add: it stands for a supervisor whose
// program failed to be bound to its CPUs.
type fakeSupervisor struct {
	infra.PluginDeps
	HTTP rest.HTTPHandlers
}

func (f *fakeSupervisor) Init() error {
	f.HTTP.RegisterHTTPHandler(supervisor.ProgramsPath, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `[{"name":"vpp","state":"running","pid":4242,"restarts":3,"restart_limit":4,"up_time_ns":61000000000,
			"executable":"/usr/bin/vpp","args":["-c","/etc/vpp/startup.conf"],
			"last_error":"start: exec: permission denied","affinity_error":"sched_setaffinity: invalid argument"}]`)
	}), http.MethodGet)
	return nil
}
func (f *fakeSupervisor) Close() error { return nil }
func (f *fakeSupervisor) Program(name string) (supervisor.ProgramStatus, bool) {
	return supervisor.ProgramStatus{Name: name}, name == "vpp"
}
func (f *fakeSupervisor) GetProgramByName(string) *processmanager.Process { return nil }

// fakeRoutes serves GET /routes as the demo agent's route cache does.
type fakeRoutes struct {
	infra.PluginDeps
	HTTP rest.HTTPHandlers
}

func (f *fakeRoutes) Init() error {
	f.HTTP.RegisterHTTPHandler(dashboard.RouteCachePath, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"prefix":"/vnf-agent/dash1/config/routes/","synced":true,"rev":42,"resyncs":1,"skipped":3,
			"routes":[{"name":"r1","vrf":"red","next_hop":"10.0.0.1"},{"name":"r2","vrf":"blue","next_hop":"10.0.0.2"},
			{"name":"r3","vrf":"red","next_hop":"10.0.0.3"}]}`)
	}), http.MethodGet)
	return nil
}
func (f *fakeRoutes) Close() error { return nil }

// fakeTraffic serves GET /traffic as the demo agent's Kafka traffic plugin
// does, with counters that grow by 10 at every request.
type fakeTraffic struct {
	infra.PluginDeps
	HTTP rest.HTTPHandlers
	n    atomic.Int64
}

func (f *fakeTraffic) Init() error {
	f.HTTP.RegisterHTTPHandler(dashboard.KafkaTrafficPath, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := f.n.Add(10)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"topic":"plinth-traffic","rate":10,"publishing":true,"published":%d,"acknowledged":%d,"failed":0,"refused":0,"consumed":%d,"in_flight":0}`, n, n, n)
	}), http.MethodGet)
	return nil
}
func (f *fakeTraffic) Close() error { return nil }

// TestBrowserShowsWhatOtherPluginsServe: the page shows what plugins it
// does not import serve, here as a newer supervisor and the demo agent's
// route cache answer.
func TestBrowserShowsWhatOtherPluginsServe(t *testing.T) {
	exe := requireChromium(t)
	sup := &fakeSupervisor{}
	sup.SetName("fake-supervisor")
	routes := &fakeRoutes{}
	routes.SetName(dashboard.RouteCachePlugin)
	traffic := &fakeTraffic{}
	traffic.SetName(dashboard.KafkaTrafficPlugin)
	s := startServer(t, rest.Config{}, sup, routes, traffic, kafka.NewPlugin(), dashboard.NewPlugin())

	ctx := startBrowser(t, exe)
	open(t, ctx, s.base+"/ui/", "", "")
	waitFor(t, ctx, "vpp listed", cell("programs", "vpp", "restarts")+`?.textContent === "3 of 4"`)
	for _, tc := range []struct{ what, expr, want string }{
		{"command line", cell("programs", "vpp", "name") + `.querySelector(".cmdline").textContent`, "/usr/bin/vpp -c /etc/vpp/startup.conf"},
		{"uptime", cell("programs", "vpp", "uptime") + `.textContent`, "1m 1s"},
		{"last error", cell("programs", "vpp", "error") + `.querySelector(".last-error").textContent`, "start: exec: permission denied"},
		{"affinity error", cell("programs", "vpp", "error") + `.querySelector(".affinity-error").textContent`, "CPU affinity: sched_setaffinity: invalid argument"},
	} {
		if got := step(t, ctx, tc.what, chromedp.Evaluate[string](tc.expr)); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.what, got, tc.want)
		}
	}
	// Visibly: it takes room on the page, in the colour of errors.
	visible := step(t, ctx, "the affinity error visible", chromedp.Evaluate[bool](`(() => {
		const el = document.querySelector('#programs tr[data-name="vpp"] .affinity-error');
		const box = el.getBoundingClientRect();
		return !el.hidden && box.width > 0 && box.height > 0 && getComputedStyle(el).color !== getComputedStyle(document.body).color;
	})()`))
	if !visible {
		t.Error("the affinity error is not visible, or not set apart from the text around it")
	}

	waitFor(t, ctx, "the route cache", `document.getElementById("routes-sync").textContent === "synced" &&
		document.getElementById("routes-count").textContent === "3 in 2 VRFs"`)
	for _, tc := range []struct{ id, want string }{
		{"routes-prefix", "/vnf-agent/dash1/config/routes/"}, {"routes-rev", "42"}, {"routes-resyncs", "1"}, {"routes-skipped", "3"},
	} {
		if got := step(t, ctx, tc.id, chromedp.Text("#"+tc.id)); got != tc.want {
			t.Errorf("#%s = %q, want %q", tc.id, got, tc.want)
		}
	}

	// Kafka is disabled (no kafka.conf), and the traffic counters are
	// charted as rates: two rates take three samples.
	waitFor(t, ctx, "Kafka disabled", `document.getElementById("kafka-conn").textContent === "disabled"`)
	waitFor(t, ctx, "the traffic charted", `(() => {
		const fig = document.querySelector('#kafka-charts figure[data-chart="kafka-published"]');
		return !document.getElementById("kafka-traffic").hidden && Number(fig.dataset.points) >= 2 &&
			/^\d+\.\d \/ s$/.test(fig.querySelector(".val").textContent) && Number(fig.querySelector(".val").textContent.split(" ")[0]) > 0;
	})()`)
}

func TestBrowserShowsTheFleetLive(t *testing.T) {
	exe := requireChromium(t)
	srv := etcdtest.Start(t)
	cli := etcdtest.Client(t, srv.Endpoints()...)
	etcdtest.Put(t, cli, agentKey("edge-1"), agentStatusJSON(t, model.OperationalState_OK, "v1.4.0",
		pluginStatus("etcd", model.OperationalState_OK, "")))
	etcdtest.Put(t, cli, agentKey("edge-2"), agentStatusJSON(t, model.OperationalState_ERROR, "v1.3.9",
		pluginStatus("govpp", model.OperationalState_ERROR, "VPP disconnected"),
		pluginStatus("etcd", model.OperationalState_OK, "")))
	etcdtest.Put(t, cli, agentKey("edge-3"), agentStatusJSON(t, model.OperationalState_INIT, "v1.4.0"))
	// dying lives as long as its lease is kept alive, as an agent's
	// session keys do.
	ctx0, cancel0 := context.WithTimeout(context.Background(), browserBound)
	defer cancel0()
	lease, err := cli.Grant(ctx0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx0, agentKey("dying"), agentStatusJSON(t, model.OperationalState_OK, "v1.2.0"), clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	aliveCtx, die := context.WithCancel(ctx0)
	defer die()
	alive, err := cli.KeepAlive(aliveCtx, lease.ID)
	if err != nil {
		t.Fatal(err)
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for range alive {
		}
	}()
	defer func() { die(); <-drained }()

	s := startServer(t, rest.Config{},
		etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: srv.Endpoints()})), servicelabel.NewPlugin(), statuscheck.NewPlugin(),
		dashboard.NewPlugin(dashboard.UseConf(dashboard.Config{Fleet: true})))

	ctx := startBrowser(t, exe)
	open(t, ctx, s.base+"/ui/", "", "")
	waitFor(t, ctx, "the link to the fleet", fmt.Sprintf(`!document.getElementById("fleet-link").hidden &&
		document.getElementById("fleet-link").href === %q`, s.base+dashboard.FleetPath))
	step(t, ctx, "follow it", chromedp.Navigate(s.base+dashboard.FleetPath))

	rows := `[...document.querySelectorAll("#fleet tbody tr")].filter((r) => !r.hidden).map((r) => r.dataset.name).join(" ")`
	waitFor(t, ctx, "every agent listed", rows+` === "dash1 dying edge-1 edge-2 edge-3"`)
	waitFor(t, ctx, "the counts", `document.getElementById("count-all").textContent === "5" &&
		document.getElementById("count-error").textContent === "1" && document.getElementById("count-init").textContent === "1" &&
		document.getElementById("count-gone").textContent === "0"`)
	if errs := step(t, ctx, "edge-2's plugins in ERROR", chromedp.Evaluate[string](cell("fleet", "edge-2", "errors")+".textContent")); errs != "govpp: VPP disconnected" {
		t.Errorf("edge-2's plugins in ERROR %q, want \"govpp: VPP disconnected\"", errs)
	}
	if v := step(t, ctx, "edge-2's version", chromedp.Evaluate[string](cell("fleet", "edge-2", "version")+".textContent")); v != "v1.3.9" {
		t.Errorf("edge-2's version %q, want v1.3.9", v)
	}

	// The filter: by text, then by state.
	step(t, ctx, "filter by a plugin", chromedp.SendKeys("#fleet-filter", "govpp"))
	waitFor(t, ctx, "only edge-2", rows+` === "edge-2"`)
	step(t, ctx, "clear the filter", chromedp.Evaluate[chromedp.Void](clearInput("fleet-filter")))
	step(t, ctx, "show INIT only", chromedp.Click(`.counts button[data-filter="INIT"]`))
	waitFor(t, ctx, "only edge-3", rows+` === "edge-3" && document.querySelector('.counts button[data-filter="INIT"]').getAttribute("aria-pressed") === "true"`)
	step(t, ctx, "show all", chromedp.Click(`.counts button[data-filter=""]`))
	waitFor(t, ctx, "every agent again", rows+` === "dash1 dying edge-1 edge-2 edge-3"`)

	// dying dies: its lease expires, its key goes, and the page shows it
	// gone, with when, without a reload.
	step(t, ctx, "mark the document", chromedp.Evaluate[chromedp.Void](`window.sameDocument = true`))
	die()
	<-drained
	waitFor(t, ctx, "dying gone", fmt.Sprintf(`%s?.textContent === "gone" && document.getElementById("count-gone").textContent === "1"`,
		cell("fleet", "dying", "state")))
	when := step(t, ctx, "when dying went", chromedp.Evaluate[string](cell("fleet", "dying", "last_change")+".textContent"))
	if w, ok := strings.CutPrefix(when, "gone "); !ok || !whenRe.MatchString(w) {
		t.Errorf("dying's row says %q, want \"gone\" and the time in the form %s", when, whenRe)
	}
	if same := step(t, ctx, "check the document", chromedp.Evaluate[bool](`window.sameDocument === true`)); !same {
		t.Error("the page reloaded to show the change")
	}
	screenshot(t, ctx, "dashboard-fleet.png")
}

// killProcess kills the process pid, as a crash would (SIGKILL on Unix).
func killProcess(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
