//go:build linux

package faultsuite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-go/plinth/internal/freeport"
)

// The status-truth scenario checks the status keys from outside, with
// tools Plinth did not write: Debian's etcd server and etcdctl
// (packages etcd-server and etcd-client, which .ci/run installs).
const (
	debianEtcd    = "/usr/bin/etcd"
	debianEtcdctl = "/usr/bin/etcdctl"
)

// statusTTL is the agent's session TTL in this scenario.
const statusTTL = 2 * time.Second

// TestStatusKeysStayTrueAcrossLeaseLossOutageAndWipe: with the default
// config (expire-with-agent on), the agent's lease is revoked with etcdctl,
// etcd is stopped for longer than the session TTL, and etcd's data dir is
// wiped. After each, within session-ttl + 2 s of etcd being healthy,
// `etcdctl get --prefix /vnf-agent/<label>/check/status/v1/` equals what
// /readiness serves (every key, whole values) and the states /readiness
// ?verbose lists, and still does one session TTL later. While etcd is down,
// /liveness answers 200 and /readiness 503.
func TestStatusKeysStayTrueAcrossLeaseLossOutageAndWipe(t *testing.T) {
	const scenario = "status-truth"
	requireDebianEtcd(t)
	e := startDebianEtcd(t)
	a := newAgent(t, "faultsuite-truth", []string{e.endpoint}, map[string]string{
		"etcd.conf":       fmt.Sprintf("session-ttl: %s\n", statusTTL),
		"supervisor.conf": sleeperConf,
	})
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	a.Start()
	keysEqualReadiness := func(ctx context.Context) (bool, string) {
		diff, err := statusDiff(ctx, c, e, a)
		if err != nil {
			return false, err.Error()
		}
		return diff == "", diff
	}
	waitFor(t, recoverTimeout, "the agent's keys equal /readiness", keysEqualReadiness)

	faults := []struct {
		name string
		do   func(t *testing.T)
	}{
		{"lease revoked", func(t *testing.T) {
			lease := e.leaseOf(t, "/vnf-agent/"+a.label+"/check/status/v1/agent")
			e.ctl(t, "lease", "revoke", lease)
		}},
		{"etcd down longer than the TTL", func(t *testing.T) {
			e.stop(t)
			// With etcd down the agent is alive but not ready.
			waitFor(t, recoverTimeout, "/readiness 503 and /liveness 200 while etcd is down", func(ctx context.Context) (bool, string) {
				ready, _, _, err := probe(ctx, c, a.url("/readiness"))
				if err != nil {
					return false, err.Error()
				}
				live, s, _, err := probe(ctx, c, a.url("/liveness"))
				if err != nil {
					return false, err.Error()
				}
				return ready == http.StatusServiceUnavailable && live == http.StatusOK,
					fmt.Sprintf("/readiness %d, /liveness %d: %v", ready, live, s.states())
			})
			time.Sleep(2*statusTTL + time.Second)
			if live, s, _, err := probe(t.Context(), c, a.url("/liveness")); err != nil || live != http.StatusOK {
				t.Errorf("/liveness = %d, %v with etcd down past the TTL, want 200: %v", live, err, s.states())
			}
			e.start(t)
		}},
		{"etcd data wiped", func(t *testing.T) {
			e.stop(t)
			if err := os.RemoveAll(e.dataDir); err != nil {
				t.Fatal(err)
			}
			e.start(t)
		}},
	}
	for round := range rounds(1, 5) {
		for _, f := range faults {
			f.do(t)
			d := waitFor(t, statusTTL+2*time.Second,
				fmt.Sprintf("round %d, %s: keys equal /readiness within session-ttl + 2 s of etcd being healthy", round, f.name),
				keysEqualReadiness)
			record(t, scenario, f.name+" -> keys equal /readiness", d)
			// Keys left on a dead lease would vanish by now. A status
			// change made just now may take a moment to reach etcd.
			time.Sleep(statusTTL + time.Second)
			waitFor(t, 2*time.Second, fmt.Sprintf("round %d, %s: the keys still equal /readiness one session TTL later", round, f.name),
				keysEqualReadiness)
		}
	}
}

// debianEtcdServer is Debian's etcd, one member, as a child process that a
// test stops and starts again on the same ports and data dir.
type debianEtcdServer struct {
	endpoint, peer, dataDir, log string
	cmd                          *exec.Cmd
	done                         chan struct{}
}

// requireDebianEtcd skips the test when Debian's etcd and etcdctl are not
// installed, and fails it in CI, which installs them.
func requireDebianEtcd(t *testing.T) {
	t.Helper()
	for _, bin := range []string{debianEtcd, debianEtcdctl} {
		if _, err := os.Stat(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s: %v (install Debian's etcd-server and etcd-client)", bin, err)
			}
			t.Skipf("%s: %v (apt-get install etcd-server etcd-client)", bin, err)
		}
	}
}

func startDebianEtcd(t *testing.T) *debianEtcdServer {
	t.Helper()
	dir := t.TempDir()
	e := &debianEtcdServer{
		endpoint: "http://" + freeport.Addr(t), peer: "http://" + freeport.Addr(t),
		dataDir: filepath.Join(dir, "data"), log: filepath.Join(dir, "etcd.log"),
	}
	e.start(t)
	t.Cleanup(func() { e.stop(t) })
	return e
}

func (e *debianEtcdServer) start(t *testing.T) {
	t.Helper()
	out, err := os.OpenFile(e.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(debianEtcd,
		"--name", "truth", "--data-dir", e.dataDir,
		"--listen-client-urls", e.endpoint, "--advertise-client-urls", e.endpoint,
		"--listen-peer-urls", e.peer, "--initial-advertise-peer-urls", e.peer,
		"--initial-cluster", "truth="+e.peer)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e.cmd, e.done = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(e.done)
	waitFor(t, recoverTimeout, "Debian's etcd is healthy", func(ctx context.Context) (bool, string) {
		out, err := e.run(ctx, "endpoint", "health")
		return err == nil, fmt.Sprintf("%s %v", out, err)
	})
}

func (e *debianEtcdServer) stop(t *testing.T) {
	if e.cmd == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(20 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.done
	}
	e.cmd = nil
	if t.Failed() {
		if b, err := os.ReadFile(e.log); err == nil {
			t.Logf("etcd output:\n%s", tail(string(b), 30))
		}
	}
}

// run runs etcdctl against the server and returns its standard output.
func (e *debianEtcdServer) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, debianEtcdctl, append([]string{"--endpoints", e.endpoint, "--command-timeout", "5s"}, args...)...)
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("etcdctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func (e *debianEtcdServer) ctl(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := e.run(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// leaseOf returns the lease of key in the hexadecimal form etcdctl takes.
func (e *debianEtcdServer) leaseOf(t *testing.T, key string) string {
	t.Helper()
	var resp struct {
		Kvs []struct {
			Lease int64 `json:"lease"`
		} `json:"kvs"`
	}
	if err := json.Unmarshal(e.ctl(t, "get", key, "-w", "json"), &resp); err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Lease == 0 {
		t.Fatalf("etcdctl get %s: %v, %+v; want one key with a lease", key, err, resp)
	}
	return strconv.FormatInt(resp.Kvs[0].Lease, 16)
}

// statusDiff compares the status keys etcdctl reads with what the agent
// serves: every key whole with /readiness (the agent key is its body, each
// plugin key its entry without the name), and the states with the lines of
// /readiness?verbose. It returns "" when they are equal.
func statusDiff(ctx context.Context, c *http.Client, e *debianEtcdServer, a *agent) (string, error) {
	prefix := "/vnf-agent/" + a.label + "/check/status/v1/"
	out, err := e.run(ctx, "get", "--prefix", prefix)
	if err != nil {
		return "", err
	}
	stored := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		stored[strings.TrimPrefix(lines[i], prefix)] = lines[i+1]
	}
	return statusDiffFrom(ctx, c, a, stored)
}

// statusDiffFrom compares the status keys stored, by name under the
// agent's status prefix, with what the agent serves (see statusDiff).
func statusDiffFrom(ctx context.Context, c *http.Client, a *agent, stored map[string]string) (string, error) {
	body, err := getBody(ctx, c, a.url("/readiness"))
	if err != nil {
		return "", err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("/readiness body %q: %w", body, err)
	}
	var plugins []map[string]json.RawMessage
	if err := json.Unmarshal(doc["plugins"], &plugins); err != nil {
		return "", err
	}
	delete(doc, "non_fatal_plugins")
	want := map[string]string{"agent": compactJSON(doc)}
	for _, p := range plugins {
		var name string
		_ = json.Unmarshal(p["name"], &name)
		delete(p, "name")
		want["plugin/"+name] = compactJSON(p)
	}
	var diffs []string
	for k, w := range want {
		if got, ok := stored[k]; !ok {
			diffs = append(diffs, "missing "+k)
		} else if canonJSON(got) != w {
			diffs = append(diffs, fmt.Sprintf("%s = %s, /readiness has %s", k, got, w))
		}
	}
	for k := range stored {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, "extra "+k)
		}
	}
	// ?verbose lists the same plugins in the same states.
	verbose, err := getBody(ctx, c, a.url("/readiness?verbose"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(verbose), "\n") {
		if len(line) < 4 || (line[:3] != "[+]" && line[:3] != "[-]") {
			continue
		}
		name, rest, _ := strings.Cut(line[3:], " ")
		state, _, _ := strings.Cut(rest, " ")
		state = strings.TrimSuffix(state, ":")
		var stateNum int
		_ = json.Unmarshal([]byte(jsonField(stored["plugin/"+name], "state")), &stateNum)
		if want := map[string]int{"INIT": 0, "OK": 1, "ERROR": 2}[state]; stored["plugin/"+name] == "" || stateNum != want {
			diffs = append(diffs, fmt.Sprintf("?verbose says %s %s, etcd has %q", name, state, stored["plugin/"+name]))
		}
	}
	slices.Sort(diffs)
	return strings.Join(diffs, "; "), nil
}

func getBody(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// compactJSON encodes v with sorted keys, the form canonJSON gives.
func compactJSON(v any) string {
	b, _ := json.Marshal(v)
	return canonJSON(string(b))
}

// canonJSON re-encodes a JSON object with sorted keys, so that values
// written by different encoders compare equal when they hold the same.
func canonJSON(s string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return s
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func jsonField(s, field string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(s), &m) != nil {
		return ""
	}
	return string(m[field])
}
