package porting_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/servicelabel"
)

// Greeter is a plugin: a name, Init and Close, and its dependencies as
// exported fields of its Deps, which the agent fills.
type Greeter struct {
	Deps
	greeting string
}

type Deps struct {
	infra.PluginDeps                        // name, Log, Cfg; Close does nothing
	HTTP             rest.HTTPHandlers      // filled with the agent's HTTP server
	Label            servicelabel.ReaderAPI // filled with the service label plugin
}

// GreeterConfig is read from greeter.conf (flag -greeter-config, env
// GREETER_CONFIG), strictly: an unknown key is an error.
type GreeterConfig struct {
	Greeting string `yaml:"greeting"`
}

func NewGreeter() *Greeter {
	g := &Greeter{}
	g.SetName("greeter")
	return g
}

func (g *Greeter) Init() error {
	cfg := GreeterConfig{Greeting: "hello"}
	if _, err := g.Cfg.LoadValue(&cfg); err != nil {
		return err
	}
	g.greeting = cfg.Greeting
	g.HTTP.RegisterHTTPHandler("/greet", http.HandlerFunc(g.serve), http.MethodGet)
	return nil
}

func (g *Greeter) serve(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprintln(w, g.greeting, "from", g.Label.GetAgentLabel())
}

func run() error {
	a, err := agent.New(agent.AllPlugins(rest.NewPlugin(), servicelabel.NewPlugin(), NewGreeter()))
	if err != nil {
		return err // wiring errors name the field at fault
	}
	return a.Run() // start, wait for SIGINT or SIGTERM, stop
}

func Example_agent() {
	// The providers of the Deps must be in the agent: without the HTTP
	// server, New fails and names the field.
	_, err := agent.New(append(quiet(), agent.AllPlugins(servicelabel.NewPlugin(), NewGreeter()))...)
	var ie *agent.InjectionError
	fmt.Println(errors.As(err, &ie), ie.Field)

	srv := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	a := newAgent(agent.AllPlugins(srv, servicelabel.NewPlugin(), NewGreeter()))
	if err := a.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer a.Stop()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + srv.Addr().String() + "/greet")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	// Output:
	// true greeter.Deps.HTTP
	// hello from vpp1
}

// run is what main calls; it is compiled here, not run.
var _ = run
