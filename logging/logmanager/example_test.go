package logmanager_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/logging/logmanager"
)

// An agent with the log manager serves the log REST API on its HTTP server;
// a hook registered in code is turned on by its name in logs.conf (here set
// in code with UseConf).
func Example() {
	reg := logging.NewRegistry(logging.WithOutput(io.Discard))
	audit := make(chan string, 10)
	logs := logmanager.NewPlugin(
		logmanager.WithHook("audit", func(cfg logmanager.HookConfig) (logging.Hook, error) {
			return logging.HookFunc(func(r *logging.Record) error {
				audit <- fmt.Sprintf("%s %s %s: %s", cfg.Tag, r.Level, r.Logger, r.Message)
				return nil
			}), nil
		}),
		logmanager.UseConf(logmanager.Config{
			Hooks: map[string]logmanager.HookConfig{"audit": {Tag: "billing-agent"}},
		}),
	)
	httpServer := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	a, err := agent.New(
		agent.AllPlugins(httpServer, logs),
		agent.Logs(reg), agent.Args(), agent.QuitSignals(),
		agent.Getenv(func(string) string { return "" }),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := a.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer a.Stop()
	base := "http://" + httpServer.Addr().String()

	billing := reg.Get("billing")
	billing.Debug("not written: the level is info")

	resp, err := http.Post(base+"/log/billing/debug", "", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.StatusCode, " ", string(body))
	fmt.Println("billing.invoice is at", reg.Get("billing.invoice").Level())

	resp, err = http.Post(base+"/log/nosuch/debug", "", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.StatusCode, " ", string(body))

	billing.Error("card declined") // the hook's default levels: panic, fatal, error
	fmt.Println(<-audit)

	resp, err = http.Get(base + "/log/list")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Fprintln(os.Stdout, strings.Contains(string(body), `{"logger":"billing","level":"debug"}`))
	// Output:
	// 200 {"logger":"billing","level":"debug"}
	// billing.invoice is at debug
	// 404 {"error":"unknown logger \"nosuch\" (GET /log/list lists them)"}
	// billing-agent error billing: card declined
	// true
}
