package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/plinth-go/plinth/examples/internal/exampletest"
	"github.com/plinth-go/plinth/internal/freeport"
)

// The tests here run the demo agent as `make run` does: a process of its
// own, built with go build, with the arguments, environment and files of a
// user, and agentctl as the hint prints it.

const (
	demoPkg     = "github.com/plinth-go/plinth/examples/agent"
	agentctlPkg = "github.com/plinth-go/plinth/cmd/agentctl"
)

// The bounds are far above what an idle machine needs, for a loaded one.
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

// demoProcess is a demo agent started by startDemo.
type demoProcess struct {
	*exampletest.Process
	httpPort int
	hint     string // the start-up hint, unquoted
}

// startDemo starts the demo agent in dir (its working directory, the
// default config dir) on a free HTTP port, with args after -http-port and
// env added to a clean environment, and waits for the start-up hint.
func startDemo(t *testing.T, dir string, args, env []string) *demoProcess {
	t.Helper()
	port := freeport.Port(t)
	p := exampletest.Start(t, exampletest.Command{
		Binary: exampletest.Binary(t, demoPkg),
		Args:   append([]string{"-http-port", strconv.Itoa(port)}, args...),
		Env:    exampletest.Env(env...),
		Dir:    dir,
	})
	out := p.WaitOutput(t, ". Try:", startTimeout)
	return &demoProcess{Process: p, httpPort: port, hint: parseHint(t, out)}
}

// hintMsg finds the msg of the hint in the text log format, which quotes
// it with its line breaks escaped.
var hintMsg = regexp.MustCompile(`msg=("demo agent (?:[^"\\]|\\.)*")`)

func parseHint(t *testing.T, out string) string {
	t.Helper()
	m := hintMsg.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no hint in the output:\n%s", out)
	}
	hint, err := strconv.Unquote(m[1])
	if err != nil {
		t.Fatalf("hint %s: %v", m[1], err)
	}
	return hint
}

func (d *demoProcess) url(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(d.httpPort) + path
}

// checkServes checks that the agent is ready, uses the etcd at endpoint,
// publishes its status there, and that the hint says so in commands that
// work as printed.
func (d *demoProcess) checkServes(t *testing.T, endpoint string) {
	t.Helper()
	for _, want := range []string{
		fmt.Sprintf(`demo agent "vpp1" ready with embedded etcd %s. Try:`, endpoint),
		fmt.Sprintf("  curl http://127.0.0.1:%d/readiness\n", d.httpPort),
		fmt.Sprintf("  go run ./cmd/agentctl -H 127.0.0.1 --http-port %d status\n", d.httpPort),
		fmt.Sprintf("  go run ./cmd/agentctl --etcd-endpoints %s kvdb get /vnf-agent/vpp1/check/status/v1/agent", endpoint),
	} {
		if !strings.Contains(d.hint, want) {
			t.Errorf("hint lacks %q:\n%s", want, d.hint)
		}
	}

	exampletest.WaitFor(t, startTimeout, "/readiness answers 200", func() (bool, string) {
		code, body, err := httpGet(d.url("/readiness"))
		return code == http.StatusOK, fmt.Sprintf("%d %s %v", code, body, err)
	})
	var info struct {
		Etcd     []string `json:"etcd"`
		Embedded bool     `json:"embedded_etcd"`
	}
	if code, body, err := httpGet(d.url("/info")); err != nil || code != http.StatusOK || json.Unmarshal(body, &info) != nil {
		t.Fatalf("GET /info = %d %s %v", code, body, err)
	}
	if !info.Embedded || !slices.Equal(info.Etcd, []string{endpoint}) {
		t.Errorf("GET /info: etcd %v, embedded %v; want the embedded server at %s", info.Etcd, info.Embedded, endpoint)
	}

	// The agent's status in the etcd at endpoint, read by a client of the
	// test's own: the agent is connected to that server.
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	key := "/vnf-agent/vpp1/check/status/v1/agent"
	exampletest.WaitFor(t, startTimeout, key+" is OK in the etcd at "+endpoint, func() (bool, string) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		resp, err := cli.Get(ctx, key)
		if err != nil || len(resp.Kvs) != 1 {
			return false, fmt.Sprintf("%v %v", resp, err)
		}
		var st struct {
			State int `json:"state"`
		}
		err = json.Unmarshal(resp.Kvs[0].Value, &st)
		return err == nil && st.State == 1, string(resp.Kvs[0].Value)
	})

	// Every agentctl command of the hint works as printed.
	var ran int
	for line := range strings.Lines(d.hint) {
		args, ok := strings.CutPrefix(strings.TrimSpace(line), "go run ./cmd/agentctl ")
		if !ok {
			continue
		}
		ran++
		cmd := exec.Command(exampletest.Binary(t, agentctlPkg), strings.Fields(args)...)
		cmd.Env = exampletest.Env()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("agentctl %s: %v\n%s", args, err, out)
		} else if !strings.Contains(string(out), "OK") && !strings.Contains(string(out), `"state": 1`) && !strings.Contains(string(out), `"state":1`) {
			t.Errorf("agentctl %s printed no OK state:\n%s", args, out)
		}
	}
	if ran != 2 {
		t.Errorf("the hint has %d agentctl commands, want 2:\n%s", ran, d.hint)
	}
}

func httpGet(url string) (int, []byte, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDemoProcessServesEtcdWhereEtcdServerConfSays(t *testing.T) {
	for _, tc := range []struct {
		name string
		// where puts the file and returns the arguments and environment
		// that name it; workDir is the agent's working directory.
		where func(t *testing.T, workDir, text string) (args, env []string)
	}{
		{"etcd-server.conf in the config dir", func(t *testing.T, workDir, text string) ([]string, []string) {
			writeFile(t, filepath.Join(workDir, "etcd-server.conf"), text)
			return nil, nil
		}},
		{"flag -etcd-server-config", func(t *testing.T, _, text string) ([]string, []string) {
			file := filepath.Join(t.TempDir(), "my-etcd.yaml")
			writeFile(t, file, text)
			return []string{"-etcd-server-config", file}, nil
		}},
		{"env ETCD_SERVER_CONFIG", func(t *testing.T, _, text string) ([]string, []string) {
			file := filepath.Join(t.TempDir(), "my-etcd.yaml")
			writeFile(t, file, text)
			return nil, []string{"ETCD_SERVER_CONFIG=" + file}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			workDir := t.TempDir()
			client := freeport.Addr(t)
			// Only the addresses: the data dir stays the default one,
			// under the working directory.
			args, env := tc.where(t, workDir, fmt.Sprintf(
				"client-address: %s\npeer-address: %s\nunsafe-no-fsync: true\n", client, freeport.Addr(t)))
			d := startDemo(t, workDir, args, env)
			d.checkServes(t, client)
			if _, err := os.Stat(filepath.Join(workDir, ".plinth", "etcd")); err != nil {
				t.Errorf("data dir: %v", err)
			}
			if code := d.Interrupt(t, stopTimeout); code != 0 {
				t.Errorf("exit code after SIGINT = %d, want 0", code)
			}
		})
	}
}

// Without etcd-server.conf the server takes the default ports. Unless
// something else holds them: then the agent must fail, say which address is
// taken and tell how to move the server. The test checks whichever applies
// on this machine (2379 is etcd's own port, and may be in use).
func TestDemoProcessWithoutEtcdServerConfUsesTheDefaultPorts(t *testing.T) {
	const client, peer = "127.0.0.1:2379", "127.0.0.1:2380"
	taken := ""
	for _, addr := range []string{client, peer} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			taken = addr
			break
		}
		l.Close()
	}
	workDir := t.TempDir()
	if taken != "" {
		t.Logf("%s is in use on this machine: checking that the agent says so", taken)
		p := exampletest.Start(t, exampletest.Command{
			Binary: exampletest.Binary(t, demoPkg), Args: []string{"-http-port", strconv.Itoa(freeport.Port(t))}, Dir: workDir,
		})
		checkExplainsAddressInUse(t, p, taken)
		return
	}
	d := startDemo(t, workDir, nil, nil)
	d.checkServes(t, client)
	if code := d.Interrupt(t, stopTimeout); code != 0 {
		t.Errorf("exit code after SIGINT = %d, want 0", code)
	}
}

func TestDemoProcessOnATakenPortTellsHowToMoveTheServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	workDir := t.TempDir()
	writeFile(t, filepath.Join(workDir, "etcd-server.conf"),
		fmt.Sprintf("client-address: %s\npeer-address: %s\n", l.Addr(), freeport.Addr(t)))
	p := exampletest.Start(t, exampletest.Command{
		Binary: exampletest.Binary(t, demoPkg), Args: []string{"-http-port", strconv.Itoa(freeport.Port(t))}, Dir: workDir,
	})
	checkExplainsAddressInUse(t, p, l.Addr().String())
}

func checkExplainsAddressInUse(t *testing.T, p *exampletest.Process, addr string) {
	t.Helper()
	if code := p.Wait(t, startTimeout); code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	out := p.Output()
	for _, want := range []string{
		"address " + addr + ": address already in use\n",
		"ETCD_ENDPOINTS=<its host:port> make run\n",
		"or move the embedded server to free ports in etcd-server.conf",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// An operator who ran the demo on the default ports and moves them later
// keeps the data dir: the member starts on the new ports with its keys.
func TestDemoProcessKeepsItsDataWhenEtcdServerConfMovesIt(t *testing.T) {
	workDir := t.TempDir()
	run := func(client string, fn func(cli *clientv3.Client)) {
		t.Helper()
		writeFile(t, filepath.Join(workDir, "etcd-server.conf"), fmt.Sprintf(
			"client-address: %s\npeer-address: %s\nunsafe-no-fsync: true\n", client, freeport.Addr(t)))
		d := startDemo(t, workDir, nil, nil)
		if !strings.Contains(d.hint, "ready with embedded etcd "+client+". Try:") {
			t.Fatalf("hint:\n%s\nwant the embedded etcd at %s", d.hint, client)
		}
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{client}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		fn(cli)
		cli.Close()
		if code := d.Interrupt(t, stopTimeout); code != 0 {
			t.Fatalf("exit code after SIGINT = %d, want 0", code)
		}
	}
	run(freeport.Addr(t), func(cli *clientv3.Client) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		if _, err := cli.Put(ctx, "/demo/kept", "yes"); err != nil {
			t.Fatal(err)
		}
	})
	run(freeport.Addr(t), func(cli *clientv3.Client) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		resp, err := cli.Get(ctx, "/demo/kept")
		if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "yes" {
			t.Errorf("Get(/demo/kept) on the moved server = %v, %v; want yes", resp, err)
		}
	})
}

func TestDemoProcessWithTheEmbeddedServerDisabledRunsWithoutEtcd(t *testing.T) {
	workDir := t.TempDir()
	writeFile(t, filepath.Join(workDir, "etcd-server.conf"), "disabled: true\n")
	d := startDemo(t, workDir, nil, nil)
	if !strings.HasPrefix(d.hint, `demo agent "vpp1" ready without etcd. Try:`) || strings.Contains(d.hint, "kvdb") {
		t.Errorf("hint:\n%s\nwant one without etcd", d.hint)
	}
	exampletest.WaitFor(t, startTimeout, "/readiness answers 200", func() (bool, string) {
		code, body, err := httpGet(d.url("/readiness"))
		return code == http.StatusOK, fmt.Sprintf("%d %s %v", code, body, err)
	})
	if code := d.Interrupt(t, stopTimeout); code != 0 {
		t.Errorf("exit code after SIGINT = %d, want 0", code)
	}
}
