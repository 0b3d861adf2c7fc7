package logging_test

import (
	"testing"

	"github.com/plinth-go/plinth/logging"
)

// TestCnInfraNamesBehaveAsTheirPlinthNames checks the names kept for code
// ported from cn-infra against the names they stand for.
func TestCnInfraNamesBehaveAsTheirPlinthNames(t *testing.T) {
	for _, s := range []string{"trace", "debug", "info", "warn", "warning", "error", "fatal", "panic", "loud", ""} {
		var got logging.LogLevel
		got, gotErr := logging.ParseLogLevel(s)
		want, wantErr := logging.ParseLevel(s)
		if got != want || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("ParseLogLevel(%q) = %v, %v; ParseLevel = %v, %v", s, got, gotErr, want, wantErr)
		}
	}

	reg, _ := newTestRegistry()
	log := reg.Get("ported")
	if err := reg.SetLevel("ported", logging.DebugLevel); err != nil {
		t.Fatal(err)
	}
	if got, want := log.GetName(), log.Name(); got != want || got != "ported" {
		t.Errorf("GetName() = %q, Name() = %q, want %q", got, want, "ported")
	}
	if got, want := log.GetLevel(), log.Level(); got != want || got != logging.DebugLevel {
		t.Errorf("GetLevel() = %v, Level() = %v, want %v", got, want, logging.DebugLevel)
	}
}
