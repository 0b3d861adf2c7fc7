package dashboard_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/logging/logmanager"
)

// TestPageOfAnotherSiteCannotChangeTheAgent: a page of another site, open
// in the operator's browser on the agent's machine, posts to the agent's
// log-level endpoint. The browser sends it (no-cors), the agent refuses it,
// and the level stays. The same request from the agent's own origin works.
func TestPageOfAnotherSiteCannotChangeTheAgent(t *testing.T) {
	exe := requireChromium(t)
	s := startServer(t, rest.Config{}, logmanager.NewPlugin(), newReporter("alpha"))
	levelOf := func(name string) logging.Level {
		var list []logging.LoggerLevel
		s.json(http.MethodGet, "/log/list", &list)
		for _, l := range list {
			if l.Logger == name {
				return l.Level
			}
		}
		t.Fatalf("logger %s not listed", name)
		return 0
	}
	before := levelOf("alpha")
	target := logging.ErrorLevel
	if before == target {
		target = logging.WarnLevel
	}

	// The other site: "localhost" is another site than "127.0.0.1", where
	// the agent listens, whatever the ports.
	_, agentPort, _ := net.SplitHostPort(s.http.Addr().String())
	page := fmt.Sprintf(`<!doctype html><title>other site</title><script>
fetch("http://127.0.0.1:%s/log/alpha/%s", {method: "POST", mode: "no-cors"})
  .then(() => { document.title = "sent"; }, () => { document.title = "sent"; });
</script>`, agentPort, target)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, page)
	}), ReadHeaderTimeout: 10 * time.Second}
	go other.Serve(ln)
	t.Cleanup(func() { other.Close() })
	_, otherPort, _ := net.SplitHostPort(ln.Addr().String())

	ctx := startBrowser(t, exe)
	step(t, ctx, "open the other site's page", chromedp.Navigate("http://localhost:"+otherPort+"/"))
	waitFor(t, ctx, "the page to send its request", `document.title === "sent"`)
	// The refused request has been answered; give a wrongly accepted one
	// time to show, then check nothing changed.
	time.Sleep(500 * time.Millisecond)
	if got := levelOf("alpha"); got != before {
		t.Fatalf("a page of another site set alpha to %v (was %v)", got, before)
	}

	// The agent's own page may: same origin.
	step(t, ctx, "open the agent's page", chromedp.Navigate(s.base+"/ui/"))
	step(t, ctx, "post from the agent's own origin", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`fetch("/log/alpha/%s", {method: "POST"}).then(r => { document.title = "status " + r.status; })`, target)))
	waitFor(t, ctx, "the agent to accept it", `document.title === "status 200"`)
	if got := levelOf("alpha"); got != target {
		t.Errorf("alpha at %v after a same-origin POST, want %v", got, target)
	}
}
