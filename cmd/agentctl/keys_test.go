package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/servicelabel"
)

func TestExpandKey(t *testing.T) {
	tests := []struct {
		name, label, key, want string
	}{
		{"relative", "vpp1", "check/status/v1/agent", "/vnf-agent/vpp1/check/status/v1/agent"},
		{"absolute", "vpp1", "/vnf-agent/vpp2/x", "/vnf-agent/vpp2/x"},
		{"root", "vpp1", "/", "/"},
		{"empty is the agent prefix", "edge", "", "/vnf-agent/edge/"},
		{"dots are kept", "vpp1", "../x", "/vnf-agent/vpp1/../x"},
		{"absolute key needs no valid label", "a/b", "/x", "/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expandKey(tt.label, tt.key)
			if err != nil || got != tt.want {
				t.Errorf("expandKey(%q, %q) = %q, %v; want %q", tt.label, tt.key, got, err, tt.want)
			}
		})
	}
	if _, err := expandKey("a/b", "x"); !errors.Is(err, servicelabel.ErrInvalidLabel) {
		t.Errorf("expandKey with label a/b = %v, want ErrInvalidLabel", err)
	}
}

// FuzzExpandKey checks expandKey against its definition: absolute keys are
// unchanged, relative keys get exactly the agent prefix in front, and a
// label that would break the prefix is a usage error. The seeds under
// testdata/fuzz/FuzzExpandKey are named after the case they cover: the
// status key, an empty key, "..", "//", non-UTF-8 bytes, a label with a
// space, an absolute key with an invalid label.
func FuzzExpandKey(f *testing.F) {
	f.Add("vpp1", "check/status/v1/agent")
	f.Add("vpp1", "/vnf-agent/vpp1/x")
	f.Add("", "x")
	f.Add("a/b", "x")
	f.Fuzz(func(t *testing.T, label, key string) {
		got, err := expandKey(label, key)
		if strings.HasPrefix(key, "/") {
			if err != nil || got != key {
				t.Fatalf("expandKey(%q, %q) = %q, %v; want the key unchanged", label, key, got, err)
			}
			return
		}
		if verr := servicelabel.ValidateLabel(label); verr != nil {
			var usage usageError
			if err == nil || !errors.As(err, &usage) {
				t.Fatalf("expandKey(%q, %q) = %q, %v; want a usage error", label, key, got, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("expandKey(%q, %q): %v", label, key, err)
		}
		if want := "/vnf-agent/" + label + "/" + key; got != want {
			t.Fatalf("expandKey(%q, %q) = %q, want %q", label, key, got, want)
		}
		rel, ok := strings.CutPrefix(got, servicelabel.AgentPrefix(label))
		if !ok || rel != key {
			t.Fatalf("expandKey(%q, %q) = %q does not round-trip", label, key, got)
		}
	})
}

// TestExitCodesAreStable pins the documented exit codes: scripts depend on
// them (docs/agentctl.md).
func TestExitCodesAreStable(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"ok", exitOK, 0},
		{"error", exitError, 1},
		{"usage", exitUsage, 2},
		{"unavailable", exitUnavailable, 4},
		{"status: ready", exitVerdictOK, 0},
		{"status: not ready", exitVerdictNotOK, 1},
		{"status: no verdict", exitVerdictUnknown, 2},
	} {
		if c.got != c.want {
			t.Errorf("exit code %s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if got := exitCode(errors.New("x")); got != exitError {
		t.Errorf("exitCode(plain error) = %d, want %d", got, exitError)
	}
}
