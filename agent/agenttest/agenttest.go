package agenttest

import (
	"io"
	"os"
	"testing"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/logging"
)

// LogEnv names the environment variable that, when set to any value, makes
// test agents log to stderr instead of discarding their logs.
const LogEnv = "PLINTH_TEST_LOG"

// Env returns a Getenv option that reads the given map: tests state the
// environment they depend on instead of inheriting the machine's.
func Env(vars map[string]string) agent.Option {
	return agent.Getenv(func(key string) string { return vars[key] })
}

// New returns an agent built from opts after test defaults: no command-line
// arguments, no quit signals, an empty environment and discarded logs (see
// LogEnv). Later options override the defaults. A wiring error fails the test.
func New(t testing.TB, opts ...agent.Option) *agent.Agent {
	t.Helper()
	out := io.Discard
	if os.Getenv(LogEnv) != "" {
		out = os.Stderr
	}
	defaults := []agent.Option{
		agent.Args(),
		agent.QuitSignals(),
		Env(nil),
		agent.Logs(logging.NewRegistry(logging.WithOutput(out), logging.WithDefaultLevel(logging.DebugLevel))),
	}
	a, err := agent.New(append(defaults, opts...)...)
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	return a
}

// RequireStart starts a and stops it when the test ends; a failed start or
// stop fails the test.
func RequireStart(t testing.TB, a *agent.Agent) {
	t.Helper()
	if err := a.Start(); err != nil {
		t.Fatalf("agent Start: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Errorf("agent Stop: %v", err)
		}
	})
}

// Start is New followed by RequireStart.
func Start(t testing.TB, opts ...agent.Option) *agent.Agent {
	t.Helper()
	a := New(t, opts...)
	RequireStart(t, a)
	return a
}
