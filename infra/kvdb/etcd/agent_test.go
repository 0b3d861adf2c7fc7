package etcd_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/internal/freeport"
	"github.com/plinth-go/plinth/logging"
)

func TestAgentStartsFastWhileEtcdIsDown(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "etcd.conf")
	if err := os.WriteFile(conf, []byte("endpoints: ["+freeport.Addr(t)+"]\ndial-timeout: 5s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := etcd.NewPlugin()
	a, err := agent.New(agent.AllPlugins(p), agent.Args("-etcd-config", conf),
		agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := a.Start(); err != nil {
		t.Fatalf("Start with etcd down: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Start took %s with etcd down, want it not to wait for etcd", d)
	}
	if p.Connected() || p.Disabled() {
		t.Errorf("Connected() = %v, Disabled() = %v; want false, false", p.Connected(), p.Disabled())
	}
	if err := a.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
}
