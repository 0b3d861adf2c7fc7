// Command logs shows the logging side of an agent: per-logger levels from a
// logs.conf, a level changed over REST, a hook registered in code that
// receives warnings and errors, and the tracer timing a repeated operation.
// It starts an agent, does all that, prints what happened and stops.
//
//	go run ./examples/logs
//	INITIAL_LOGLVL=debug go run ./examples/logs   # every logger at debug
package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/logging/logmanager"
	"github.com/plinth-go/plinth/logging/measure"
)

// logsConf sets levels and turns on the "alerts" hook registered below.
const logsConf = `default-level: info
loggers:
  - name: billing
    level: warning
  # The agent's own loggers: quiet, to keep the output short.
  - name: agent
    level: warning
  - name: http
    level: warning
hooks:
  alerts:
    levels: [error, warning]
`

func main() {
	if err := run(os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run writes every record, without timestamps, to out, and the lines of the
// alerts hook prefixed with "ALERT".
func run(out io.Writer, getenv func(string) string) error {
	dir, err := os.MkdirTemp("", "plinth-logs-example")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "logs.conf"), []byte(logsConf), 0o644); err != nil {
		return err
	}

	reg := logging.NewRegistry(logging.WithOutput(out), logging.WithoutTimestamps())
	alerts := make(chan string, 16)
	logs := logmanager.NewPlugin(logmanager.WithHook("alerts", newAlertHook(alerts)))
	httpServer := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	a, err := agent.New(
		agent.AllPlugins(httpServer, logs),
		agent.Logs(reg),
		agent.Args("-config-dir", dir),
		agent.Getenv(getenv),
		agent.QuitSignals(),
	)
	if err != nil {
		return err
	}
	if err := a.Start(); err != nil {
		return err
	}
	defer a.Stop()

	// 1. Levels from logs.conf: billing at warning, its children follow.
	billing := reg.Get("billing")
	invoice := billing.Child("invoice")
	invoice.Info("not written: billing.invoice follows billing (warning)")
	invoice.WithField("id", 7).Warn("invoice overdue")
	fmt.Fprintln(out, <-alerts)

	// 2. A level changed over REST, as an operator would with
	//    curl -X POST localhost:9191/log/billing/debug
	url := "http://" + httpServer.Addr().String() + "/log/billing/debug"
	resp, err := http.Post(url, "", nil)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Fprintf(out, "POST /log/billing/debug: %d %s", resp.StatusCode, body)
	invoice.Debug("written now: the change reached the child")

	// 3. The tracer times a repeated operation and logs each timing at debug.
	tracer := measure.NewTracer("charge", billing)
	for i := range 3 {
		start := time.Now()
		if err := charge(i); err != nil {
			billing.WithError(err).Error("charge failed")
			fmt.Fprintln(out, <-alerts)
		}
		tracer.LogTime("card", start)
	}
	for _, s := range tracer.Get().Stats {
		fmt.Fprintf(out, "tracer: %s measured %d times\n", s.Entity, s.Count)
	}
	return nil
}

func charge(i int) error {
	if i == 1 {
		return errors.New("card declined")
	}
	return nil
}

// newAlertHook returns the factory of a hook that sends one line per record
// to alerts. A real one would page someone; the plugin runs it behind a
// queue, so a slow pager never slows logging down.
func newAlertHook(alerts chan<- string) logmanager.HookFactory {
	return func(cfg logmanager.HookConfig) (logging.Hook, error) {
		return logging.HookFunc(func(r *logging.Record) error {
			var fields []string
			for k, v := range r.Fields {
				fields = append(fields, fmt.Sprintf("%s=%v", k, v))
			}
			slices.Sort(fields)
			alerts <- fmt.Sprintf("ALERT [%s] %s %s: %s %s", cfg.Tag, r.Level, r.Logger, r.Message, strings.Join(fields, " "))
			return nil
		}), nil
	}
}
