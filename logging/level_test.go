package logging_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/logging"
)

func TestParseLevelAcceptsSeedNamesAndAliases(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want logging.Level
	}{
		{"trace", "trace", logging.TraceLevel},
		{"debug", "debug", logging.DebugLevel},
		{"info", "info", logging.InfoLevel},
		{"warning", "warning", logging.WarnLevel},
		{"warn alias", "warn", logging.WarnLevel},
		{"error", "error", logging.ErrorLevel},
		{"fatal", "fatal", logging.FatalLevel},
		{"panic", "panic", logging.PanicLevel},
		{"upper case", "DEBUG", logging.DebugLevel},
		{"mixed case alias", "Warn", logging.WarnLevel},
		{"surrounding space", " \tinfo\n", logging.InfoLevel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := logging.ParseLevel(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseLevel(%q) = %v, %v, want %v, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseLevelErrorNamesValueAndValidLevels(t *testing.T) {
	for _, in := range []string{"", "verbose", "warnings", "in fo", "5"} {
		_, err := logging.ParseLevel(in)
		if err == nil {
			t.Errorf("ParseLevel(%q) succeeded, want error", in)
			continue
		}
		msg := err.Error()
		for _, want := range []string{`"` + in + `"`, "trace", "debug", "info", "warning", "error", "fatal", "panic"} {
			if !strings.Contains(msg, want) {
				t.Errorf("ParseLevel(%q) error %q does not mention %q", in, msg, want)
			}
		}
	}
}

func TestLevelStringUsesCanonicalNames(t *testing.T) {
	tests := []struct {
		l    logging.Level
		want string
	}{
		{logging.PanicLevel, "panic"},
		{logging.FatalLevel, "fatal"},
		{logging.ErrorLevel, "error"},
		{logging.WarnLevel, "warning"},
		{logging.InfoLevel, "info"},
		{logging.DebugLevel, "debug"},
		{logging.TraceLevel, "trace"},
		{logging.Level(42), "Level(42)"},
	}
	for _, tt := range tests {
		if got := tt.l.String(); got != tt.want {
			t.Errorf("Level(%d).String() = %q, want %q", uint32(tt.l), got, tt.want)
		}
	}
}

func TestLevelMarshalsByNameInJSON(t *testing.T) {
	type config struct {
		Level logging.Level `json:"level"`
	}
	b, err := json.Marshal(config{Level: logging.WarnLevel})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"level":"warning"}`; got != want {
		t.Errorf("json.Marshal = %s, want %s", got, want)
	}
	var c config
	if err := json.Unmarshal([]byte(`{"level":"DEBUG"}`), &c); err != nil || c.Level != logging.DebugLevel {
		t.Errorf("json.Unmarshal(DEBUG) = %v, %v, want debug, nil", c.Level, err)
	}
	if err := json.Unmarshal([]byte(`{"level":"loud"}`), &c); err == nil {
		t.Error("json.Unmarshal(loud) succeeded, want error")
	}
	if _, err := json.Marshal(config{Level: logging.Level(7)}); err == nil {
		t.Error("json.Marshal(Level(7)) succeeded, want error")
	}
}

// FuzzParseLevel checks that every accepted input names a level, and that
// String and ParseLevel round-trip. Seeds are in testdata/fuzz/FuzzParseLevel.
func FuzzParseLevel(f *testing.F) {
	f.Add("info")     // canonical name
	f.Add("warn")     // alias
	f.Add(" TRACE\n") // case and space are ignored
	f.Add("warnin")   // near miss
	f.Fuzz(func(t *testing.T, s string) {
		l, err := logging.ParseLevel(s)
		if err != nil {
			if !strings.Contains(err.Error(), "unknown level") {
				t.Fatalf("ParseLevel(%q) error %q lacks reason", s, err)
			}
			return
		}
		if l > logging.TraceLevel {
			t.Fatalf("ParseLevel(%q) = %d, out of range", s, uint32(l))
		}
		name := strings.TrimSpace(s)
		if !strings.EqualFold(name, l.String()) && !(l == logging.WarnLevel && strings.EqualFold(name, "warn")) {
			t.Fatalf("ParseLevel(%q) = %v, but the input does not name it", s, l)
		}
		back, err := logging.ParseLevel(l.String())
		if err != nil || back != l {
			t.Fatalf("ParseLevel(%q) = %v, %v, want %v", l.String(), back, err, l)
		}
		text, err := l.MarshalText()
		if err != nil || string(text) != l.String() {
			t.Fatalf("%v.MarshalText() = %q, %v", l, text, err)
		}
	})
}
