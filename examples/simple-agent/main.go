// Command simple-agent is a small agent with two plugins of its own: a
// greeter with a config file, and a hello plugin that depends on the greeter,
// on the HTTP server and on the service label, all filled in by the agent.
//
//	go run ./examples/simple-agent
//	curl 'localhost:9191/hello?name=operator'
//
// Flags: -http-port, -microservice-label, -greeter-config, -config-dir.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/servicelabel"
)

// Greeter is what the hello plugin needs; the agent fills it with the
// plugin that implements it.
type Greeter interface {
	Greet(name string) string
}

// GreeterPlugin greets people in the way its config file says.
type GreeterPlugin struct {
	infra.PluginDeps
	conf greeterConfig
}

// greeterConfig is the content of greeter.conf.
type greeterConfig struct {
	Greeting string `yaml:"greeting"` // default "Hello"
	Excited  bool   `yaml:"excited"`  // end with "!" instead of "."
}

// NewGreeter returns the greeter plugin, named "greeter": its config file is
// greeter.conf, or the file named by -greeter-config / GREETER_CONFIG.
func NewGreeter() *GreeterPlugin {
	p := &GreeterPlugin{conf: greeterConfig{Greeting: "Hello"}}
	p.SetName("greeter")
	return p
}

// Init loads the config file; a missing default file keeps the defaults.
func (p *GreeterPlugin) Init() error {
	found, err := p.Cfg.LoadValue(&p.conf)
	if err != nil {
		return err
	}
	if found {
		p.Log.Infof("config loaded from %s", p.Cfg.GetConfigName())
	} else {
		p.Log.Debug("no config file, using defaults")
	}
	return nil
}

// Greet implements Greeter.
func (p *GreeterPlugin) Greet(name string) string {
	end := "."
	if p.conf.Excited {
		end = "!"
	}
	return fmt.Sprintf("%s, %s%s", p.conf.Greeting, name, end)
}

// HelloPlugin serves GET /hello?name=... .
type HelloPlugin struct {
	Deps
}

// Deps are filled by the agent.
type Deps struct {
	infra.PluginDeps
	Greeter Greeter
	HTTP    rest.HTTPHandlers
	Label   servicelabel.ReaderAPI
}

// NewHello returns the hello plugin.
func NewHello() *HelloPlugin {
	p := &HelloPlugin{}
	p.SetName("hello")
	return p
}

// Init registers the handler; the server starts serving in its AfterInit.
func (p *HelloPlugin) Init() error {
	p.HTTP.RegisterHTTPHandler("/hello", http.HandlerFunc(p.serveHello), http.MethodGet)
	return nil
}

func (p *HelloPlugin) serveHello(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.URL.Query().Get("name"))
	if name == "" {
		name = "world"
	}
	p.Log.WithField("name", name).Debug("greeting")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "%s (from agent %s)\n", p.Greeter.Greet(name), p.Label.GetAgentLabel())
}

// newAgent wires the plugins. The providers of the interfaces that the hello
// plugin needs (greeter, HTTP server, service label) are listed too: the agent
// fills a nil field only from the plugins it has.
func newAgent(opts ...agent.Option) (*agent.Agent, *rest.Plugin, error) {
	httpServer := rest.NewPlugin()
	a, err := agent.New(append([]agent.Option{
		agent.AllPlugins(NewHello(), NewGreeter(), httpServer, servicelabel.NewPlugin()),
	}, opts...)...)
	return a, httpServer, err
}

func main() {
	a, _, err := newAgent()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := a.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
