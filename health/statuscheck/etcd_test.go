package statuscheck_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/servicelabel"
)

// rig is an agent with the etcd plugin, the service label and the status
// check, plus a separate etcd client to read what the agent wrote.
type rig struct {
	sc     *statuscheck.Plugin
	cli    *clientv3.Client
	prefix string
}

func newRig(t *testing.T, e *etcdServer, label string, conf statuscheck.Config, opts ...statuscheck.Option) *rig {
	t.Helper()
	return newRigWithSession(t, e, label, conf, 0, opts...)
}

// newRigWithSession is newRig with the etcd plugin's session TTL (0 for the
// default).
func newRigWithSession(t *testing.T, e *etcdServer, label string, conf statuscheck.Config, sessionTTL time.Duration, opts ...statuscheck.Option) *rig {
	t.Helper()
	if conf.ProbeInterval == 0 {
		conf.ProbeInterval = time.Hour // rounds are driven by ProbeRound
	}
	sc := statuscheck.NewPlugin(append([]statuscheck.Option{statuscheck.UseConf(conf)}, opts...)...)
	// DialTimeout bounds the etcd plugin's probes, so that a stopped server
	// is noticed quickly.
	kv := etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: e.Endpoints(), DialTimeout: time.Second, SessionTTL: sessionTTL}))
	agenttest.Start(t, agent.AllPlugins(kv, servicelabel.NewPlugin(servicelabel.UseLabel(label)), sc))
	cli, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return &rig{sc: sc, cli: cli, prefix: servicelabel.AgentPrefix(label)}
}

// get returns the value and the version (number of writes since creation)
// of a key relative to the agent prefix.
func (r *rig) get(t *testing.T, key string) (string, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := r.cli.Get(ctx, r.prefix+key)
	if err != nil {
		t.Fatalf("Get(%q): %v", r.prefix+key, err)
	}
	if len(resp.Kvs) == 0 {
		return "", 0
	}
	return string(resp.Kvs[0].Value), resp.Kvs[0].Version
}

// await waits until key holds want, and returns its version. The store has
// no event for "the publisher is done", so it polls.
func (r *rig) await(t *testing.T, key, want string) int64 {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, ver := r.get(t, key)
		if got == want {
			return ver
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%s = %s, want %s", r.prefix, key, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// awaitEtcdOK waits until the status check has seen the etcd plugin connect.
func (r *rig) awaitEtcdOK(t *testing.T) {
	t.Helper()
	changed, cancel := r.sc.Subscribe()
	defer cancel()
	for r.sc.Snapshot().Plugin("etcd").GetState() != 1 {
		select {
		case <-changed:
		case <-time.After(20 * time.Second):
			t.Fatalf("etcd plugin status = %v, want OK", r.sc.Snapshot().Plugin("etcd"))
		}
	}
}

func TestPublishedKeysAndValuesMatchTheContract(t *testing.T) {
	e := startEtcd(t)
	clock := newClock(1496322000)
	r := newRig(t, e, "vpp1", statuscheck.Config{},
		statuscheck.WithClock(clock.Now), statuscheck.WithBuildInfo("v1.2.3", "2017-06-01", "abc123"))
	r.awaitEtcdOK(t)

	clock.Set(1496322205)
	_ = r.sc.ReportStateChange("GOVPP", statuscheck.StateError, errors.New("VPP connecting"))
	clock.Set(1496322361)
	_ = r.sc.ReportStateChange("GOVPP", statuscheck.StateError, errors.New("VPP disconnected"))

	r.await(t, "check/status/v1/plugin/GOVPP",
		`{"state":2,"last_change":1496322205,"last_update":1496322361,"error":"VPP disconnected"}`)
	r.await(t, "check/status/v1/plugin/etcd",
		`{"state":1,"last_change":1496322000,"last_update":1496322000}`)
	r.await(t, "check/status/v1/agent", `{"state":2,"last_change":1496322205,"last_update":1496322361,`+
		`"start_time":1496322000,"build_version":"v1.2.3","build_date":"2017-06-01","commit_hash":"abc123","plugins":[`+
		`{"name":"GOVPP","state":2,"last_change":1496322205,"last_update":1496322361,"error":"VPP disconnected"},`+
		`{"name":"etcd","state":1,"last_change":1496322000,"last_update":1496322000}]}`)

	// INIT is written as a number too, never left out.
	clock.Set(1496322400)
	_ = r.sc.ReportStateChange("GOVPP", statuscheck.StateInit, nil)
	r.await(t, "check/status/v1/plugin/GOVPP", `{"state":0,"last_change":1496322400,"last_update":1496322400}`)

	// The full keys, as operators type them.
	resp, err := r.cli.Get(context.Background(), "/vnf-agent/vpp1/check/status/v1/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range resp.Kvs {
		keys = append(keys, string(kv.Key))
	}
	want := []string{
		"/vnf-agent/vpp1/check/status/v1/agent",
		"/vnf-agent/vpp1/check/status/v1/plugin/GOVPP",
		"/vnf-agent/vpp1/check/status/v1/plugin/etcd",
	}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
}

func TestEachChangeIsWrittenOnceAndIdleWritesNothing(t *testing.T) {
	e := startEtcd(t)
	clock := newClock(1000)
	r := newRig(t, e, "count1", statuscheck.Config{}, statuscheck.WithClock(clock.Now))
	r.awaitEtcdOK(t)

	probeState := statuscheck.StateOK
	_ = r.sc.Register("pulled", func(context.Context) (statuscheck.PluginState, error) { return probeState, nil })
	_ = r.sc.Register("pushed", nil)
	r.sc.ProbeRound()
	pushKey, pullKey, agentKey := "check/status/v1/plugin/pushed", "check/status/v1/plugin/pulled", "check/status/v1/agent"
	r.await(t, pushKey, `{"state":0,"last_change":1000,"last_update":1000}`)
	r.await(t, pullKey, `{"state":1,"last_change":1000,"last_update":1000}`)
	agentVer := r.await(t, agentKey, string(r.sc.Snapshot().Agent.AppendJSON(nil)))
	_, pushVer := r.get(t, pushKey)
	_, pullVer := r.get(t, pullKey)

	// N changes, each awaited so that none coalesces: exactly N writes of
	// the plugin key, and N of the agent key.
	const n = 5
	for i := range n {
		now := int64(2000 + i)
		clock.Set(now)
		state := []statuscheck.PluginState{statuscheck.StateOK, statuscheck.StateError}[i%2]
		_ = r.sc.ReportStateChange("pushed", state, nil)
		r.await(t, pushKey, fmt.Sprintf(`{"state":%d,"last_change":%d,"last_update":%d}`, state, now, now))
		ver := r.await(t, agentKey, string(r.sc.Snapshot().Agent.AppendJSON(nil)))
		if ver != agentVer+int64(i)+1 {
			t.Fatalf("after change %d: agent key version %d, want %d", i+1, ver, agentVer+int64(i)+1)
		}
	}
	if _, ver := r.get(t, pushKey); ver != pushVer+n {
		t.Errorf("pushed: %d writes for %d changes", ver-pushVer, n)
	}

	// Idle: reports and probe rounds that change nothing, over what would be
	// many probe intervals and minutes of clock.
	for i := range 60 {
		clock.Set(int64(3000 + 60*i))
		_ = r.sc.ReportStateChange("pushed", statuscheck.StateOK, nil) // the current state
		r.sc.ProbeRound()
	}
	// One more change, awaited: had the idle period written anything, the
	// versions would be higher.
	clock.Set(9000)
	probeState = statuscheck.StateError
	r.sc.ProbeRound()
	r.await(t, pullKey, `{"state":2,"last_change":9000,"last_update":9000}`)
	r.await(t, agentKey, string(r.sc.Snapshot().Agent.AppendJSON(nil)))
	if _, ver := r.get(t, pushKey); ver != pushVer+n {
		t.Errorf("pushed: version %d after an idle period, want %d", ver, pushVer+n)
	}
	if _, ver := r.get(t, pullKey); ver != pullVer+1 {
		t.Errorf("pulled: version %d, want %d (one change)", ver, pullVer+1)
	}
	if _, ver := r.get(t, agentKey); ver != agentVer+n+1 {
		t.Errorf("agent: version %d, want %d (%d changes)", ver, agentVer+n+1, n+1)
	}
	if st := r.sc.PublishStats(); st.Puts == 0 {
		t.Errorf("PublishStats = %+v, want puts counted", st)
	}
}

// TestEtcdDownDoesNotBlockAndKeysConvergeWhenBack: with etcd down, a
// write of the store waits for the publish timeout, a minute here; reports
// and reads that waited for one would take that long, so a bound of
// notBlocking (twelve times shorter, and far above any scheduling delay)
// tells them apart on any machine.
func TestEtcdDownDoesNotBlockAndKeysConvergeWhenBack(t *testing.T) {
	const publishTimeout, notBlocking = time.Minute, 5 * time.Second
	e := startEtcd(t)
	clock := newClock(1000)
	r := newRig(t, e, "restart1", statuscheck.Config{PublishTimeout: publishTimeout}, statuscheck.WithClock(clock.Now))
	r.awaitEtcdOK(t)
	_ = r.sc.ReportStateChange("app", statuscheck.StateOK, nil)
	r.await(t, "check/status/v1/plugin/app", `{"state":1,"last_change":1000,"last_update":1000}`)

	e.Stop()
	// Reports and reads return at once while etcd is gone.
	for i := range 100 {
		clock.Set(int64(2000 + i))
		start := time.Now()
		_ = r.sc.ReportStateChange("app", statuscheck.PluginState(1+i%2), fmt.Errorf("change %d", i))
		_ = r.sc.GetAgentStatus()
		if d := time.Since(start); d > notBlocking {
			t.Fatalf("ReportStateChange took %v with etcd down, want well under the publish timeout (%v)", d, publishTimeout)
		}
	}
	// The etcd plugin notices and reports itself.
	changed, cancel := r.sc.Subscribe()
	for r.sc.Snapshot().Plugin("etcd").GetState() != 2 {
		select {
		case <-changed:
		case <-time.After(20 * time.Second):
			t.Fatalf("etcd status = %v with etcd down, want ERROR", r.sc.Snapshot().Plugin("etcd"))
		}
	}
	cancel()
	clock.Set(3000)
	_ = r.sc.ReportStateChange("app", statuscheck.StateError, errors.New("final"))

	e.Start()
	r.await(t, "check/status/v1/plugin/app", `{"state":2,"last_change":2099,"last_update":3000,"error":"final"}`)
	r.awaitEtcdOK(t)
	want := r.sc.Snapshot().Agent
	r.await(t, "check/status/v1/agent", string(want.AppendJSON(nil)))
	t.Logf("PublishStats = %+v", r.sc.PublishStats())
}

func TestExpireWithAgentPutsKeysUnderTheSessionLease(t *testing.T) {
	e := startEtcd(t)
	r := newRig(t, e, "lease1", statuscheck.Config{ExpireWithAgent: ptr(true)})
	r.awaitEtcdOK(t)
	_ = r.sc.ReportStateChange("app", statuscheck.StateOK, nil)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := r.cli.Get(context.Background(), r.prefix+"check/status/v1/plugin/app")
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) == 1 {
			if resp.Kvs[0].Lease == 0 {
				t.Fatal("key has no lease")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("key not written")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStatusKeysComeBackAfterTheSessionLeaseIsLost: with the default
// expire-with-agent, the keys live under the session lease. However that
// lease is lost while the agent runs, every key is written again under a new
// one within session-ttl + 2 s of etcd being healthy, equals what the
// status check holds, and is still there a session TTL later (a key left on
// the dead lease would be gone by then).
func TestStatusKeysComeBackAfterTheSessionLeaseIsLost(t *testing.T) {
	const ttl = 2 * time.Second
	for _, fault := range []struct {
		name string
		do   func(t *testing.T, e *etcdServer, r *rig)
	}{
		{"revoked by another client", func(t *testing.T, e *etcdServer, r *rig) {
			lease := r.leaseOf(t, "check/status/v1/agent")
			if _, err := r.cli.Revoke(context.Background(), clientv3.LeaseID(lease)); err != nil {
				t.Fatalf("revoke: %v", err)
			}
		}},
		{"etcd down longer than the TTL", func(t *testing.T, e *etcdServer, r *rig) {
			e.Stop()
			time.Sleep(2*ttl + time.Second)
			e.Start()
		}},
		{"etcd data wiped", func(t *testing.T, e *etcdServer, r *rig) {
			e.Wipe()
		}},
	} {
		t.Run(fault.name, func(t *testing.T) {
			e := startEtcd(t)
			r := newRigWithSession(t, e, "lost", statuscheck.Config{}, ttl)
			r.awaitEtcdOK(t)
			for _, name := range []string{"a", "b", "c"} {
				_ = r.sc.ReportStateChange(name, statuscheck.StateOK, nil)
			}
			_ = r.sc.ReportStateChange("d", statuscheck.StateError, errors.New("d is down"))
			r.awaitStatusKeys(t, 20*time.Second)

			fault.do(t, e, r)
			r.awaitEtcdOK(t)
			healthy := time.Now()
			r.awaitStatusKeys(t, ttl+2*time.Second)
			t.Logf("keys equal the status %v after etcd was healthy", time.Since(healthy).Round(time.Millisecond))
			time.Sleep(ttl + time.Second)
			r.awaitStatusKeys(t, 0)
		})
	}
}

// leaseOf returns the lease of a key relative to the agent prefix.
func (r *rig) leaseOf(t *testing.T, key string) int64 {
	t.Helper()
	resp, err := r.cli.Get(context.Background(), r.prefix+key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get %s%s: %v, %d keys", r.prefix, key, err, len(resp.Kvs))
	}
	return resp.Kvs[0].Lease
}

// awaitStatusKeys waits up to within until the status keys in etcd are
// exactly those of the status check's snapshot, with the same values, each
// bound to a lease that etcd keeps (TTL > 0). With within 0 it checks once.
func (r *rig) awaitStatusKeys(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		diff := r.statusKeysDiff(t)
		if diff == "" {
			return
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("status keys in etcd differ from the status check after %v: %s", within, diff)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *rig) statusKeysDiff(t *testing.T) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := r.cli.Get(ctx, r.prefix+"check/status/v1/", clientv3.WithPrefix())
	if err != nil {
		return err.Error()
	}
	snap := r.sc.Snapshot()
	want := map[string]string{r.prefix + model.AgentStatusKey(): string(snap.Agent.AppendJSON(nil))}
	for _, ps := range snap.Agent.GetPlugins() {
		want[r.prefix+model.PluginStatusKey(ps.GetName())] = string((&model.PluginStatus{
			State: ps.GetState(), LastChange: ps.GetLastChange(), LastUpdate: ps.GetLastUpdate(), Error: ps.GetError(),
		}).AppendJSON(nil))
	}
	var diffs []string
	for _, kv := range resp.Kvs {
		k := string(kv.Key)
		w, ok := want[k]
		delete(want, k)
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("extra key %s", k))
		case string(kv.Value) != w:
			diffs = append(diffs, fmt.Sprintf("%s = %s, want %s", k, kv.Value, w))
		case kv.Lease == 0:
			diffs = append(diffs, fmt.Sprintf("%s has no lease", k))
		default:
			ttl, err := r.cli.TimeToLive(ctx, clientv3.LeaseID(kv.Lease))
			if err != nil || ttl.TTL <= 0 {
				diffs = append(diffs, fmt.Sprintf("%s is bound to lease %x, which etcd does not keep (%v)", k, kv.Lease, err))
			}
		}
	}
	for k := range want {
		diffs = append(diffs, fmt.Sprintf("missing key %s", k))
	}
	return strings.Join(diffs, "; ")
}

func TestPublishingNeedsTheServiceLabel(t *testing.T) {
	e := startEtcd(t)
	sc := statuscheck.NewPlugin()
	kv := etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: e.Endpoints()}))
	a := agenttest.New(t, agent.AllPlugins(kv, sc))
	err := a.Start()
	if err == nil {
		a.Stop()
		t.Fatal("Start succeeded without a service label")
	}
	if want := "add servicelabel.NewPlugin() to the agent"; !strings.Contains(err.Error(), want) {
		t.Errorf("Start = %v, want it to say %q", err, want)
	}
}

func ptr[T any](v T) *T { return &v }
