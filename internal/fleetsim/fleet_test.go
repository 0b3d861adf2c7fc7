//go:build linux

package fleetsim

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/internal/testwait"
)

// watcherEnv makes the test binary the watcher process (see RunWatcher).
const watcherEnv = "FLEETSIM_WATCHER_ENDPOINTS"

func TestMain(m *testing.M) {
	if eps := os.Getenv(watcherEnv); eps != "" {
		ctx, stop := signalContext()
		defer stop()
		if err := RunWatcher(ctx, strings.Split(eps, ","), os.Stdout); err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "watcher:", err)
			os.Exit(1)
		}
		return
	}
	etcdtest.VerifyTestMain(m)
}

// fleetSize is how many agents run: 1,000 with FLEET=1 (make fleet, or
// FLEET_N), a few otherwise, so that make test runs every step quickly.
func fleetSize() (n int, full bool) {
	if os.Getenv("FLEET") != "1" {
		return 20, false
	}
	n = 1000
	if s := os.Getenv("FLEET_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			panic(fmt.Sprintf("FLEET_N=%q: want a positive number", s))
		}
		n = v
	}
	return n, true
}

// TestFleet runs a fleet of agents against a 3-member etcd cluster of
// separate processes and measures what docs/fleet.md reports: writes and
// keepalives at steady state, the delay from a state change to its
// appearance at a fleet watcher while 1 % of the agents flap, memory, data
// per agent, a member SIGKILLed mid-run (no status lost or stale), and the
// time to republish after the cluster loses its data.
func TestFleet(t *testing.T) {
	n, full := fleetSize()
	window, flapFor := 3*time.Second, 4*time.Second
	if full {
		window, flapFor = 15*time.Second, 20*time.Second
	}
	const ttl = 10 * time.Second
	rep := &report{}
	defer rep.print(t)

	c := etcdtest.StartCluster(t, 3)
	cli := etcdtest.Client(t, c.Endpoints()...)
	ctx := t.Context()
	rep.add("agents", float64(n), "")
	base := dataBytes(t, cli)

	confDir, err := EmptyDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	f, err := Start(ctx, Config{Agents: n, LabelPrefix: "node-", Clients: max(1, n/100), Endpoints: c.Endpoints(),
		SessionTTL: ttl, ConfigDir: confDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("fleet close: %v", err)
		}
	})
	w := startWatcher(t, c.Endpoints())
	testwait.For(t, 5*time.Minute, "every agent's keys are OK in etcd", func() (bool, string) {
		return keysMatch(t, cli, f)
	})
	rep.add("start -> every key in etcd", time.Since(started).Seconds(), "s")

	// Steady state: nothing changes, so nothing but keepalives may reach
	// etcd.
	time.Sleep(2 * time.Second) // writes of the start still under way
	puts0, renew0 := counter(t, c, "etcd_mvcc_put_total", true), counter(t, c, "etcd_debugging_lease_renewed_total", false)
	events0 := w.count()
	time.Sleep(window)
	puts1, renew1 := counter(t, c, "etcd_mvcc_put_total", true), counter(t, c, "etcd_debugging_lease_renewed_total", false)
	writes := (puts1 - puts0) / window.Seconds()
	rep.add("steady state: etcd writes per second", writes, "/s")
	rep.add("steady state: status events seen by the watcher", float64(w.count()-events0), "")
	rep.add("steady state: lease keepalives per second", (renew1-renew0)/window.Seconds(), "/s")
	if puts1 != puts0 {
		t.Errorf("steady state: %v puts in %v, want none", puts1-puts0, window)
	}

	// Memory and data.
	for i := range c.Size() {
		if rss, err := RSS(c.Member(i).Pid()); err == nil {
			rep.add(fmt.Sprintf("etcd member%d RSS", i), float64(rss)/(1<<20), "MiB")
		}
	}
	if rss, err := RSS(w.cmd.Process.Pid); err == nil {
		rep.add("watcher RSS", float64(rss)/(1<<20), "MiB")
	}
	rep.add("etcd data per agent (keys and values)", float64(dataBytes(t, cli)-base)/float64(n), "B")

	// 1 % of the agents flap, once a second each, with one member killed
	// and restarted half-way in the second run.
	flappers := max(1, n/100)
	for _, withKill := range []bool{false, true} {
		name := "flapping"
		if withKill {
			name = "flapping, member killed"
		}
		lat := flap(t, f, w, flappers, flapFor, func() {
			if withKill {
				m := c.Member(1)
				m.Kill()
				time.Sleep(2 * time.Second)
				m.Restart()
			}
		})
		slices.Sort(lat)
		rep.add(name+": changes seen", float64(len(lat)), "")
		rep.add(name+": change -> watcher p50", pct(lat, 50).Seconds()*1000, "ms")
		rep.add(name+": change -> watcher p99", pct(lat, 99).Seconds()*1000, "ms")
		settled := time.Now()
		testwait.For(t, 2*time.Minute, name+": every key in etcd equals its agent's own state", func() (bool, string) {
			return keysMatch(t, cli, f)
		})
		rep.add(name+": stop -> every key equals its agent", time.Since(settled).Seconds()*1000, "ms")
	}

	// agentctl status --all, a client we did not write for this test,
	// lists every agent in the state the agent itself holds.
	checkAgentctl(t, c.Endpoints(), f)

	// The cluster loses its data: every agent writes its keys again.
	wiped := time.Now()
	c.Wipe()
	cli2 := etcdtest.Client(t, c.Endpoints()...)
	testwait.For(t, 5*time.Minute, "every agent's keys are back after the wipe", func() (bool, string) {
		return keysMatch(t, cli2, f)
	})
	rep.add("store wiped -> every key back", time.Since(wiped).Seconds(), "s")
}

// flap makes flappers agents change state once a second each, spread
// evenly, for d, calling during in the middle, and returns the delays from
// each change to the watcher's event showing it.
func flap(t *testing.T, f *Fleet, w *watcher, flappers int, d time.Duration, during func()) []time.Duration {
	t.Helper()
	type change struct {
		label string
		want  Status
		at    time.Time
	}
	var changes []change
	labels := f.Labels()
	step := time.Second / time.Duration(flappers)
	end := time.Now().Add(d)
	half := time.Now().Add(d / 2)
	var once sync.Once
	var wg sync.WaitGroup
	defer wg.Wait()
	seq := 0
	for round := 0; time.Now().Before(end); round++ {
		for i := range flappers {
			if time.Now().After(half) {
				once.Do(func() { wg.Add(1); go func() { defer wg.Done(); during() }() })
			}
			seq++
			idx := i * (len(labels) / flappers)
			var err error
			want := Status{State: 1}
			if round%2 == 0 { // each agent alternates ERROR and OK
				err = fmt.Errorf("flap %d", seq)
				want = Status{State: 2, Error: err.Error()}
			}
			at := time.Now()
			if e := f.Set(idx, err); e != nil {
				t.Fatal(e)
			}
			changes = append(changes, change{labels[idx], want, at})
			time.Sleep(step)
		}
	}
	// Let the last changes arrive, then match each with the first event of
	// its key that shows it.
	time.Sleep(3 * time.Second)
	evs := w.events()
	var lat []time.Duration
	missing := 0
	for _, ch := range changes {
		found := false
		for _, e := range evs {
			if e.Label == ch.label && e.What == "plugin/"+NodePlugin && !e.Delete && e.Status == ch.want && !e.At.Before(ch.at) {
				lat = append(lat, e.At.Sub(ch.at))
				found = true
				break
			}
		}
		if !found {
			missing++
		}
	}
	// A change overtaken by the next one before it was published is
	// legitimately never seen; the keys are compared with the agents'
	// states afterwards.
	if missing > len(changes)/10 {
		t.Errorf("%d of %d changes never seen by the watcher", missing, len(changes))
	}
	return lat
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(float64(p)/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// keysMatch compares the node keys in etcd with each agent's own state.
func keysMatch(t *testing.T, cli *clientv3.Client, f *Fleet) (bool, string) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, Root, clientv3.WithPrefix())
	if err != nil {
		return false, err.Error()
	}
	stored := map[string]Status{}
	agents := map[string]bool{}
	for _, kv := range resp.Kvs {
		label, what, ok := ParseKey(string(kv.Key))
		if !ok {
			continue
		}
		if what == "agent" {
			agents[label] = true
		}
		if what != "plugin/"+NodePlugin {
			continue
		}
		s, err := ParseStatus(kv.Value)
		if err != nil {
			return false, err.Error()
		}
		stored[label] = s
	}
	var bad []string
	for label, own := range f.States() {
		want := Status{State: 2, Error: own.Error}
		if own.OK {
			want = Status{State: 1}
		}
		if got, ok := stored[label]; !ok || got != want || !agents[label] {
			bad = append(bad, fmt.Sprintf("%s: etcd %+v (agent key %v), agent %+v", label, got, agents[label], want))
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return false, fmt.Sprintf("%d agents differ, first: %s", len(bad), bad[0])
	}
	return true, ""
}

// dataBytes sums the sizes of the keys and values under Root.
func dataBytes(t *testing.T, cli *clientv3.Client) int64 {
	t.Helper()
	resp, err := cli.Get(t.Context(), Root, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, kv := range resp.Kvs {
		n += int64(len(kv.Key) + len(kv.Value))
	}
	return n
}

// counter reads a counter from the members' metrics: from one member when
// every member counts the same (applied puts), summed otherwise (lease
// renewals, counted by the leader).
func counter(t *testing.T, c *etcdtest.Cluster, name string, one bool) float64 {
	t.Helper()
	var sum float64
	for i := range c.Size() {
		v, err := Metric(t.Context(), "http://"+c.Member(i).Endpoints()[0]+"/metrics", name)
		if err != nil {
			t.Fatal(err)
		}
		if one {
			return v
		}
		sum += v
	}
	return sum
}

// watcher is the watcher process (the test binary in watcher mode) and the
// events it printed.
type watcher struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	evs  []Event
	done chan struct{}
}

func startWatcher(t *testing.T, endpoints []string) *watcher {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{cmd: exec.Command(self), done: make(chan struct{})}
	w.cmd.Env = append(os.Environ(), watcherEnv+"="+strings.Join(endpoints, ","))
	w.cmd.Stderr = os.Stderr
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if line == "watching" {
				close(ready)
				continue
			}
			e, err := ParseEvent(line)
			if err != nil {
				continue
			}
			w.mu.Lock()
			w.evs = append(w.evs, e)
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		<-w.done
		_ = w.cmd.Wait()
	})
	select {
	case <-ready:
	case <-time.After(time.Minute):
		t.Fatal("watcher did not start within a minute")
	}
	return w
}

func (w *watcher) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.evs)
}

func (w *watcher) events() []Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.evs)
}

// report collects the figures and prints them as a table and as
// "fleet <name> <value> <unit>" lines.
type report struct {
	rows [][3]string
}

func (r *report) add(name string, v float64, unit string) {
	r.rows = append(r.rows, [3]string{name, strconv.FormatFloat(v, 'f', -1, 64), unit})
}

func (r *report) print(t *testing.T) {
	var b strings.Builder
	fmt.Fprintln(&b, "fleet figures:")
	for _, row := range r.rows {
		v, _ := strconv.ParseFloat(row[1], 64)
		fmt.Fprintf(&b, "  %-60s %12s %s\n", row[0], strconv.FormatFloat(v, 'f', 1, 64), row[2])
	}
	for _, row := range r.rows {
		fmt.Fprintf(&b, "fleet %s %s %s\n", slug(row[0]), row[1], row[2])
	}
	t.Log(b.String())
}

// slug turns a figure's name into one word: "change -> watcher p50"
// becomes "change-watcher-p50".
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}

// checkAgentctl runs `agentctl status --all -o json` and compares every
// agent it lists with the agent's own state: OK, or ERROR with the node
// plugin in error and its error text.
func checkAgentctl(t *testing.T, endpoints []string, f *Fleet) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "agentctl")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/plinth-go/plinth/cmd/agentctl").CombinedOutput(); err != nil {
		t.Fatalf("go build agentctl: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--etcd-endpoints", strings.Join(endpoints, ","), "status", "--all", "-o", "json")
	cmd.Env = os.Environ()
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) { // 1: some agent is not OK
		t.Fatalf("agentctl status --all: %v\n%s", err, out)
	}
	var listed []struct {
		Label          string `json:"label"`
		State          string `json:"state"`
		PluginsInError []struct {
			Name  string `json:"name"`
			Error string `json:"error"`
		} `json:"plugins_in_error"`
	}
	if err := json.Unmarshal(out, &listed); err != nil {
		t.Fatalf("agentctl status --all -o json: %v\n%s", err, out)
	}
	own := f.States()
	if len(listed) != len(own) {
		t.Errorf("agentctl status --all lists %d agents, the fleet has %d", len(listed), len(own))
	}
	var bad []string
	for _, a := range listed {
		st, ok := own[a.Label]
		want := "OK"
		if !st.OK {
			want = "ERROR"
		}
		switch {
		case !ok:
			bad = append(bad, a.Label+": not an agent of the fleet")
		case a.State != want,
			!st.OK && (len(a.PluginsInError) != 1 || a.PluginsInError[0].Name != NodePlugin || a.PluginsInError[0].Error != st.Error):
			bad = append(bad, fmt.Sprintf("%s: agentctl says %s %+v, the agent holds %+v", a.Label, a.State, a.PluginsInError, st))
		}
	}
	if len(bad) > 0 {
		t.Errorf("agentctl status --all disagrees with the agents on %d of %d, first: %s", len(bad), len(listed), bad[0])
	}
}
