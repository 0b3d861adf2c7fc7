package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"gopkg.in/yaml.v3"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/servicelabel"
)

// fleetEtcd starts an etcd server of its own: agentctl status --all reads
// everything under /vnf-agent/, which the shared server fills with the
// keys of other tests.
func fleetEtcd(t *testing.T) (env, *clientv3.Client) {
	t.Helper()
	srv := etcdtest.Start(t)
	cli := etcdtest.Client(t, srv.Endpoints()...)
	return env{"AGENTCTL_ETCD_ENDPOINTS": strings.Join(srv.Endpoints(), ",")}, cli
}

// testPlugin is a plugin status as an agent publishes it.
type testPlugin struct {
	name  string
	state model.OperationalState
	err   string
}

// putAgent writes the status keys of label as the status check does: each
// plugin's key, then the agent key, which lists the plugins too. opts
// apply to every key (a lease).
func putAgent(t *testing.T, cli *clientv3.Client, label string, state model.OperationalState, lastChange int64, plugins []testPlugin, opts ...clientv3.OpOption) {
	t.Helper()
	prefix := servicelabel.AgentPrefix(label)
	status := &model.AgentStatus{
		State: state, LastChange: lastChange, LastUpdate: lastChange, StartTime: testStart, BuildVersion: "v1.4.0",
	}
	for _, p := range plugins {
		ps := &model.PluginStatus{State: p.state, LastChange: lastChange, LastUpdate: lastChange, Error: p.err}
		put(t, cli, prefix+model.PluginStatusKey(p.name), string(ps.AppendJSON(nil)), opts...)
		ps.Name = p.name
		status.Plugins = append(status.Plugins, ps)
	}
	put(t, cli, prefix+model.AgentStatusKey(), string(status.AppendJSON(nil)), opts...)
}

func put(t *testing.T, cli *clientv3.Client, key, value string, opts ...clientv3.OpOption) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, key, value, opts...); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

const (
	stateOK    = model.OperationalState_OK
	stateInit  = model.OperationalState_INIT
	stateError = model.OperationalState_ERROR
)

// putTestFleet writes agents in every shape agentctl status --all meets.
func putTestFleet(t *testing.T, cli *clientv3.Client) {
	t.Helper()
	putAgent(t, cli, "a-ok", stateOK, testStart, []testPlugin{{"ETCD", stateOK, ""}, {"HTTP", stateOK, ""}})
	putAgent(t, cli, "b-err", stateError, 1_700_003_600, []testPlugin{
		{"GOVPP", stateError, "VPP disconnected"}, {"ETCD", stateError, "dial tcp 10.0.0.9:2379:\nconnection refused"}, {"HTTP", stateOK, ""},
	})
	putAgent(t, cli, "c-init", stateInit, 1_700_003_700, []testPlugin{{"ETCD", stateInit, ""}})
	// An agent value without the plugins (as cn-infra wrote it): the
	// plugin keys say which fail.
	put(t, cli, "/vnf-agent/d-old/check/status/v1/agent", `{"state":2,"last_change":1700003000,"last_update":1700003000}`)
	put(t, cli, "/vnf-agent/d-old/check/status/v1/plugin/KAFKA", `{"state":2,"last_change":1700003000,"last_update":1700003000,"error":"no brokers"}`)
	put(t, cli, "/vnf-agent/d-old/check/status/v1/plugin/ETCD", `{"state":1,"last_change":1700003000,"last_update":1700003000}`)
	put(t, cli, "/vnf-agent/e-bad/check/status/v1/agent", "not json")
	// Not agents: plugin keys without an agent key, and other keys.
	put(t, cli, "/vnf-agent/f-half/check/status/v1/plugin/ETCD", `{"state":1}`)
	put(t, cli, "/vnf-agent/a-ok/config/x", `{"state":2}`)
	put(t, cli, "/vnf-agent/a-ok/check/status/v1/agentx", `{"state":2}`)
	put(t, cli, "/vnf-agentx/z/check/status/v1/agent", `{"state":2}`)
}

// badValueError is what decoding "not json" as an agent status says.
func badValueError(t *testing.T) string {
	t.Helper()
	err := new(model.AgentStatus).UnmarshalJSON([]byte("not json"))
	if err == nil {
		t.Fatal(`model accepts "not json" as an agent status`)
	}
	return err.Error()
}

// agentctlFleet runs agentctl with its clock at testNow, in UTC, reading
// fleets page by page of pageSize keys.
func (e env) agentctlFleet(t *testing.T, pageSize int, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuffer
	g := e.options(&stdout, &stderr)
	g.fleetPageSize = pageSize
	code := g.execute(t.Context(), args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// options returns the options of a run with the clock at testNow, in UTC.
func (e env) options(stdout, stderr io.Writer) *globalOptions {
	return &globalOptions{
		now:      func() time.Time { return testNow },
		location: time.UTC,
		getenv:   func(k string) string { return e[k] },
		stdin:    strings.NewReader(""),
		stdout:   stdout,
		stderr:   stderr,
	}
}

func TestStatusAllListsEveryAgentWorstFirst(t *testing.T) {
	e, cli := fleetEtcd(t)
	putTestFleet(t, cli)
	want := `LABEL   STATE    SINCE                                PLUGINS IN ERROR
b-err   ERROR    2023-11-14 23:13:20 UTC (2m3s ago)   ETCD: dial tcp 10.0.0.9:2379: connection refused; GOVPP: VPP disconnected
d-old   ERROR    2023-11-14 23:03:20 UTC (12m3s ago)  KAFKA: no brokers
e-bad   INVALID  -                                    status value: ` + badValueError(t) + `
c-init  INIT     2023-11-14 23:15:00 UTC (23s ago)
a-ok    OK       2023-11-14 22:13:20 UTC (1h2m ago)
`
	wantErr := "agentctl: 4 of 5 agents are not OK: b-err ERROR, d-old ERROR, e-bad INVALID, c-init INIT\n"
	// A page of 2 keys makes the read take several pages.
	for _, pageSize := range []int{0, 2} {
		t.Run(fmt.Sprintf("page size %d", pageSize), func(t *testing.T) {
			for _, args := range [][]string{{"status", "--all"}, {"status", "-A"}} {
				r := e.agentctlFleet(t, pageSize, args...)
				if r.code != exitVerdictNotOK || r.stdout != want || r.stderr != wantErr {
					t.Errorf("agentctl %v = (%d,\n%s, %q)\nwant (%d,\n%s, %q)", args, r.code, r.stdout, r.stderr, exitVerdictNotOK, want, wantErr)
				}
			}
		})
	}
}

func TestStatusAllJSONAndYAML(t *testing.T) {
	e, cli := fleetEtcd(t)
	putTestFleet(t, cli)
	none := []pluginErrorJSON{}
	want := []fleetAgentJSON{
		{Label: "b-err", State: "ERROR", LastChange: 1_700_003_600, BuildVersion: "v1.4.0", PluginsInError: []pluginErrorJSON{
			{Name: "ETCD", Error: "dial tcp 10.0.0.9:2379:\nconnection refused"}, {Name: "GOVPP", Error: "VPP disconnected"},
		}},
		{Label: "d-old", State: "ERROR", LastChange: 1_700_003_000, PluginsInError: []pluginErrorJSON{{Name: "KAFKA", Error: "no brokers"}}},
		{Label: "e-bad", State: "INVALID", Error: badValueError(t), PluginsInError: none},
		{Label: "c-init", State: "INIT", LastChange: 1_700_003_700, BuildVersion: "v1.4.0", PluginsInError: none},
		{Label: "a-ok", State: "OK", LastChange: testStart, BuildVersion: "v1.4.0", PluginsInError: none},
	}
	wantJSON, _ := json.Marshal(want)
	for _, format := range []string{"json", "yaml"} {
		r := e.agentctlFleet(t, 0, "status", "--all", "-o", format)
		if r.code != exitVerdictNotOK {
			t.Errorf("status --all -o %s: exit %d, want %d; stderr %q", format, r.code, exitVerdictNotOK, r.stderr)
		}
		var got []fleetAgentJSON
		var err error
		if format == "json" {
			err = json.Unmarshal([]byte(r.stdout), &got)
		} else {
			var v any
			if err = yaml.Unmarshal([]byte(r.stdout), &v); err == nil {
				b, _ := json.Marshal(v)
				err = json.Unmarshal(b, &got)
			}
		}
		if err != nil {
			t.Fatalf("status --all -o %s printed %q: %v", format, r.stdout, err)
		}
		if gotJSON, _ := json.Marshal(got); string(gotJSON) != string(wantJSON) {
			t.Errorf("status --all -o %s = %s\nwant %s", format, gotJSON, wantJSON)
		}
	}
}

// TestStatusAllExitCodes pins the codes scripts test.
func TestStatusAllExitCodes(t *testing.T) {
	e, cli := fleetEtcd(t)
	endpoint := e["AGENTCTL_ETCD_ENDPOINTS"]

	r := e.agentctlFleet(t, 0, "status", "--all")
	wantErr := "agentctl: no agent status under /vnf-agent/ in etcd " + endpoint + "\n"
	if r.code != exitVerdictNoAgents || r.stdout != "" || r.stderr != wantErr {
		t.Errorf("status --all of no agent = (%d, %q, %q), want (%d, \"\", %q)", r.code, r.stdout, r.stderr, exitVerdictNoAgents, wantErr)
	}
	if r := e.agentctlFleet(t, 0, "status", "--all", "-o", "json"); r.code != exitVerdictNoAgents || r.stdout != "[]\n" {
		t.Errorf("status --all -o json of no agent = (%d, %q), want (%d, \"[]\\n\")", r.code, r.stdout, exitVerdictNoAgents)
	}

	putAgent(t, cli, "ok1", stateOK, testStart, []testPlugin{{"ETCD", stateOK, ""}})
	putAgent(t, cli, "ok2", stateOK, testStart, nil)
	if r := e.agentctlFleet(t, 0, "status", "--all"); r.code != exitVerdictOK || r.stderr != "" || strings.Count(r.stdout, "\n") != 3 {
		t.Errorf("status --all of OK agents = (%d, %q, %q), want exit 0, a header and two lines", r.code, r.stdout, r.stderr)
	}

	putAgent(t, cli, "ok2", stateInit, testNow.Unix(), nil)
	r = e.agentctlFleet(t, 0, "status", "--all")
	if wantErr := "agentctl: 1 of 2 agents are not OK: ok2 INIT\n"; r.code != exitVerdictNotOK || r.stderr != wantErr {
		t.Errorf("status --all with an agent in INIT = (%d, %q), want (%d, %q)", r.code, r.stderr, exitVerdictNotOK, wantErr)
	}

	// No verdict: a silent etcd, a wrong command line.
	silent := env{"AGENTCTL_ETCD_ENDPOINTS": silentServer(t)}
	if r := silent.agentctlFleet(t, 0, "status", "--all", "--timeout", "300ms"); r.code != exitVerdictUnknown || !strings.Contains(r.stderr, "within 300ms") {
		t.Errorf("status --all against a silent etcd = (%d, %q), want exit %d", r.code, r.stderr, exitVerdictUnknown)
	}
	if r := e.agentctlFleet(t, 0, "status", "--watch"); r.code != exitVerdictUnknown || !strings.Contains(r.stderr, "agentctl: status: --watch needs --all\n") {
		t.Errorf("status --watch without --all = (%d, %q), want exit %d", r.code, r.stderr, exitVerdictUnknown)
	}
}

// lineWriter passes each line written to it to the test as it is written,
// so that the test waits for output as events, not by polling or sleeping.
type lineWriter struct {
	mu      sync.Mutex
	partial []byte // guarded by mu
	lines   chan string
}

func newLineWriter() *lineWriter { return &lineWriter{lines: make(chan string, 1024)} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := strings.IndexByte(string(w.partial), '\n')
		if i < 0 {
			return len(p), nil
		}
		w.lines <- string(w.partial[:i])
		w.partial = w.partial[i+1:]
	}
}

// next returns the next line; it fails the test when none comes within 20
// seconds, which only a line that never comes takes.
func (w *lineWriter) next(t *testing.T, waitingFor string) string {
	t.Helper()
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	select {
	case l := <-w.lines:
		return l
	case <-timer.C:
		t.Fatalf("no line printed while waiting for %s", waitingFor)
		return ""
	}
}

// watchRun is agentctl running in the background.
type watchRun struct {
	out    *lineWriter
	stderr *syncBuffer
	cancel context.CancelFunc
	code   chan int
}

func (e env) startAgentctl(t *testing.T, args ...string) *watchRun {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	w := &watchRun{out: newLineWriter(), stderr: new(syncBuffer), cancel: cancel, code: make(chan int, 1)}
	g := e.options(w.out, w.stderr)
	go func() { w.code <- g.execute(ctx, args) }()
	t.Cleanup(func() {
		cancel()
		<-w.code
	})
	return w
}

// stop interrupts agentctl, as Ctrl-C does, and returns its exit code.
func (w *watchRun) stop(t *testing.T) int {
	t.Helper()
	w.cancel()
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	select {
	case code := <-w.code:
		w.code <- code // for the cleanup
		return code
	case <-timer.C:
		t.Fatal("agentctl did not end within 20s of its interruption")
		return 0
	}
}

// TestStatusAllWatchStreamsChanges runs the table and the JSON forms of
// --watch side by side through the same changes: a state change, an
// agent whose lease ends (its keys vanish at once), a deleted agent, a
// new agent, and writes that change no agent's row.
func TestStatusAllWatchStreamsChanges(t *testing.T) {
	e, cli := fleetEtcd(t)
	ctx := t.Context()
	lease, err := cli.Grant(ctx, 3600)
	if err != nil {
		t.Fatal(err)
	}
	putAgent(t, cli, "a-ok", stateOK, testStart, []testPlugin{{"ETCD", stateOK, ""}, {"GOVPP", stateOK, ""}})
	putAgent(t, cli, "c-init", stateInit, 1_700_003_700, []testPlugin{{"ETCD", stateInit, ""}}, clientv3.WithLease(lease.ID))
	putAgent(t, cli, "d-del", stateOK, testStart, nil)

	table := e.startAgentctl(t, "status", "--all", "--watch")
	for _, want := range []string{
		"LABEL   STATE  SINCE                               PLUGINS IN ERROR",
		"c-init  INIT   2023-11-14 23:15:00 UTC (23s ago)",
		"a-ok    OK     2023-11-14 22:13:20 UTC (1h2m ago)",
		"d-del   OK     2023-11-14 22:13:20 UTC (1h2m ago)",
	} {
		if got := table.out.next(t, "the table"); got != want {
			t.Fatalf("status --all --watch printed %q, want %q", got, want)
		}
	}
	jsonLines := e.startAgentctl(t, "status", "--all", "--watch", "-o", "json")
	for _, label := range []string{"c-init", "a-ok", "d-del"} {
		var ev fleetEventJSON
		line := jsonLines.out.next(t, "the LISTED events")
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Type != fleetListed || ev.Label != label || ev.Time != testNow.Unix() {
			t.Fatalf("status --all --watch -o json printed %q (%v), want LISTED %s", line, err, label)
		}
	}

	// Writes that change no row: another key under /vnf-agent/, and the
	// plugin key that the status check writes before the agent key.
	put(t, cli, "/vnf-agent/a-ok/config/x", "1")
	put(t, cli, "/vnf-agent/a-ok/check/status/v1/plugin/GOVPP", `{"state":2,"last_change":1700003723,"last_update":1700003723,"error":"VPP disconnected"}`)
	putAgent(t, cli, "a-ok", stateError, testNow.Unix(), []testPlugin{{"ETCD", stateOK, ""}, {"GOVPP", stateError, "VPP disconnected"}})
	if _, err := cli.Revoke(ctx, lease.ID); err != nil { // what the expiry of the agent's session does
		t.Fatal(err)
	}
	if _, err := cli.Delete(ctx, "/vnf-agent/d-del/", clientv3.WithPrefix()); err != nil {
		t.Fatal(err)
	}
	putAgent(t, cli, "g-new", stateOK, testNow.Unix(), nil)

	for _, want := range []string{
		"2023-11-14 23:15:23 UTC  a-ok  OK -> ERROR  GOVPP: VPP disconnected",
		"2023-11-14 23:15:23 UTC  c-init  INIT -> gone",
		"2023-11-14 23:15:23 UTC  d-del  OK -> gone",
		"2023-11-14 23:15:23 UTC  g-new  new -> OK",
	} {
		if got := table.out.next(t, want); got != want {
			t.Errorf("status --all --watch printed %q, want %q", got, want)
		}
	}
	for _, want := range []fleetEventJSON{
		{Type: fleetModified, Time: testNow.Unix(), Label: "a-ok", PreviousState: "OK", State: "ERROR", LastChange: testNow.Unix(),
			BuildVersion: "v1.4.0", PluginsInError: []pluginErrorJSON{{Name: "GOVPP", Error: "VPP disconnected"}}},
		{Type: fleetGone, Time: testNow.Unix(), Label: "c-init", PreviousState: "INIT"},
		{Type: fleetGone, Time: testNow.Unix(), Label: "d-del", PreviousState: "OK"},
		{Type: fleetAdded, Time: testNow.Unix(), Label: "g-new", State: "OK", LastChange: testNow.Unix(), BuildVersion: "v1.4.0"},
	} {
		line := jsonLines.out.next(t, want.Type+" "+want.Label)
		wantLine, _ := json.Marshal(want)
		if line != string(wantLine) {
			t.Errorf("status --all --watch -o json printed\n%s\nwant\n%s", line, wantLine)
		}
	}

	// Interrupted, the watch exits with the verdict of what it saw last.
	if code := table.stop(t); code != exitVerdictNotOK {
		t.Errorf("status --all --watch exited %d, want %d (a-ok is in ERROR)", code, exitVerdictNotOK)
	}
	if got, want := table.stderr.String(), "agentctl: 1 of 2 agents are not OK: a-ok ERROR\n"; got != want {
		t.Errorf("status --all --watch stderr %q, want %q", got, want)
	}
	select {
	case extra := <-table.out.lines:
		t.Errorf("status --all --watch printed %q after the last change", extra)
	default:
	}

	putAgent(t, cli, "a-ok", stateOK, testNow.Unix(), []testPlugin{{"ETCD", stateOK, ""}, {"GOVPP", stateOK, ""}})
	if got, want := jsonLines.out.next(t, "a-ok OK again"), `"previous_state":"ERROR","state":"OK"`; !strings.Contains(got, want) {
		t.Errorf("status --all --watch -o json printed %q, want it to contain %q", got, want)
	}
	if code := jsonLines.stop(t); code != exitVerdictOK {
		t.Errorf("status --all --watch -o json exited %d, want %d (every agent OK); stderr %q", code, exitVerdictOK, jsonLines.stderr.String())
	}
}

// TestStatusAllReadsARealAgent reads what a real agent's status check
// publishes in etcd: the format is the agent's, not this test's.
func TestStatusAllReadsARealAgent(t *testing.T) {
	e, cli := fleetEtcd(t)
	// Another agent first: once the table shows it, the watch has read
	// the fleet, and every step of the real agent comes as a change.
	putAgent(t, cli, "other", stateOK, testStart, nil)
	watch := e.startAgentctl(t, "status", "--all", "--watch")
	for range 2 {
		watch.out.next(t, "the table")
	}

	sc := statuscheck.NewPlugin(statuscheck.UseConf(statuscheck.Config{ProbeInterval: time.Hour}))
	kv := etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: strings.Split(e["AGENTCTL_ETCD_ENDPOINTS"], ","), DialTimeout: 5 * time.Second}))
	agenttest.Start(t, agent.AllPlugins(kv, servicelabel.NewPlugin(servicelabel.UseLabel("real")), sc))
	if err := sc.ReportStateChange("pusher", statuscheck.StateError, errors.New("pusher: lost its upstream")); err != nil {
		t.Fatal(err)
	}
	// The agent publishes in steps (INIT, then OK, then the report); the
	// watch shows each. Wait for the one with the report.
	for {
		line := watch.out.next(t, "the agent's ERROR")
		if strings.Contains(line, "  real  ") && strings.Contains(line, "-> ERROR  pusher: pusher: lost its upstream") {
			break
		}
	}
	r := e.agentctlFleet(t, 0, "status", "--all", "-o", "json")
	var got []fleetAgentJSON
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("status --all -o json printed %q: %v", r.stdout, err)
	}
	if r.code != exitVerdictNotOK || len(got) != 2 || got[0].Label != "real" || got[0].State != "ERROR" || got[0].LastChange == 0 ||
		len(got[0].PluginsInError) != 1 || got[0].PluginsInError[0] != (pluginErrorJSON{Name: "pusher", Error: "pusher: lost its upstream"}) {
		t.Errorf("status --all -o json = (%d, %s)", r.code, r.stdout)
	}
}

// BenchmarkFleetRows measures the table of a fleet of 1,000 agents with 10
// plugins each, one in ERROR: the work of agentctl status --all once etcd
// has answered.
func BenchmarkFleetRows(b *testing.B) {
	f := (&globalOptions{}).newFleet()
	for i := range 1000 {
		label := fmt.Sprintf("vpp%04d", i)
		status := &model.AgentStatus{State: stateOK, LastChange: testStart, LastUpdate: testStart, StartTime: testStart}
		for j := range 10 {
			ps := &model.PluginStatus{Name: fmt.Sprintf("PLUGIN%02d", j), State: stateOK, LastChange: testStart, LastUpdate: testStart}
			if j == 0 && i%10 == 0 {
				status.State, ps.State, ps.Error = stateError, stateError, "disconnected"
			}
			f.apply(servicelabel.AgentPrefix(label)+model.PluginStatusKey(ps.Name), (&model.PluginStatus{State: ps.State, Error: ps.Error}).AppendJSON(nil))
			status.Plugins = append(status.Plugins, ps)
		}
		f.apply(servicelabel.AgentPrefix(label)+model.AgentStatusKey(), status.AppendJSON(nil))
	}
	b.ReportAllocs()
	for b.Loop() {
		if rows := f.rows(); len(rows) != 1000 || rows[0].State != "ERROR" {
			b.Fatalf("rows: %d, first %+v", len(rows), rows[0])
		}
	}
}
