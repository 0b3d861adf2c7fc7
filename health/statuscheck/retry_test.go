package statuscheck_test

import (
	"testing"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/internal/testwait"
	"github.com/plinth-go/plinth/servicelabel"
)

// storePlugin makes a flakyStore a plugin of the agent.
type storePlugin struct {
	*flakyStore
}

func (storePlugin) Init() error    { return nil }
func (storePlugin) Close() error   { return nil }
func (storePlugin) String() string { return "flaky" }

// awaitStore waits until the store holds want under key and returns how
// many writes of key the store counted then.
func awaitStore(t *testing.T, s *flakyStore, key, want string) int {
	t.Helper()
	var writes int
	testwait.For(t, 20*time.Second, key+" = "+want, func() (bool, string) {
		got, n := s.value(key)
		writes = n
		return got == want, key + " = " + got
	})
	return writes
}

func TestPublishRetriesWhileTheStoreFailsAndWritesOnlyWhatDiffers(t *testing.T) {
	store := newFlakyStore()
	clock := newClock(100)
	sc := statuscheck.NewPlugin(statuscheck.WithClock(clock.Now))
	agenttest.Start(t, agent.AllPlugins(storePlugin{store}, servicelabel.NewPlugin(), sc))
	const agentKey, appKey, otherKey = "/vnf-agent/vpp1/check/status/v1/agent",
		"/vnf-agent/vpp1/check/status/v1/plugin/app", "/vnf-agent/vpp1/check/status/v1/plugin/other"

	_ = sc.ReportStateChange("other", statuscheck.StateOK, nil)
	awaitStore(t, store, otherKey, `{"state":1,"last_change":100,"last_update":100}`)
	awaitStore(t, store, agentKey, string(sc.Snapshot().Agent.AppendJSON(nil)))

	store.setDown(true)
	for i := range 20 {
		clock.Set(int64(200 + i))
		_ = sc.ReportStateChange("app", statuscheck.PluginState(1+i%2), nil)
	}
	// Let the writer fail at least once, then bring the store back.
	deadline := time.Now().Add(20 * time.Second)
	for sc.PublishStats().Failures == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no failure counted while the store is down")
		}
		time.Sleep(5 * time.Millisecond)
	}
	store.setDown(false)

	if w := awaitStore(t, store, appKey, `{"state":2,"last_change":219,"last_update":219}`); w != 1 {
		t.Errorf("app written %d times after the outage, want 1 (the latest state)", w)
	}
	awaitStore(t, store, agentKey, string(sc.Snapshot().Agent.AppendJSON(nil)))
	if _, w := store.value(otherKey); w != 1 {
		t.Errorf("other written %d times, want 1: it did not change", w)
	}
	if store.lists == 0 {
		t.Error("the writer did not read the keys back after the failure")
	}
}
