package dashboard_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/plinth-go/plinth/dashboard"
	"github.com/plinth-go/plinth/infra/rest"
)

// TestBrowserFollowsAProgramLogAndReloadsTheSupervisor: from the programs
// panel, the operator opens a program's log, sees its last lines and the
// lines written afterwards, switches to standard error, closes the view
// (which ends its stream at the agent), and reloads the supervisor, seeing
// what changed or why nothing did. The supervisor is contractSupervisor,
// which serves the endpoints as the supervisor's REST API specifies them.
func TestBrowserFollowsAProgramLogAndReloadsTheSupervisor(t *testing.T) {
	exe := requireChromium(t)
	sup := newContractSupervisor()
	s := startServer(t, rest.Config{}, sup, dashboard.NewPlugin())
	ctx := startBrowser(t, exe)
	open(t, ctx, s.base+"/ui/", "", "")

	logButton := func(name string) string {
		return fmt.Sprintf(`#programs tr[data-name=%q] button[data-action="log"]`, name)
	}
	lines := `document.getElementById("log-lines").textContent`
	waitFor(t, ctx, "vpp's log button", fmt.Sprintf(`document.querySelector(%q) !== null`, logButton("vpp")))
	if label := step(t, ctx, "its label", chromedp.AttributeValue(logButton("vpp"), "aria-label")); label.Value != "Log of vpp" {
		t.Errorf("aria-label of the log button = %q, want \"Log of vpp\"", label.Value)
	}
	step(t, ctx, "mark the document", chromedp.Evaluate[chromedp.Void](`window.sameDocument = true`))

	// The last lines, then a line written after the view opened, as text.
	step(t, ctx, "open vpp's log", chromedp.Click(logButton("vpp")))
	waitFor(t, ctx, "the existing lines", fmt.Sprintf(`!document.getElementById("log-view").hidden &&
		document.getElementById("log-name").textContent === "vpp" && %s === "out 1\nout 2\nout 3\n"`, lines))
	eventually(t, "the page to follow vpp's stdout", func() bool { return sup.following("vpp", "stdout") == 1 })
	sup.write("vpp", "stdout", "out 4 <b>not markup</b>")
	waitFor(t, ctx, "the new line", fmt.Sprintf(`%s === "out 1\nout 2\nout 3\nout 4 <b>not markup</b>\n" &&
		document.querySelector("#log-lines b") === null && document.getElementById("log-state").textContent === "following"`, lines))

	// The other stream: the page follows it instead.
	step(t, ctx, "choose stderr", chromedp.Click("#log-stream-stderr"))
	waitFor(t, ctx, "the lines of stderr", lines+` === "err 1\n"`)
	eventually(t, "the page to follow stderr only", func() bool {
		return sup.following("vpp", "stderr") == 1 && sup.following("vpp", "stdout") == 0
	})
	sup.write("vpp", "stderr", "err 2")
	waitFor(t, ctx, "the new line of stderr", lines+` === "err 1\nerr 2\n"`)
	screenshot(t, ctx, "dashboard-log.png")

	// Closing the view closes its EventSource: the agent sees the client
	// leave. The focus goes back to the button that opened it.
	step(t, ctx, "close the log", chromedp.Click("#log-close"))
	waitFor(t, ctx, "the view closed", fmt.Sprintf(`document.getElementById("log-view").hidden &&
		document.activeElement === document.querySelector(%q)`, logButton("vpp")))
	eventually(t, "the stream to end at the agent", func() bool { return sup.following("vpp", "stderr") == 0 })

	// A program without a log file: the view says why.
	step(t, ctx, "open quiet's log", chromedp.Click(logButton("quiet")))
	waitFor(t, ctx, "why there is no log", `document.getElementById("log-msg").textContent ===
		'quiet (stdout): supervisor: program "quiet" has no log file (set its logfile-path)' &&
		document.getElementById("log-msg").classList.contains("error") && document.getElementById("log-state").textContent === "stopped"`)
	step(t, ctx, "close it", chromedp.Click("#log-close"))

	// Reload: the four lists.
	step(t, ctx, "reload", chromedp.Click("#reload"))
	waitFor(t, ctx, "the reload's result", `!document.getElementById("reload-result").hidden &&
		document.getElementById("reload-added").textContent === "web" &&
		document.getElementById("reload-removed").textContent === "–" &&
		document.getElementById("reload-changed").textContent === "api, vpp" &&
		document.getElementById("reload-unchanged").textContent === "quiet" &&
		document.getElementById("reload-msg").textContent === "supervisor.conf reloaded: 1 added, 0 removed, 2 changed, 1 unchanged"`)
	reloads := sup.reloadsReceived()
	if len(reloads) != 1 || reloads[0].Get("Sec-Fetch-Site") != "same-origin" || reloads[0].Get("Origin") != s.base {
		t.Errorf("reloads received: %v, want one POST from the page's own origin", reloads)
	}

	// A file with an error: the supervisor's message, file and line.
	sup.setReload(http.StatusBadRequest, `{"error":"supervisor.conf:12: programs[1]: unknown key \"restart\""}`)
	step(t, ctx, "reload again", chromedp.Click("#reload"))
	waitFor(t, ctx, "the error", `document.getElementById("reload-result").hidden &&
		document.getElementById("reload-msg").textContent === 'Reload refused, nothing changed: supervisor.conf:12: programs[1]: unknown key "restart"' &&
		document.getElementById("reload-msg").classList.contains("error") && !document.getElementById("reload").disabled`)
	if same := step(t, ctx, "check the document", chromedp.Evaluate[bool](`window.sameDocument === true`)); !same {
		t.Error("the page reloaded")
	}
}
