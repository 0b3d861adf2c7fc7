package logmanager_test

import (
	"strings"
	"testing"

	"github.com/plinth-go/plinth/logging"
)

func TestListReturnsLoggersSortedByName(t *testing.T) {
	ta := startTestAgent(t, agentSetup{conf: "loggers:\n  - name: zeta\n    level: debug\n"})
	ta.reg.Get("zeta")
	ta.reg.Get("alpha.beta")
	ta.reg.Get("alpha")

	code, body := ta.call(t, "GET", "/log/list")
	if code != 200 {
		t.Fatalf("GET /log/list = %d %s", code, body)
	}
	// The agent's own loggers (the plugins') are listed too.
	want := `{"logger":"alpha","level":"info"},{"logger":"alpha.beta","level":"info"},{"logger":"http","level":"info"},` +
		`{"logger":"logs","level":"info"}`
	if !strings.HasPrefix(body, "[") || !strings.Contains(body, want) || !strings.HasSuffix(body, `{"logger":"zeta","level":"debug"}]`) {
		t.Errorf("GET /log/list = %s, want sorted rows containing %s and ending with zeta at debug", body, want)
	}
}

func TestSetLevelOverREST(t *testing.T) {
	ta := startTestAgent(t, agentSetup{})
	ta.reg.Get("etcd")
	tests := []struct {
		name, method, path string
		wantCode           int
		wantBody           string
	}{
		{"POST sets a level", "POST", "/log/etcd/debug", 200, `{"logger":"etcd","level":"debug"}`},
		{"PUT as cn-infra", "PUT", "/log/etcd/error", 200, `{"logger":"etcd","level":"error"}`},
		{"warn is warning", "POST", "/log/etcd/WARN", 200, `{"logger":"etcd","level":"warning"}`},
		{"trace is accepted", "POST", "/log/etcd/trace", 200, `{"logger":"etcd","level":"trace"}`},
		{"unknown logger", "POST", "/log/nosuch/debug", 404, `{"error":"unknown logger \"nosuch\" (GET /log/list lists them)"}`},
		{"bad level", "POST", "/log/etcd/loud", 400, `{"error":"logging: unknown level \"loud\" (valid: trace, debug, info, warning (or warn), error, fatal, panic)"}`},
		{"bad level for unknown logger", "PUT", "/log/nosuch/loud", 400, `{"error":"logging: unknown level \"loud\" (valid: trace, debug, info, warning (or warn), error, fatal, panic)"}`},
		{"control character in name", "POST", "/log/a%01b/debug", 400, `{"error":"logger name \"a\\x01b\" contains white space or control characters"}`},
		{"GET is not allowed", "GET", "/log/etcd/debug", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := ta.call(t, tt.method, tt.path)
			if code != tt.wantCode || (tt.wantBody != "" && body != tt.wantBody) {
				t.Errorf("%s %s = %d %s, want %d %s", tt.method, tt.path, code, body, tt.wantCode, tt.wantBody)
			}
		})
	}
}

func TestLevelSetOverRESTReachesDerivedAndLaterLoggers(t *testing.T) {
	ta := startTestAgent(t, agentSetup{})
	kafka := ta.reg.Get("kafka")
	withFields := kafka.WithFields(logging.Fields{"topic": "t1"}).WithField("partition", 3)
	child := kafka.Child("consumer")
	slogger := kafka.Slog().With("k", "v")

	if code, body := ta.call(t, "POST", "/log/kafka/debug"); code != 200 {
		t.Fatalf("POST = %d %s", code, body)
	}
	later := ta.reg.Get("kafka.producer")
	for name, l := range map[string]logging.Logger{"derived with fields": withFields, "child": child, "created later": later} {
		if !l.Enabled(logging.DebugLevel) {
			t.Errorf("%s logger: level %s, want debug", name, l.Level())
		}
	}
	slogger.Debug("via slog")
	withFields.Debug("via fields")
	out := ta.out.String()
	for _, want := range []string{`msg="via slog"`, `msg="via fields"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s after the change:\n%s", want, out)
		}
	}

	// A child given its own level keeps it when the parent changes.
	if code, body := ta.call(t, "POST", "/log/kafka.consumer/error"); code != 200 {
		t.Fatalf("POST = %d %s", code, body)
	}
	if code, body := ta.call(t, "POST", "/log/kafka/info"); code != 200 {
		t.Fatalf("POST = %d %s", code, body)
	}
	if child.Level() != logging.ErrorLevel || later.Level() != logging.InfoLevel {
		t.Errorf("after parent→info: child %s (want error, its own), kafka.producer %s (want info)", child.Level(), later.Level())
	}
}
