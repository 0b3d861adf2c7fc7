package servicelabel_test

import (
	"flag"
	"fmt"
	"io"
	"testing"

	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/servicelabel"
)

// Code ported from cn-infra keeps its package-level prefix helpers.
func ExampleGetDifferentAgentPrefix() {
	fmt.Println(servicelabel.GetAllAgentsPrefix())
	fmt.Println(servicelabel.GetDifferentAgentPrefix("vpp2") + "check/status/v1/agent")
	// Output:
	// /vnf-agent/
	// /vnf-agent/vpp2/check/status/v1/agent
}

// TestCnInfraNamesBehaveAsTheirPlinthNames checks the names kept for code
// ported from cn-infra against the names they stand for, and against the
// plugin's methods of the same names.
func TestCnInfraNamesBehaveAsTheirPlinthNames(t *testing.T) {
	env := map[string]string{servicelabel.MicroserviceLabelEnvVar: "edge-3"}
	src := config.NewSource(flag.NewFlagSet("agent", flag.ContinueOnError), func(k string) string { return env[k] })
	p := servicelabel.NewPlugin()
	p.SetupDeps(infra.Host{Logs: logging.NewRegistry(logging.WithOutput(io.Discard)), Config: src})
	if err := p.Init(); err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	if servicelabel.MicroserviceLabelEnvVar != servicelabel.LabelEnv {
		t.Errorf("MicroserviceLabelEnvVar = %q, want LabelEnv %q", servicelabel.MicroserviceLabelEnvVar, servicelabel.LabelEnv)
	}
	if got := p.GetAgentLabel(); got != "edge-3" {
		t.Errorf("GetAgentLabel() = %q with %s=edge-3, want %q", got, servicelabel.MicroserviceLabelEnvVar, "edge-3")
	}
	if got := servicelabel.GetAllAgentsPrefix(); got != servicelabel.AllAgentsPrefix || got != p.GetAllAgentsPrefix() {
		t.Errorf("GetAllAgentsPrefix() = %q, want %q", got, servicelabel.AllAgentsPrefix)
	}
	for _, label := range []string{"vpp1", "edge-3", "other"} {
		want := servicelabel.AgentPrefix(label)
		if got := servicelabel.GetDifferentAgentPrefix(label); got != want || got != p.GetDifferentAgentPrefix(label) {
			t.Errorf("GetDifferentAgentPrefix(%q) = %q, want %q", label, got, want)
		}
	}
	if got := servicelabel.GetDifferentAgentPrefix(p.GetAgentLabel()); got != p.GetAgentPrefix() {
		t.Errorf("GetDifferentAgentPrefix(own label) = %q, want GetAgentPrefix() %q", got, p.GetAgentPrefix())
	}
}
