package logmanager_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/logging/logmanager"
)

func TestSampleLogsConfIsValidAndApplies(t *testing.T) {
	path, err := filepath.Abs("logs.conf")
	if err != nil {
		t.Fatal(err)
	}
	ta := startTestAgent(t, agentSetup{env: map[string]string{"LOGS_CONFIG": path}})
	for name, want := range map[string]string{
		"example":         "debug",
		"example.child":   "info",
		"example.child.x": "info",
		"example.other":   "debug",
		"unlisted":        "info",
	} {
		if got := ta.levelOf(name); got != want {
			t.Errorf("level of %q = %s, want %s", name, got, want)
		}
	}
	if stats := ta.logs.HookStats(); len(stats) != 0 {
		t.Errorf("the sample starts hooks %v; they must be commented out", stats)
	}
}

func TestLevelsFromFileApplyToExistingAndLaterLoggers(t *testing.T) {
	a, ta := newTestAgent(t, agentSetup{conf: `
default-level: warning
loggers:
  - name: kafka
    level: debug
  - name: kafka.consumer
    level: error
`})
	early := ta.reg.Get("kafka")
	derived := early.WithField("topic", "t1")
	requireStart(t, a)

	tests := []struct {
		logger, want string
	}{
		{"kafka", "debug"},
		{"kafka.producer", "debug"},
		{"kafka.consumer", "error"},
		{"kafka.consumer.group", "error"},
		{"etcd", "warning"},
	}
	for _, tt := range tests {
		if got := ta.levelOf(tt.logger); got != tt.want {
			t.Errorf("level of %q = %s, want %s", tt.logger, got, tt.want)
		}
	}
	if derived.Level() != logging.DebugLevel {
		t.Errorf("logger derived before Init: level %s, want debug", derived.Level())
	}
}

func TestInitialLogLevelOverridesEveryLevelOfTheFile(t *testing.T) {
	ta := startTestAgent(t, agentSetup{
		conf: `
default-level: debug
loggers:
  - name: kafka
    level: trace
`,
		env: map[string]string{"INITIAL_LOGLVL": "warn"},
	})
	for _, name := range []string{"kafka", "kafka.consumer", "etcd", "logs"} {
		if got := ta.levelOf(name); got != "warning" {
			t.Errorf("level of %q = %s, want warning from INITIAL_LOGLVL", name, got)
		}
	}
	// A level set at run time still applies.
	if code, body := ta.call(t, "POST", "/log/kafka/debug"); code != 200 {
		t.Fatalf("POST: %d %s", code, body)
	}
	if got := ta.levelOf("kafka.consumer"); got != "debug" {
		t.Errorf("after POST, kafka.consumer = %s, want debug", got)
	}
}

func TestConfigInCodeWinsOverFileAndEnvironment(t *testing.T) {
	debug := logging.DebugLevel
	ta := startTestAgent(t, agentSetup{
		conf: "default-level: error\n",
		env:  map[string]string{"INITIAL_LOGLVL": "warning"},
		opts: []logmanager.Option{logmanager.UseConf(logmanager.Config{
			Loggers: []logmanager.LoggerConfig{{Name: "kafka", Level: debug}},
		})},
	})
	if got := ta.levelOf("kafka"); got != "debug" {
		t.Errorf("level of kafka = %s, want debug from UseConf", got)
	}
	if got := ta.levelOf("etcd"); got != "warning" {
		t.Errorf("level of etcd = %s, want warning (INITIAL_LOGLVL, applied by the agent)", got)
	}
}

func TestBadLogsConfNamesFileAndLine(t *testing.T) {
	tests := []struct {
		name, conf string
		want       string // regexp matched against the error
	}{
		{"unknown key", "default-level: info\nloggerz: []\n", `logs\.conf:2: unknown key "loggerz"`},
		{"bad default level", "default-level: loud\n", `logs\.conf:1: key "default-level": .*unknown level "loud"`},
		{"bad logger level", "loggers:\n  - name: a\n    level: info\n  - name: b\n    level: verbose\n", `logs\.conf:5: key "loggers\[1\]\.level": .*unknown level "verbose"`},
		{"bad hook level", "hooks:\n  logstash:\n    address: 127.0.0.1:1\n    levels: [error, oops]\n", `logs\.conf:4: key "hooks\.logstash\.levels": .*"oops"`},
		{"level as a list", "default-level: [info]\n", `logs\.conf:1: key "default-level"`},
		{"bad YAML", "default-level: info\nloggers: [\n", `logs\.conf:\d+: .*YAML`},
		{"unknown hook", "hooks:\n  graylog:\n    address: x:1\n", `logs\.conf:2: key "hooks\.graylog": unknown hook "graylog"`},
		{"logstash without address", "hooks:\n  logstash:\n    network: udp\n", `logs\.conf:2: key "hooks\.logstash": logstash needs an address`},
		{"bad network", "hooks:\n  fluentd:\n    network: udp\n", `logs\.conf:2: key "hooks\.fluentd": network "udp" not supported`},
		{"logger without name", "loggers:\n  - level: debug\n", `logs\.conf:2: key "loggers\[0\]\.name": a logger needs a name`},
		{"acks without fluentd", "hooks:\n  logstash:\n    address: 127.0.0.1:1\n    require-ack-response: true\n", `logs\.conf:4: key "hooks\.logstash\.require-ack-response": logstash has no acknowledgements; only fluentd has`},
		{"acks not a bool", "hooks:\n  fluentd:\n    require-ack-response: always\n", `logs\.conf:3: key "hooks\.fluentd\.require-ack-response": cannot parse "always" as bool`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := newTestAgent(t, agentSetup{conf: tt.conf})
			err := a.Start()
			if err == nil {
				_ = a.Stop()
				t.Fatal("Start succeeded, want an error")
			}
			if !regexp.MustCompile(tt.want).MatchString(err.Error()) {
				t.Errorf("error = %q, want match for %q", err, tt.want)
			}
			var cerr *config.Error
			if !errors.As(err, &cerr) || !strings.HasSuffix(cerr.File, "logs.conf") || cerr.Line == 0 {
				t.Errorf("error %v: errors.As *config.Error = %+v, want file logs.conf and a line", err, cerr)
			}
		})
	}
}

func TestRegisterHookRejectsBadNames(t *testing.T) {
	factory := func(logmanager.HookConfig) (logging.Hook, error) { return nil, nil }
	for _, name := range []string{"", "syslog", "fluent", "twice"} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			p := logmanager.NewPlugin(logmanager.WithHook("twice", factory))
			defer func() {
				if recover() == nil {
					t.Errorf("RegisterHook(%q) did not panic", name)
				}
			}()
			p.RegisterHook(name, factory)
		})
	}
}

func TestLevelChangesOverRESTWhileLoggingEndAtTheLastLevelSet(t *testing.T) {
	ta := startTestAgent(t, agentSetup{})
	const workers, changes, ticks = 4, 20, 200
	// Each worker's sequence ends on a different level, so a change applied
	// to the wrong logger shows.
	levels := []string{"debug", "info", "warning", "trace"}
	lastLevel := func(worker int) string { return levels[(worker+changes-1)%len(levels)] }

	// Derived before any change, as a plugin derives them at Init.
	derived := make([]logging.Logger, workers)
	slogs := make([]*slog.Logger, workers)
	for i := range workers {
		derived[i] = ta.reg.Get(fmt.Sprintf("worker%d", i)).WithField("i", i)
		slogs[i] = derived[i].Slog()
	}

	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			for range ticks {
				derived[i].Debug("tick")
				slogs[i].Debug("tick")
			}
		})
		wg.Go(func() {
			for j := range changes {
				lvl := levels[(i+j)%len(levels)]
				path := fmt.Sprintf("/log/worker%d/%s", i, lvl)
				code, body, err := ta.do(t.Context(), "POST", path)
				if want := fmt.Sprintf(`{"logger":"worker%d","level":"%s"}`, i, lvl); err != nil || code != 200 || body != want {
					t.Errorf("POST %s = %d %s, %v; want 200 %s", path, code, body, err, want)
					return
				}
				if code, body, err := ta.do(t.Context(), "GET", "/log/list"); err != nil || code != 200 {
					t.Errorf("GET /log/list = %d %s, %v; want 200", code, body, err)
					return
				}
			}
		})
	}
	wg.Wait()

	var list []logging.LoggerLevel
	if code, body := ta.call(t, "GET", "/log/list"); code != 200 || json.Unmarshal([]byte(body), &list) != nil {
		t.Fatalf("GET /log/list = %d %s", code, body)
	}
	listed := make(map[string]string)
	for _, row := range list {
		listed[row.Logger] = row.Level.String()
	}
	for i := range workers {
		name, want := fmt.Sprintf("worker%d", i), lastLevel(i)
		if got := ta.reg.Get(name).Level().String(); got != want {
			t.Errorf("%s level = %s, want %s, the last one set", name, got, want)
		}
		if got := derived[i].Level().String(); got != want {
			t.Errorf("%s derived with fields: level %s, want %s", name, got, want)
		}
		if got := listed[name]; got != want {
			t.Errorf("GET /log/list lists %s at %q, want %s", name, got, want)
		}
		// The derived and slog loggers write debug exactly when the last
		// level set lets them.
		derived[i].Debug("after")
		slogs[i].Debug("after from slog")
		written := strings.Contains(ta.out.String(), fmt.Sprintf("level=debug msg=after i=%d logger=%s\n", i, name))
		writtenSlog := strings.Contains(ta.out.String(), fmt.Sprintf("level=debug msg=\"after from slog\" i=%d logger=%s\n", i, name))
		wantWritten := want == "debug" || want == "trace"
		if written != wantWritten || writtenSlog != wantWritten {
			t.Errorf("%s at %s: debug written by the derived logger %v, by slog %v; want %v", name, want, written, writtenSlog, wantWritten)
		}
	}
}

func requireStart(t *testing.T, a interface {
	Start() error
	Stop() error
}) {
	t.Helper()
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Error(err)
		}
	})
}
