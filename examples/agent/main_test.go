package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/examples/internal/exampletest"
	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/internal/testwait"
)

func TestMain(m *testing.M) {
	code := m.Run()
	exampletest.RemoveBinaries()
	if code == 0 {
		if err := etcdtest.FindLeaks(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// waitReady polls /readiness until 200: the etcd plugin connects in the
// background.
func waitReady(t *testing.T, base string) []byte {
	t.Helper()
	var body []byte
	testwait.For(t, 30*time.Second, "/readiness = 200", func() (bool, string) {
		var code int
		code, body = get(t, base+"/readiness")
		return code == http.StatusOK, fmt.Sprintf("/readiness = %d %s", code, body)
	})
	return body
}

func TestDemoAgentWithEmbeddedEtcdBecomesReadyAndPublishesItsStatus(t *testing.T) {
	server := embedded.Config{ClientAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0", DataDir: t.TempDir(), UnsafeNoFsync: true}
	d := newDemo(embedded.UseConf(server))
	agenttest.Start(t, agent.AllPlugins(d), agent.Args("-http-port=0", "-config-dir", t.TempDir()))
	base := "http://" + d.HTTP.Addr().String()
	if eps := d.EtcdServer.Endpoints(); len(eps) != 1 {
		t.Fatalf("embedded etcd endpoints = %v, want one", eps)
	}
	body := waitReady(t, base)
	var st model.AgentStatus
	if err := json.Unmarshal(body, &st); err != nil || st.GetState() != model.OperationalState_OK {
		t.Fatalf("/readiness body = %s (%v)", body, err)
	}

	// The agent status key appears in etcd with the state OK.
	cli, err := clientv3.New(clientv3.Config{Endpoints: d.EtcdServer.Endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	key := "/vnf-agent/vpp1/check/status/v1/agent"
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := cli.Get(ctx, key)
		cancel()
		if err == nil && len(resp.Kvs) == 1 {
			var pub model.AgentStatus
			if err := json.Unmarshal(resp.Kvs[0].Value, &pub); err == nil && pub.GetState() == model.OperationalState_OK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not OK in etcd after 30s (%v)", key, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	if code, body := get(t, base+"/info"); code != 200 {
		t.Errorf("GET /info = %d %s", code, body)
	}
	if code, _ := get(t, base+"/log/list"); code != 200 {
		t.Errorf("GET /log/list = %d", code)
	}
	if code, _ := get(t, base+"/liveness"); code != 200 {
		t.Errorf("GET /liveness = %d", code)
	}
	if code, body := get(t, base+"/ui/"); code != 200 || !strings.Contains(string(body), "<html") {
		t.Errorf("GET /ui/ = %d", code)
	}
	if code, body := get(t, base+"/supervisor/programs"); code != 200 {
		t.Errorf("GET /supervisor/programs = %d %s", code, body)
	}
}

func TestConfiguredEndpointSwitchesTheEmbeddedServerOff(t *testing.T) {
	srv := etcdtest.Start(t)
	// Whatever etcd-server.conf says.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "etcd-server.conf"), []byte("disabled: false\nclient-address: 127.0.0.1:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := newDemo()
	agenttest.Start(t, agent.AllPlugins(d), agent.Args("-http-port=0", "-config-dir", dir),
		agenttest.Env(map[string]string{"ETCD_ENDPOINTS": srv.Endpoints()[0]}))
	if !d.EtcdServer.Disabled() || d.EtcdServer.Endpoints() != nil {
		t.Errorf("embedded server runs although ETCD_ENDPOINTS is set")
	}
	waitReady(t, "http://"+d.HTTP.Addr().String())
}
