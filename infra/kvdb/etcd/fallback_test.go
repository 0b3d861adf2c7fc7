package etcd_test

import (
	"slices"
	"testing"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
)

func TestFallbackEndpointsApplyOnlyWhenNoneAreConfigured(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		configured []string
	}{
		{"nothing configured", nil, nil},
		{"endpoints from the environment", map[string]string{"ETCD_ENDPOINTS": "127.0.0.1:1,127.0.0.1:2"}, []string{"127.0.0.1:1", "127.0.0.1:2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := etcd.NewPlugin(etcd.WithFallbackEndpoints(func() []string { return []string{"127.0.0.1:3"} }))
			a := agenttest.New(t, agent.AllPlugins(p), agenttest.Env(tt.env), agent.Args("-config-dir", t.TempDir()))
			got, err := p.ConfiguredEndpoints()
			if err != nil || !slices.Equal(got, tt.configured) {
				t.Fatalf("ConfiguredEndpoints() = %v, %v; want %v", got, err, tt.configured)
			}
			agenttest.RequireStart(t, a)
			if p.Disabled() {
				t.Error("Disabled() = true, want the fallback endpoints used")
			}
		})
	}
}
