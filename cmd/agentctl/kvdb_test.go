package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
	clientv3 "go.etcd.io/etcd/client/v3"
	"gopkg.in/yaml.v3"

	"github.com/plinth-go/plinth/internal/testwait"
)

func TestGetPrintsValueAsText(t *testing.T) {
	e := testEnv(t)
	cli := newClient(t)
	prefix := "/vnf-agent/" + label(t) + "/"
	etcdPut(t, cli, prefix+"json", `{"state":1}`)
	etcdPut(t, cli, prefix+"text", "line one\nline two\n")
	etcdPut(t, cli, "/elsewhere/"+label(t), "abs")

	tests := []struct {
		name, key, want string
	}{
		{"relative key", "json", "{\"state\":1}\n"},
		{"absolute key", prefix + "json", "{\"state\":1}\n"},
		{"key outside the agent prefix", "/elsewhere/" + label(t), "abs\n"},
		{"value ending with a newline is not doubled", "text", "line one\nline two\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.agentctl(t, "", "kvdb", "get", tt.key).ok(t); got != tt.want {
				t.Errorf("kvdb get %s = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestGetAliasesAndServiceLabelFlag(t *testing.T) {
	e := testEnv(t)
	cli := newClient(t)
	etcdPut(t, cli, "/vnf-agent/other-"+label(t)+"/k", "v")
	for _, args := range [][]string{
		{"kvdb", "get", "--service-label", "other-" + label(t), "k"},
		{"kv", "g", "--service-label=other-" + label(t), "k"},
	} {
		if got := e.agentctl(t, "", args...).ok(t); got != "v\n" {
			t.Errorf("%v = %q, want %q", args, got, "v\n")
		}
	}
}

func TestGetJSONEmbedsValues(t *testing.T) {
	e := testEnv(t)
	cli := newClient(t)
	prefix := "/vnf-agent/" + label(t) + "/"
	tests := []struct {
		name, value string
		want        string // the value field, or value_base64
	}{
		{"json object", `{"state":2,"error":"x"}`, `"value":{"state":2,"error":"x"}`},
		{"json number", `42`, `"value":42`},
		{"text", `hello world`, `"value":"hello world"`},
		{"empty", ``, `"value":""`},
		{"binary", "\xff\x00\x01", `"value_base64":"/wAB"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := prefix + strings.ReplaceAll(tt.name, " ", "-")
			etcdPut(t, cli, key, tt.value)
			out := e.agentctl(t, "", "kvdb", "get", key, "-o", "json").ok(t)
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("-o json output %q is not JSON: %v", out, err)
			}
			if got["key"] != key {
				t.Errorf("key = %v, want %q", got["key"], key)
			}
			if rev, _ := got["revision"].(float64); rev <= 0 {
				t.Errorf("revision = %v, want > 0", got["revision"])
			}
			compact := strings.Join(strings.Fields(out), "")
			if want := strings.Join(strings.Fields(tt.want), ""); !strings.Contains(compact, want) {
				t.Errorf("-o json = %s, want it to contain %s", out, tt.want)
			}
		})
	}
}

func TestGetYAML(t *testing.T) {
	e := testEnv(t)
	etcdPut(t, newClient(t), "/vnf-agent/"+label(t)+"/s", `{"state":1}`)
	out := e.agentctl(t, "", "kvdb", "get", "s", "-o", "yaml").ok(t)
	var got struct {
		Key      string         `yaml:"key"`
		Value    map[string]int `yaml:"value"`
		Revision int64          `yaml:"revision"`
	}
	if err := yaml.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("-o yaml output %q: %v", out, err)
	}
	if got.Key != "/vnf-agent/"+label(t)+"/s" || got.Value["state"] != 1 || got.Revision <= 0 {
		t.Errorf("-o yaml = %q, want key, value.state=1 and a revision", out)
	}
}

func TestGetMissingKeyFails(t *testing.T) {
	e := testEnv(t)
	r := e.agentctl(t, "", "kvdb", "get", "x")
	want := fmt.Sprintf("agentctl: key %q not found\n", "/vnf-agent/"+label(t)+"/x")
	if r.code != exitError || r.stderr != want || r.stdout != "" {
		t.Errorf("kvdb get x = (%d, %q, %q), want (1, \"\", %q)", r.code, r.stdout, r.stderr, want)
	}
}

func TestPut(t *testing.T) {
	e := testEnv(t)
	prefix := "/vnf-agent/" + label(t) + "/"
	tests := []struct {
		name  string
		stdin string
		args  []string
		key   string
		value string
	}{
		{"relative key", "", []string{"kvdb", "put", "a", `{"x":1}`}, prefix + "a", `{"x":1}`},
		{"absolute key", "", []string{"kvdb", "p", prefix + "b", "text"}, prefix + "b", "text"},
		{"value from stdin kept as is", "from\nstdin\n", []string{"kvdb", "put", "c", "-"}, prefix + "c", "from\nstdin\n"},
		{"value starting with a dash", "", []string{"kvdb", "put", "d", "--", "-1"}, prefix + "d", "-1"},
		{"empty value", "", []string{"kvdb", "put", "e", ""}, prefix + "e", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if out := e.agentctl(t, tt.stdin, tt.args...).ok(t); out != "OK\n" {
				t.Errorf("%v printed %q, want OK", tt.args, out)
			}
			r := e.agentctl(t, "", "kvdb", "get", tt.key, "-o", "json")
			var got kvJSON
			if err := json.Unmarshal([]byte(r.ok(t)), &got); err != nil {
				t.Fatal(err)
			}
			var value string
			if err := json.Unmarshal(got.Value, &value); err != nil {
				// Stored JSON is embedded, and indented by -o json.
				var b bytes.Buffer
				if err := json.Compact(&b, got.Value); err != nil {
					t.Fatal(err)
				}
				value = b.String()
			}
			if value != tt.value {
				t.Errorf("after %v the value of %s is %q, want %q", tt.args, tt.key, value, tt.value)
			}
		})
	}
}

func TestPutJSON(t *testing.T) {
	e := testEnv(t)
	out := e.agentctl(t, "", "kvdb", "put", "k", "v", "-o", "json").ok(t)
	var got putResult
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("put -o json = %q: %v", out, err)
	}
	if got.Key != "/vnf-agent/"+label(t)+"/k" || got.Revision <= 0 {
		t.Errorf("put -o json = %+v, want the full key and a revision", got)
	}
}

func TestDel(t *testing.T) {
	e := testEnv(t)
	key := "/vnf-agent/" + label(t) + "/gone"
	etcdPut(t, newClient(t), key, "v")

	if out := e.agentctl(t, "", "kvdb", "del", "gone").ok(t); out != "OK\n" {
		t.Errorf("del printed %q, want OK", out)
	}
	r := e.agentctl(t, "", "kvdb", "d", "gone")
	if want := fmt.Sprintf("agentctl: key %q not found\n", key); r.code != exitError || r.stderr != want {
		t.Errorf("del of a missing key = (%d, %q), want (1, %q)", r.code, r.stderr, want)
	}
	if r := e.agentctl(t, "", "kvdb", "get", key); r.code != exitError {
		t.Errorf("get after del: exit %d, want 1", r.code)
	}

	etcdPut(t, newClient(t), key, "v")
	out := e.agentctl(t, "", "kvdb", "del", key, "-o", "json").ok(t)
	var got putResult
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Key != key || got.Deleted != 1 || got.Revision <= 0 {
		t.Errorf("del -o json = %q (%v), want key, deleted 1 and a revision", out, err)
	}
}

func TestList(t *testing.T) {
	e := testEnv(t)
	cli := newClient(t)
	prefix := "/vnf-agent/" + label(t) + "/"
	etcdPut(t, cli, prefix+"b/2", "two")
	etcdPut(t, cli, prefix+"a", `{"n":1}`)
	etcdPut(t, cli, prefix+"b/1", "one")
	etcdPut(t, cli, "/vnf-agent/"+label(t)+"-other/x", "not mine")

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"agent prefix by default, sorted", []string{"kvdb", "list"},
			prefix + "a\n{\"n\":1}\n" + prefix + "b/1\none\n" + prefix + "b/2\ntwo\n"},
		{"relative prefix", []string{"kvdb", "ls", "b/"}, prefix + "b/1\none\n" + prefix + "b/2\ntwo\n"},
		{"absolute prefix", []string{"kvdb", "l", prefix + "b/2"}, prefix + "b/2\ntwo\n"},
		{"keys only", []string{"kvdb", "list", "--keys-only"}, prefix + "a\n" + prefix + "b/1\n" + prefix + "b/2\n"},
		{"nothing under the prefix", []string{"kvdb", "list", "none/"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.agentctl(t, "", tt.args...).ok(t); got != tt.want {
				t.Errorf("%v =\n%s\nwant\n%s", tt.args, got, tt.want)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		var got []kvJSON
		out := e.agentctl(t, "", "kvdb", "list", "-o", "json").ok(t)
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("list -o json = %q: %v", out, err)
		}
		var first bytes.Buffer
		if len(got) == 3 {
			_ = json.Compact(&first, got[0].Value)
		}
		if len(got) != 3 || got[0].Key != prefix+"a" || first.String() != `{"n":1}` || string(got[1].Value) != `"one"` {
			t.Errorf("list -o json = %s", out)
		}
	})
	t.Run("json keys only", func(t *testing.T) {
		out := e.agentctl(t, "", "kvdb", "list", "--keys-only", "-o", "json").ok(t)
		if strings.Contains(out, "value") || !strings.Contains(out, prefix+"b/2") {
			t.Errorf("list --keys-only -o json = %s, want keys without values", out)
		}
	})
	t.Run("json empty", func(t *testing.T) {
		if out := e.agentctl(t, "", "kvdb", "list", "none/", "-o", "json").ok(t); out != "[]\n" {
			t.Errorf("empty list -o json = %q, want []", out)
		}
	})
}

// startWatch runs "kvdb watch" with args in the background and waits until
// it reports events: it writes the sentinel key, which must be under the
// watched prefix, until it shows up.
// The returned stop ends the watch and returns its result.
func startWatch(t *testing.T, e env, cli *clientv3.Client, sentinel string, args ...string) (out *syncBuffer, stop func() result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	out = &syncBuffer{}
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"kvdb", "watch"}, args...), func(k string) string { return e[k] },
			strings.NewReader(""), out, &stderr)
	}()
	for !strings.Contains(out.String(), sentinel) {
		select {
		case code := <-done:
			cancel()
			t.Fatalf("watch ended early with %d: %s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		etcdPut(t, cli, sentinel, "s")
	}
	return out, func() result {
		cancel()
		code := <-done
		return result{code: code, stdout: out.String(), stderr: stderr.String()}
	}
}

// waitFor waits until out contains want, or fails the test.
func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	testwait.For(t, 10*time.Second, fmt.Sprintf("output containing %q", want), func() (bool, string) {
		got := out.String()
		return strings.Contains(got, want), fmt.Sprintf("output %q", got)
	})
}

func TestWatchPrintsPutAndDelete(t *testing.T) {
	e := testEnv(t)
	cli := newClient(t)
	prefix := "/vnf-agent/" + label(t) + "/"
	out, stop := startWatch(t, e, cli, prefix+"w/sentinel", "w/")
	etcdPut(t, cli, prefix+"w/x", `{"a":1}`)
	if _, err := cli.Delete(t.Context(), prefix+"w/x"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "DELETE "+prefix+"w/x\n")
	r := stop()
	if r.code != exitOK {
		t.Errorf("interrupted watch exit %d, want 0; stderr %q", r.code, r.stderr)
	}
	if want := "PUT " + prefix + "w/x {\"a\":1}\nDELETE " + prefix + "w/x\n"; !strings.HasSuffix(r.stdout, want) {
		t.Errorf("watch printed %q, want it to end with %q", r.stdout, want)
	}
}

func TestWatchJSONLines(t *testing.T) {
	e := testEnv(t)
	cli := newClient(t)
	prefix := "/vnf-agent/" + label(t) + "/"
	out, stop := startWatch(t, e, cli, prefix+"sentinel", "-o", "json")
	etcdPut(t, cli, prefix+"x", "text")
	if _, err := cli.Delete(t.Context(), prefix+"x"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, `"type":"DELETE"`)
	r := stop()
	var events []kvJSON
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var ev kvJSON
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("watch -o json line %q: %v", line, err)
		}
		if ev.Key == prefix+"x" {
			events = append(events, ev)
		}
	}
	if len(events) != 2 || events[0].Type != "PUT" || string(events[0].Value) != `"text"` ||
		events[1].Type != "DELETE" || events[1].Value != nil || events[1].Revision <= events[0].Revision {
		t.Errorf("watch -o json events = %+v, want a PUT then a DELETE with growing revisions", events)
	}
}

func TestWrongArityIsUsageError(t *testing.T) {
	e := testEnv(t)
	tests := [][]string{
		{"kvdb", "get"},
		{"kvdb", "get", "a", "b"},
		{"kvdb", "put", "a"}, // panicked in the original agentctl
		{"kvdb", "put"},
		{"kvdb", "put", "a", "b", "c"},
		{"kvdb", "del"},
		{"kvdb", "list", "a", "b"},
		{"kvdb", "watch", "a", "b"},
		{"kvdb", "bogus"},
		{"bogus"},
		{"status", "x"},
		{"log", "set", "a"},
		{"log", "set", "a", "b", "c"},
		{"log", "list", "a", "b"},
		{"log", "bogus"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := e.agentctl(t, "", args...)
			if r.code != exitUsage {
				t.Errorf("%v: exit %d, want %d; stderr %q", args, r.code, exitUsage, r.stderr)
			}
			if !strings.HasPrefix(r.stderr, "agentctl: ") || !strings.Contains(r.stderr, "--help") {
				t.Errorf("%v: stderr %q, want an error and a pointer to --help", args, r.stderr)
			}
		})
	}
}

func TestBadFlagsAreUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		env  env
		args []string
		want string
	}{
		{"unknown flag", nil, []string{"kvdb", "get", "--bogus", "k"}, "unknown flag: --bogus"},
		{"bad output", nil, []string{"kvdb", "get", "k", "-o", "xml"}, `--output "xml"`},
		{"zero timeout", nil, []string{"kvdb", "get", "k", "--timeout", "0s"}, "--timeout must be positive"},
		{"bad timeout", nil, []string{"kvdb", "get", "k", "--timeout", "5"}, "invalid argument"},
		{"bad timeout from env", env{"AGENTCTL_TIMEOUT": "soon"}, []string{"kvdb", "get", "k"}, `env AGENTCTL_TIMEOUT="soon"`},
		{"bad basic auth", nil, []string{"kvdb", "get", "k", "--http-basic-auth", "nopass"}, "user:pass"},
		{"bad label", nil, []string{"kvdb", "get", "k", "--service-label", "a/b"}, "invalid microservice label"},
		{"empty endpoints", nil, []string{"kvdb", "get", "k", "-e", ","}, "--etcd-endpoints is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testEnv(t)
			for k, v := range tt.env {
				e[k] = v
			}
			r := e.agentctl(t, "", tt.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("%v: (%d, %q), want (%d, containing %q)", tt.args, r.code, r.stderr, exitUsage, tt.want)
			}
		})
	}
}

// TestRefusedEtcdFailsAtOnce: when every endpoint refuses connections,
// nothing listens there, and agentctl says so without waiting for
// --timeout (1h here: a wait would fail the test by its own deadline).
func TestRefusedEtcdFailsAtOnce(t *testing.T) {
	// Port 1 is privileged and unused: connection refused.
	e := env{"AGENTCTL_ETCD_ENDPOINTS": "127.0.0.1:1, http://127.0.0.1:1"}
	for _, args := range [][]string{
		{"kvdb", "get", "k"},
		{"kvdb", "put", "k", "v"},
		{"kvdb", "del", "k"},
		{"kvdb", "list"},
		{"kvdb", "watch"},
		{"kvdb", "get", "k", "-o", "json"},
		{"status", "--all"},
		{"status", "--all", "--watch"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runBounded(t, e, append(args, "--timeout", "1h")...)
			want := "agentctl: cannot reach etcd at 127.0.0.1:1,http://127.0.0.1:1: connection refused\n"
			wantCode := exitUnavailable
			if args[0] == "status" {
				wantCode = exitVerdictUnknown
			}
			if r.code != wantCode || r.stderr != want || r.stdout != "" {
				t.Errorf("agentctl %v = (%d, %q, %q), want (%d, \"\", %q)", args, r.code, r.stdout, r.stderr, wantCode, want)
			}
		})
	}
}

// runBounded runs agentctl and fails the test if it has not ended within
// 30 seconds, far longer than any bound agentctl sets itself in the tests
// that use it, and far shorter than the --timeout they give.
func runBounded(t *testing.T, e env, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan result, 1)
	go func() { done <- e.agentctlCtx(ctx, "", args...) }()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case r := <-done:
		return r
	case <-timer.C:
		cancel()
		<-done
		t.Fatalf("agentctl %v did not end within 30s", args)
		return result{}
	}
}

// silentServer accepts TCP connections and never says a word: an etcd or
// an agent that hangs.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func TestSilentEtcdFailsWithinTimeout(t *testing.T) {
	silent := silentServer(t)
	// One endpoint hangs, the other refuses: no answer, not a refusal.
	e := env{"AGENTCTL_ETCD_ENDPOINTS": silent + ",127.0.0.1:1"}
	const timeout = 300 * time.Millisecond
	for _, args := range [][]string{
		{"kvdb", "get", "k"},
		{"kvdb", "put", "k", "v"},
		{"kvdb", "list"},
		{"kvdb", "watch"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runBounded(t, e, append(args, "--timeout", timeout.String())...)
			if r.code != exitUnavailable {
				t.Errorf("exit %d, want %d; stderr %q", r.code, exitUnavailable, r.stderr)
			}
			want := fmt.Sprintf("no answer from %s,127.0.0.1:1 within 300ms\n", silent)
			if !strings.HasSuffix(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr %q, want one line ending with %q", r.stderr, want)
			}
		})
	}
}

func TestEnvironmentAndFlagPrecedence(t *testing.T) {
	cli := newClient(t)
	etcdPut(t, cli, "/vnf-agent/env-"+label(t)+"/k", "from env label")
	etcdPut(t, cli, "/vnf-agent/flag-"+label(t)+"/k", "from flag label")
	e := env{
		"AGENTCTL_ETCD_ENDPOINTS": " " + testEtcd.Endpoints()[0] + " ,", // blanks are dropped
		"AGENTCTL_SERVICE_LABEL":  "env-" + label(t),
	}
	if r := e.agentctl(t, "", "kvdb", "get", "k"); r.ok(t) != "from env label\n" || r.stderr != "" {
		t.Errorf("label from AGENTCTL_SERVICE_LABEL: got (%q, %q)", r.stdout, r.stderr)
	}
	if got := e.agentctl(t, "", "kvdb", "get", "k", "--service-label", "flag-"+label(t)).ok(t); got != "from flag label\n" {
		t.Errorf("--service-label over AGENTCTL_SERVICE_LABEL: got %q", got)
	}
	// The flag wins over AGENTCTL_ETCD_ENDPOINTS: a dead endpoint from the
	// flag fails.
	r := e.agentctl(t, "", "kvdb", "get", "k", "-e", "127.0.0.1:1", "--timeout", "200ms")
	if r.code != exitUnavailable {
		t.Errorf("-e over AGENTCTL_ETCD_ENDPOINTS: exit %d, want %d", r.code, exitUnavailable)
	}
	// AGENTCTL_OUTPUT sets the default format.
	e["AGENTCTL_OUTPUT"] = "json"
	if got := e.agentctl(t, "", "kvdb", "get", "k").ok(t); !strings.Contains(got, `"value": "from env label"`) {
		t.Errorf("AGENTCTL_OUTPUT=json: got %q", got)
	}
}

// TestEveryEnvironmentVariableIsAGENTCTL pins the naming scheme: each
// global flag reads AGENTCTL_ and its name, and its help names it.
func TestEveryEnvironmentVariableIsAGENTCTL(t *testing.T) {
	root := newRootCmd(&globalOptions{})
	seen := map[string]bool{}
	for _, ef := range envFlags {
		seen[ef.flag] = true
		if want := "AGENTCTL_" + strings.ToUpper(strings.ReplaceAll(ef.flag, "-", "_")); ef.env != want {
			t.Errorf("--%s reads %s, want %s", ef.flag, ef.env, want)
		}
		f := root.PersistentFlags().Lookup(ef.flag)
		if f == nil {
			t.Errorf("no global flag --%s", ef.flag)
			continue
		}
		if !strings.Contains(f.Usage, "(env "+ef.env+")") {
			t.Errorf("--%s help %q does not name %s", ef.flag, f.Usage, ef.env)
		}
	}
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
		if !seen[f.Name] {
			t.Errorf("global flag --%s has no environment variable", f.Name)
		}
	})
}

// TestDeprecatedEnvironmentVariablesStillWork: the names of earlier
// versions apply, with one line on stderr per variable naming the new
// one, unless the new variable or the flag is set.
func TestDeprecatedEnvironmentVariablesStillWork(t *testing.T) {
	cli := newClient(t)
	etcdPut(t, cli, "/vnf-agent/old-"+label(t)+"/k", "from the old label")
	etcdPut(t, cli, "/vnf-agent/new-"+label(t)+"/k", "from the new label")
	old := env{
		"ETCD_ENDPOINTS":     testEtcd.Endpoints()[0],
		"MICROSERVICE_LABEL": "old-" + label(t),
		"AGENT_HOST":         "127.0.0.1",
	}
	r := old.agentctl(t, "", "kvdb", "get", "k")
	wantNotes := "agentctl: ETCD_ENDPOINTS is deprecated, set AGENTCTL_ETCD_ENDPOINTS instead\n" +
		"agentctl: MICROSERVICE_LABEL is deprecated, set AGENTCTL_SERVICE_LABEL instead\n" +
		"agentctl: AGENT_HOST is deprecated, set AGENTCTL_HOST instead\n"
	if r.ok(t) != "from the old label\n" || r.stderr != wantNotes {
		t.Errorf("kvdb get with the old names = (%q, %q), want (%q, %q)", r.stdout, r.stderr, "from the old label\n", wantNotes)
	}

	both := env{
		"ETCD_ENDPOINTS":          "127.0.0.1:1",
		"AGENTCTL_ETCD_ENDPOINTS": testEtcd.Endpoints()[0],
		"MICROSERVICE_LABEL":      "old-" + label(t),
		"AGENTCTL_SERVICE_LABEL":  "new-" + label(t),
	}
	if r := both.agentctl(t, "", "kvdb", "get", "k"); r.ok(t) != "from the new label\n" || r.stderr != "" {
		t.Errorf("kvdb get with old and new names = (%q, %q), want the new ones to win silently", r.stdout, r.stderr)
	}
	flags := env{"ETCD_ENDPOINTS": "127.0.0.1:1", "MICROSERVICE_LABEL": "old-" + label(t)}
	r = flags.agentctl(t, "", "kvdb", "get", "k", "-e", testEtcd.Endpoints()[0], "--service-label", "new-"+label(t))
	if r.ok(t) != "from the new label\n" || r.stderr != "" {
		t.Errorf("kvdb get with flags over the old names = (%q, %q), want the flags to win silently", r.stdout, r.stderr)
	}
	bad := env{"AGENT_HOST": "127.0.0.1", "AGENTCTL_TIMEOUT": "soon"}
	if r := bad.agentctl(t, "", "status"); r.code != exitVerdictUnknown || !strings.Contains(r.stderr, `env AGENTCTL_TIMEOUT="soon"`) {
		t.Errorf("status with a bad AGENTCTL_TIMEOUT = (%d, %q)", r.code, r.stderr)
	}
	if r := (env{"ETCD_ENDPOINTS": ","}).agentctl(t, "", "kvdb", "get", "k"); r.code != exitUsage || !strings.Contains(r.stderr, "--etcd-endpoints is empty") {
		t.Errorf("kvdb get with ETCD_ENDPOINTS=, = (%d, %q)", r.code, r.stderr)
	}
}

// TestEveryCommandPrintsJSON walks the command tree: every command that
// runs gets a case here, so a new command cannot ship without -o json.
func TestEveryCommandPrintsJSON(t *testing.T) {
	e := testEnv(t)
	etcdPut(t, newClient(t), "/vnf-agent/"+label(t)+"/k", "v")
	etcdPut(t, newClient(t), "/vnf-agent/"+label(t)+"/gone", "v")
	// The agent commands talk to a fake agent.
	srv := newFakeAgent(t, &fakeAgent{readyCode: http.StatusOK, readyBody: healthyBody})
	for k, v := range agentEnv(t, srv.Listener.Addr().String()) {
		e[k] = v
	}
	cases := map[string][]string{
		"agentctl status":     {"status"},
		"agentctl log list":   {"log", "list"},
		"agentctl log set":    {"log", "set", "etcd", "debug"},
		"agentctl kvdb get":   {"kvdb", "get", "k"},
		"agentctl kvdb put":   {"kvdb", "put", "k2", "v"},
		"agentctl kvdb del":   {"kvdb", "del", "gone"},
		"agentctl kvdb list":  {"kvdb", "list"},
		"agentctl kvdb watch": nil, // streams; see TestWatchJSONLines
		"agentctl version":    {"version"},

		"agentctl process list":      nil, // the fake agent has no supervisor; see TestProcessListJSON
		"agentctl process start":     nil, // see TestProcessStartStopRestartPostToTheSupervisor
		"agentctl process stop":      nil, // likewise
		"agentctl process restart":   nil, // likewise
		"agentctl process log":       nil, // see TestProcessLogPrintsTheLastLines and TestProcessLogFollowJSONLines
		"agentctl supervisor reload": nil, // see TestSupervisorReloadPrintsTheFourLists
	}
	root := newRootCmd(&globalOptions{})
	var paths []string
	stack := root.Commands()
	for len(stack) > 0 {
		c := stack[0]
		stack = append(stack[1:], c.Commands()...)
		// Groups only print help; cobra's completion scripts are not data.
		if c.HasSubCommands() || c.Name() == "help" || c.Parent().Name() == "completion" {
			continue
		}
		paths = append(paths, c.CommandPath())
	}
	for _, path := range paths {
		args, ok := cases[path]
		if !ok {
			t.Errorf("%s has no -o json case in this test", path)
			continue
		}
		if args == nil {
			continue
		}
		t.Run(path, func(t *testing.T) {
			out := e.agentctl(t, "", append(args, "-o", "json")...).ok(t)
			if !json.Valid([]byte(out)) {
				t.Errorf("%s -o json printed %q, not JSON", path, out)
			}
		})
	}
}
