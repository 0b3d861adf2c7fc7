package dashboard_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/plinth-go/plinth/dashboard"
	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/logging/logmanager"
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
		chromedp.WindowSize(1280, 900),
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

func TestBrowserShowsTheAgentLiveAndControlsIt(t *testing.T) {
	exe := requireChromium(t)
	started := time.Now()

	srv := etcdtest.Start(t)
	sc := statuscheck.NewPlugin()
	sup := supervisor.NewPlugin(supervisor.UseConf(supervisor.Config{Programs: []supervisor.Program{{
		Name: "worker", ExecutablePath: "sleep", ExecutableArgs: []string{"1000"},
		Restarts: -1, StopTimeout: 2 * time.Second,
	}}}))
	s := startServer(t, rest.Config{BasicAuth: []string{"admin:s3cret"}},
		etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: srv.Endpoints()})),
		sc, logmanager.NewPlugin(), processmanager.NewPlugin(), sup, servicelabel.NewPlugin(),
		newReporter("alpha"), newReporter("beta"), dashboard.NewPlugin())
	s.user, s.pass = "admin", "s3cret"

	ctx := startBrowser(t, exe)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:s3cret"))
	step(t, ctx, "start the browser", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Authorization": auth},
		})
		return err
	}))
	step(t, ctx, "open /ui/", chromedp.Navigate(s.base+"/ui/"))

	// The states shown are the agent's.
	waitFor(t, ctx, "alpha and beta OK", fmt.Sprintf(
		`%s?.textContent === "OK" && %s?.textContent === "OK"`, cell("plugins", "alpha", "state"), cell("plugins", "beta", "state")))
	waitFor(t, ctx, "the agent OK and live", `document.getElementById("agent-state").textContent === "OK" &&
		document.getElementById("conn").textContent === "live"`)
	if name := step(t, ctx, "agent name", chromedp.Text("#agent-name")); name != "test-agent" {
		t.Errorf("agent name %q, want test-agent", name)
	}
	if label := step(t, ctx, "agent label", chromedp.Text("#agent-label")); label != "dash1" {
		t.Errorf("agent label %q, want dash1", label)
	}

	// A change arrives without a reload: the marker set on this document
	// survives it.
	step(t, ctx, "mark the document", chromedp.Evaluate[chromedp.Void](`window.sameDocument = true`))
	if err := sc.ReportStateChange("alpha", statuscheck.StateError, errors.New("disk full")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "alpha ERROR with its error", fmt.Sprintf(
		`%s?.textContent === "ERROR" && %s?.textContent === "disk full" && document.getElementById("agent-state").textContent === "ERROR"`,
		cell("plugins", "alpha", "state"), cell("plugins", "alpha", "error")))
	if same := step(t, ctx, "check the document", chromedp.Evaluate[bool](`window.sameDocument === true`)); !same {
		t.Error("the page reloaded to show the change")
	}

	// A level chosen in the selector reaches the log manager.
	sel := `#loggers tr[data-name="alpha"] select`
	step(t, ctx, "the level selector of alpha", chromedp.WaitVisible(sel))
	if label := step(t, ctx, "its label", chromedp.AttributeValue(sel, "aria-label")); label.Value != "Level of logger alpha" {
		t.Errorf("aria-label of the selector = %q, want \"Level of logger alpha\"", label.Value)
	}
	// Test agents log at debug: choose another level.
	step(t, ctx, "choose warning", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`(() => { const s = document.querySelector(%q); s.value = "warning"; s.dispatchEvent(new Event("change", {bubbles: true})); })()`, sel)))
	eventually(t, "alpha at warning over REST", func() bool {
		var list []logging.LoggerLevel
		s.json(http.MethodGet, "/log/list", &list)
		for _, l := range list {
			if l.Logger == "alpha" {
				return l.Level == logging.WarnLevel
			}
		}
		return false
	})
	waitFor(t, ctx, "the page confirming it", `document.getElementById("loggers-msg").textContent === "alpha: level warning"`)

	// Restart the program from the keyboard: focus its button, press Enter.
	// The page sends it to the supervisor, which counts it: the restart
	// count grows by one without a reload.
	if got := step(t, ctx, "where program actions go", chromedp.Evaluate[string](`panels.program_actions`)); got != supervisor.ProgramsPath {
		t.Errorf("panels.program_actions = %q, want %q", got, supervisor.ProgramsPath)
	}
	waitFor(t, ctx, "worker running", fmt.Sprintf(`%s?.textContent === "running"`, cell("programs", "worker", "state")))
	first, _ := sup.Program("worker")
	pidCell, restarts := cell("programs", "worker", "pid"), cell("programs", "worker", "restarts")
	waitFor(t, ctx, "worker's pid and restarts", fmt.Sprintf(`%s?.textContent === %q && %s?.textContent === %q`,
		pidCell, strconv.Itoa(first.Pid), restarts, strconv.Itoa(first.Restarts)))
	restart := `#programs tr[data-name="worker"] button[data-action="restart"]`
	if label := step(t, ctx, "restart button label", chromedp.AttributeValue(restart, "aria-label")); label.Value != "Restart worker" {
		t.Errorf("aria-label of the restart button = %q, want \"Restart worker\"", label.Value)
	}
	step(t, ctx, "focus restart", chromedp.Focus(restart))
	step(t, ctx, "press Enter", chromedp.KeyEvent("\r"))
	waitFor(t, ctx, "worker running with a new pid and one more restart", fmt.Sprintf(
		`%s?.textContent === "running" && !["–", %q].includes(%s?.textContent) && %s?.textContent === %q`,
		cell("programs", "worker", "state"), strconv.Itoa(first.Pid), pidCell, restarts, strconv.Itoa(first.Restarts+1)))
	waitFor(t, ctx, "the page confirming it", `document.getElementById("programs-msg").textContent === "worker: restart done"`)
	restarted, _ := sup.Program("worker")
	if restarted.Pid == first.Pid || restarted.Restarts != first.Restarts+1 {
		t.Fatalf("worker after the restart: pid %d restarts %d, want a new pid and restarts %d", restarted.Pid, restarted.Restarts, first.Restarts+1)
	}
	if same := step(t, ctx, "check the document", chromedp.Evaluate[bool](`window.sameDocument === true`)); !same {
		t.Error("the page reloaded to show the restart")
	}

	// A crash is restarted by the supervisor, and the count grows again.
	if err := syscall.Kill(restarted.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "one more restart and the exit shown", fmt.Sprintf(
		`%s?.textContent === %q && %s?.textContent === "SIGKILL" && %s?.textContent === "running"`,
		restarts, strconv.Itoa(restarted.Restarts+1), cell("programs", "worker", "exit"), cell("programs", "worker", "state")))

	// The status keys show what the status check published.
	waitFor(t, ctx, "alpha's status key published as ERROR", fmt.Sprintf(
		`%s?.textContent === "ERROR" && %s?.textContent !== "–"`, cell("keys", "plugin/alpha", "state"), cell("keys", "plugin/alpha", "published")))

	// Save what the operator sees, wide and at phone width.
	dir := t.ArtifactDir()
	shot := step(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, "dashboard.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "phone width", chromedp.EmulateViewport(390, 844))
	waitFor(t, ctx, "no horizontal scrolling at phone width",
		`document.documentElement.scrollWidth <= window.innerWidth`)
	shot = step(t, ctx, "phone screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, "dashboard-phone.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s; browser test took %v", dir, time.Since(started).Round(time.Millisecond))
}
