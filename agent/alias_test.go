package agent_test

import (
	"testing"

	"github.com/plinth-go/plinth/agent"
)

// TestAfterIsDone checks that cn-infra's After is Done under its old name:
// the same channel, open while the agent runs, closed once it stopped.
func TestAfterIsDone(t *testing.T) {
	a := newAgent(t, agent.AllPlugins(newPlug("p", &recorder{})))
	if a.After() != a.Done() {
		t.Fatal("After() and Done() are different channels")
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.After():
		t.Fatal("After() is closed while the agent runs")
	default:
	}
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	<-a.After() // a stopped agent has closed it; the test times out otherwise
}
