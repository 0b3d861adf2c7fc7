package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra/kvdb"
)

func statusValue(tb testing.TB, state model.OperationalState, plugins ...*model.PluginStatus) []byte {
	tb.Helper()
	b, err := (&model.AgentStatus{State: state, LastChange: 10, LastUpdate: 20, StartTime: 5, Plugins: plugins}).MarshalJSON()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func decodeFleet(t *testing.T, c *fleetCache) Fleet {
	t.Helper()
	body, _ := c.render()
	var f Fleet
	if err := json.Unmarshal(body, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func states(f Fleet) map[string]string {
	out := map[string]string{}
	for _, a := range f.Agents {
		out[a.Label] = a.State
	}
	return out
}

// TestFleetCacheFollowsTheWatch pins what each event does to the list,
// including what no end-to-end test can order: a resync after a gap in
// which agents vanished or came back.
func TestFleetCacheFollowsTheWatch(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newFleetCache("/vnf-agent/", func() time.Time { return now }, time.Hour)
	apply := func(ev kvdb.Event) {
		t.Helper()
		if err := c.apply(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	ok, failing := statusValue(t, model.OperationalState_OK), statusValue(t, model.OperationalState_ERROR,
		&model.PluginStatus{Name: "govpp", State: model.OperationalState_ERROR, Error: "down"})

	apply(kvdb.Event{Kind: kvdb.EventResync, Rev: 5, Snapshot: []kvdb.KeyValue{
		{Key: "a/check/status/v1/agent", Value: ok, Rev: 3},
		{Key: "a/check/status/v1/plugin/etcd", Value: ok, Rev: 3},
		{Key: "b/check/status/v1/agent", Value: failing, Rev: 4},
		{Key: "b/config/check/status/v1/agent", Value: ok, Rev: 4}, // not an agent key: two segments before
		{Key: "/check/status/v1/agent", Value: ok, Rev: 4},         // no label
	}})
	f := decodeFleet(t, c)
	if got := fmt.Sprint(states(f)); got != "map[a:OK b:ERROR]" || !f.Synced {
		t.Fatalf("after the first resync: %s synced=%v, want a OK and b ERROR, synced", got, f.Synced)
	}

	_, gen := c.render()
	apply(kvdb.Event{Kind: kvdb.EventPut, Key: "a/check/status/v1/plugin/etcd", Value: failing, Rev: 6})
	if _, g := c.render(); g != gen {
		t.Errorf("a plugin key changed the fleet's generation (%d to %d): pages would fetch it for nothing", gen, g)
	}

	now = now.Add(time.Minute)
	apply(kvdb.Event{Kind: kvdb.EventDelete, Key: "a/check/status/v1/agent", Rev: 7})
	f = decodeFleet(t, c)
	if a := f.Agents[0]; a.Label != "a" || a.State != FleetStateGone || a.Gone != now.Unix() || a.LastChange != 10 {
		t.Errorf("after the delete: a = %+v, want gone at %d with its last status kept", a, now.Unix())
	}

	// A gap: the watch resumes with a resync in which b vanished and a came
	// back.
	now = now.Add(time.Minute)
	apply(kvdb.Event{Kind: kvdb.EventResync, Rev: 20, Snapshot: []kvdb.KeyValue{
		{Key: "a/check/status/v1/agent", Value: ok, Rev: 15},
	}})
	f = decodeFleet(t, c)
	if got := fmt.Sprint(states(f)); got != "map[a:OK b:gone]" {
		t.Errorf("after the resync: %s, want a back OK and b gone", got)
	}
	if f.Counts != (FleetCounts{OK: 1, Gone: 1}) {
		t.Errorf("counts = %+v, want one OK and one gone", f.Counts)
	}
	for _, a := range f.Agents {
		if a.Label == "b" && a.Gone != now.Unix() {
			t.Errorf("b gone at %d, want %d: when the resync showed it missing", a.Gone, now.Unix())
		}
		if a.Label == "a" && a.Gone != 0 {
			t.Errorf("a is back, but gone = %d", a.Gone)
		}
	}

	now = now.Add(time.Hour + time.Second)
	if got := fmt.Sprint(states(decodeFleet(t, c))); got != "map[a:OK]" {
		t.Errorf("an hour later: %s, want b forgotten", got)
	}
}

// BenchmarkFleetApply measures the watch callback of the fleet page, at the
// size the fleet view is meant for: a thousand agents whose status keys
// change. Most events are plugin keys, which are skipped.
func BenchmarkFleetApply(b *testing.B) {
	const agents = 1000
	c := newFleetCache("/vnf-agent/", time.Now, time.Hour)
	v := statusValue(b, model.OperationalState_OK,
		&model.PluginStatus{Name: "etcd", State: model.OperationalState_OK},
		&model.PluginStatus{Name: "govpp", State: model.OperationalState_ERROR, Error: "VPP disconnected"})
	snap := make([]kvdb.KeyValue, 0, agents)
	for i := range agents {
		snap = append(snap, kvdb.KeyValue{Key: fmt.Sprintf("vpp%d/check/status/v1/agent", i), Value: v, Rev: int64(i + 1)})
	}
	ctx := context.Background()
	_ = c.apply(ctx, kvdb.Event{Kind: kvdb.EventResync, Rev: agents, Snapshot: snap})
	for _, bc := range []struct {
		name string
		key  func(i int) string
	}{
		{"agent key", func(i int) string { return fmt.Sprintf("vpp%d/check/status/v1/agent", i%agents) }},
		{"plugin key", func(i int) string { return fmt.Sprintf("vpp%d/check/status/v1/plugin/govpp", i%agents) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			keys := make([]string, agents)
			for i := range keys {
				keys[i] = bc.key(i)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_ = c.apply(ctx, kvdb.Event{Kind: kvdb.EventPut, Key: keys[i%agents], Value: v, Rev: int64(agents + i)})
				i++
			}
		})
	}
	b.Run("render after a change", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_ = c.apply(ctx, kvdb.Event{Kind: kvdb.EventPut, Key: "vpp1/check/status/v1/agent", Value: v, Rev: int64(10*agents + i)})
			c.render()
			i++
		}
	})
}
