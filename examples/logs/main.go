// Command logs shows the logging side of an agent.
//
// Without a logs.conf of yours it runs a scripted demo: per-logger levels
// from the logs.conf below, a level changed over REST, a hook registered in
// code that receives warnings and errors, and the tracer timing a repeated
// operation. It starts an agent, does all that, prints what happened and
// stops.
//
//	go run ./examples/logs
//	INITIAL_LOGLVL=debug go run ./examples/logs   # every logger at debug
//
// With a logs.conf of yours it shows what the file does: it starts an agent
// with it, prints the level of each logger as GET /log/list answers (the
// loggers the file names and the agent's own), writes one record at debug,
// info, warning and error from each logger the file names, and stops.
// Records go to standard output. Hooks registered in code under the names
// "custom" and "alerts" print what they receive as HOOK lines; syslog,
// logstash and fluentd hooks send to the addresses of the file. Name the
// file as for any agent: with the flag -logs-config or the environment
// variable LOGS_CONFIG (a relative path is under -config-dir or CONFIG_DIR),
// or put it as logs.conf in a directory named by -config-dir or CONFIG_DIR.
// INITIAL_LOGLVL overrides its levels. docs/logging.md describes the file.
//
//	go run ./examples/logs -logs-config ./my-logs.conf
//	LOGS_CONFIG=$PWD/logging/logmanager/logs.conf go run ./examples/logs
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra/config"
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
	err := run(os.Stdout, os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// example is an agent with an HTTP server on a free loopback port and the
// log manager, logging to one writer without timestamps.
type example struct {
	agent *agent.Agent
	reg   *logging.Registry
	logs  *logmanager.Plugin
	http  *rest.Plugin
}

// newExample builds the agent with the command line args and the
// environment getenv. Each hook of hooks is registered under its name.
func newExample(out io.Writer, args []string, getenv func(string) string, hooks map[string]logmanager.HookFactory) (*example, error) {
	ex := &example{
		reg:  logging.NewRegistry(logging.WithOutput(out), logging.WithoutTimestamps()),
		http: rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"})),
	}
	var opts []logmanager.Option
	for name, f := range hooks {
		opts = append(opts, logmanager.WithHook(name, f))
	}
	ex.logs = logmanager.NewPlugin(opts...)
	var err error
	ex.agent, err = agent.New(
		agent.AllPlugins(ex.http, ex.logs),
		agent.Logs(ex.reg),
		agent.Args(args...),
		agent.Getenv(getenv),
		agent.QuitSignals(),
	)
	return ex, err
}

// run shows what the logs.conf that args or getenv name does, or runs the
// demo when they name none. It writes every record, without timestamps, to
// out, and the lines of the hooks registered in code.
func run(out io.Writer, args []string, getenv func(string) string) error {
	out = &lockedWriter{w: out} // the loggers and the hooks write concurrently
	hooks := map[string]logmanager.HookFactory{
		"custom": newPrintHook("HOOK custom", func(line string) { fmt.Fprintln(out, line) }),
		"alerts": newPrintHook("HOOK alerts", func(line string) { fmt.Fprintln(out, line) }),
	}
	ex, err := newExample(out, args, getenv, hooks)
	if err != nil {
		return err
	}
	if file, ok := namedConf(ex.logs.Cfg, ex.logs.String()); ok {
		return ex.showFile(out, file)
	}
	// The agent above never started: there is nothing to stop.
	return runDemo(out, getenv)
}

// namedConf returns the config file that the user named for the plugin: with
// its flag or environment variable, or as the default file of a config dir
// named by -config-dir or CONFIG_DIR. The default file of the working
// directory does not count, so that the demo runs from any directory.
func namedConf(cfg config.PluginConfig, plugin string) (string, bool) {
	if _, ok := cfg.Lookup(config.FlagName(plugin), config.EnvVar(plugin)); ok {
		return cfg.GetConfigName(), true
	}
	if _, ok := cfg.Lookup(config.DirFlag, config.DirEnv); ok {
		if file := cfg.GetConfigName(); file != "" {
			return file, true
		}
	}
	return "", false
}

// showFile starts the agent with a user's logs.conf, lists the levels, writes
// a record at each level from each logger the file names and stops; the stop
// lets the hooks send what they queued.
func (ex *example) showFile(out io.Writer, file string) error {
	names := loggerNames(file)
	if err := ex.agent.Start(); err != nil {
		return err
	}
	for _, name := range names {
		ex.reg.Get(name) // the file sets the level of a logger when it is created
	}
	list, err := getLevels("http://" + ex.http.Addr().String() + "/log/list")
	if err != nil {
		return errors.Join(err, ex.agent.Stop())
	}
	fmt.Fprintf(out, "levels with %s (GET /log/list):\n", file)
	for _, l := range list {
		fmt.Fprintf(out, "  %s %s\n", l.Logger, l.Level)
	}
	for _, name := range names {
		l := ex.reg.Get(name)
		l.Debug("a record at debug")
		l.Info("a record at info")
		l.Warn("a record at warning")
		l.Error("a record at error")
	}
	return ex.agent.Stop()
}

// loggerNames returns the names under loggers: in a logs.conf, in order. It
// returns none for a file it cannot read: the log manager reads the file
// strictly when the agent starts, and reports every problem with file, line
// and key.
func loggerNames(file string) []string {
	data, err := config.ReadFile(file, 0)
	if err != nil {
		return nil
	}
	var c struct {
		Loggers []struct {
			Name string `yaml:"name"`
		} `yaml:"loggers"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil
	}
	var names []string
	for _, l := range c.Loggers {
		if l.Name != "" && !slices.Contains(names, l.Name) {
			names = append(names, l.Name)
		}
	}
	return names
}

// getLevels fetches GET /log/list.
func getLevels(url string) ([]struct{ Logger, Level string }, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var list []struct{ Logger, Level string }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return list, nil
}

// runDemo runs the scripted demo with the logs.conf above.
func runDemo(out io.Writer, getenv func(string) string) error {
	dir, err := os.MkdirTemp("", "plinth-logs-example")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "logs.conf"), []byte(logsConf), 0o644); err != nil {
		return err
	}

	alerts := make(chan string, 16)
	hooks := map[string]logmanager.HookFactory{
		"alerts": newPrintHook("ALERT", func(line string) { alerts <- line }),
	}
	ex, err := newExample(out, []string{"-config-dir", dir}, getenv, hooks)
	if err != nil {
		return err
	}
	a, reg, httpServer := ex.agent, ex.reg, ex.http
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

// newPrintHook returns the factory of a hook that hands send one line per
// record, starting with prefix. A real one would page someone; the plugin
// runs it behind a queue, so a slow pager never slows logging down.
func newPrintHook(prefix string, send func(line string)) logmanager.HookFactory {
	return func(cfg logmanager.HookConfig) (logging.Hook, error) {
		return logging.HookFunc(func(r *logging.Record) error {
			var fields []string
			for k, v := range r.Fields {
				fields = append(fields, fmt.Sprintf("%s=%v", k, v))
			}
			slices.Sort(fields)
			line := fmt.Sprintf("%s [%s] %s %s: %s", prefix, cfg.Tag, r.Level, r.Logger, r.Message)
			if len(fields) > 0 {
				line += " " + strings.Join(fields, " ")
			}
			send(line)
			return nil
		}), nil
	}
}

// lockedWriter serializes the writes of the loggers and the hooks.
type lockedWriter struct {
	mu sync.Mutex // guards w
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
