package logging_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"testing/slogtest"

	"github.com/plinth-go/plinth/logging"
)

func TestSlogHandlerConformance(t *testing.T) {
	var buf *syncBuffer
	slogtest.Run(t,
		func(t *testing.T) slog.Handler {
			// logrus stamps every record with a time, so a zero Record.Time
			// becomes the time of writing instead of being left out.
			if strings.HasSuffix(t.Name(), "/zero-time") {
				t.Skip("logrus always writes a time; a zero slog time is replaced by the current time")
			}
			buf = new(syncBuffer)
			reg := logging.NewRegistry(logging.WithOutput(buf), logging.WithJSON())
			return reg.Get("slogtest").Slog().Handler()
		},
		func(t *testing.T) map[string]any {
			var flat map[string]any
			if err := json.Unmarshal([]byte(buf.String()), &flat); err != nil {
				t.Fatalf("output %q is not one JSON record: %v", buf.String(), err)
			}
			return nest(flat)
		})
}

// nest undoes the flattening of groups into "group.key" fields, which is
// how slogtest expects to see groups.
func nest(flat map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range flat {
		m := out
		parts := strings.Split(k, ".")
		for _, p := range parts[:len(parts)-1] {
			sub, ok := m[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[p] = sub
			}
			m = sub
		}
		m[parts[len(parts)-1]] = v
	}
	return out
}

func TestSlogFollowsLevelChangesAtRunTime(t *testing.T) {
	reg, buf := newTestRegistry()
	log := reg.Get("svc")
	slogger := reg.Slog("svc").With("conn", 7).WithGroup("req")
	child := log.Child("db").Slog() // obtained before any change

	slogger.Debug("hidden")
	child.Debug("hidden")
	if got := buf.String(); got != "" {
		t.Fatalf("debug written at info level: %q", got)
	}

	if err := reg.SetLevel("svc", logging.DebugLevel); err != nil {
		t.Fatal(err)
	}
	slogger.Debug("shown", "id", 3)
	child.Debug("shown too")
	want := "level=debug msg=shown conn=7 logger=svc req.id=3\n" +
		"level=debug msg=\"shown too\" logger=svc.db\n"
	if got := buf.String(); got != want {
		t.Errorf("output = %q, want %q", got, want)
	}

	reg.SetGlobalLevel(logging.ErrorLevel)
	buf.Reset()
	slogger.Warn("hidden again")
	slogger.Error("failed")
	if got, want := buf.String(), "level=error msg=failed conn=7 logger=svc\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

func TestSlogLevelsMapToLoggerLevels(t *testing.T) {
	tests := []struct {
		slog slog.Level
		want string
	}{
		{slog.LevelDebug - 4, "trace"},
		{slog.LevelDebug, "debug"},
		{slog.LevelInfo, "info"},
		{slog.LevelInfo + 2, "info"},
		{slog.LevelWarn, "warning"},
		{slog.LevelError, "error"},
		{slog.LevelError + 8, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.slog.String(), func(t *testing.T) {
			reg, buf := newTestRegistry(logging.WithDefaultLevel(logging.TraceLevel))
			reg.Slog("x").Log(t.Context(), tt.slog, "m")
			if got, want := buf.String(), "level="+tt.want+" msg=m logger=x\n"; got != want {
				t.Errorf("slog %v wrote %q, want %q", tt.slog, got, want)
			}
		})
	}
}
