package rest_test

import (
	"flag"
	"fmt"
	"io"
	"net/http"

	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
)

// A plugin injects rest.HTTPHandlers and registers its handlers; the agent
// starts and stops the server. Port 0 picks a free port.
func Example() {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	src := config.NewSource(fs, func(string) string { return "" })
	p := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	p.SetupDeps(infra.Host{Logs: logging.NewRegistry(logging.WithOutput(io.Discard)), Config: src})
	p.RegisterFlags(fs)
	if err := fs.Parse(nil); err != nil {
		fmt.Println(err)
		return
	}
	if err := p.Init(); err != nil {
		fmt.Println(err)
		return
	}

	var handlers rest.HTTPHandlers = p
	handlers.RegisterHTTPHandler("/hello", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from the agent")
	}), http.MethodGet)

	if err := p.AfterInit(); err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	resp, err := http.Get(fmt.Sprintf("http://%s/hello", p.Addr()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.Status, ": ", string(body))
	// Output: 200 OK: hello from the agent
}
