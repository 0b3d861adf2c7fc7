package statuscheck_test

import (
	"testing"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/health/statuscheck"
)

func TestAgentVersionReachesTheAgentStatus(t *testing.T) {
	sc := statuscheck.NewPlugin()
	agenttest.Start(t, agent.AllPlugins(sc), agent.Version("v9.8.7", "2026-11-30", "abc123"))
	st := sc.GetAgentStatus()
	if st.GetBuildVersion() != "v9.8.7" || st.GetBuildDate() != "2026-11-30" || st.GetCommitHash() != "abc123" {
		t.Errorf("build = %q %q %q, want the agent's version", st.GetBuildVersion(), st.GetBuildDate(), st.GetCommitHash())
	}
}
