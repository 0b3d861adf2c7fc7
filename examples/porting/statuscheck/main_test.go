package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/logging"
)

func TestMain(m *testing.M) { etcdtest.VerifyTestMain(m) }

// output collects what the printer prints and signals every write.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // cap 1: something was written
}

func (o *output) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	select {
	case o.written <- struct{}{}:
	default:
	}
	return o.buf.Write(b)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func TestPrintsStatusAndPublishesItToTheEmbeddedEtcd(t *testing.T) {
	out := &output{written: make(chan struct{}, 1)}
	a, err := newAgent(t.TempDir(), out,
		agent.Args("-http-port=0", "-microservice-label=porting", "-config-dir", t.TempDir()),
		agent.QuitSignals(),
		agent.Getenv(func(string) string { return "" }),
		agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := a.Stop(); err != nil {
			t.Error(err)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for want := range strings.SplitSeq("status[etcd] = OK\nstatus[http] = OK\nstatus[agent] = OK", "\n") {
		for !strings.Contains(out.String(), want+"\n") {
			select {
			case <-out.written:
			case <-ctx.Done():
				t.Fatalf("output never had %q:\n%s", want, out)
			}
		}
	}
	if first, _, _ := strings.Cut(out.String(), "\n"); !strings.HasPrefix(first, "status published under /vnf-agent/porting/check/status/v1/ in etcd 127.0.0.1:") {
		t.Errorf("first line %q, want it to say where the status goes", first)
	}

	var kv *etcd.Plugin
	for _, p := range a.Plugins() {
		if p, ok := p.(*etcd.Plugin); ok {
			kv = p
		}
	}
	const key = "/vnf-agent/porting/check/status/v1/agent"
	events, w, err := kvdb.WatchChan(ctx, kv.NewWatcher(""), key)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for ev := range events {
		var value []byte
		switch ev.Kind {
		case kvdb.EventResync:
			if len(ev.Snapshot) == 1 {
				value = ev.Snapshot[0].Value
			}
		case kvdb.EventPut:
			value = ev.Value
		}
		if bytes.HasPrefix(value, []byte(`{"state":1,`)) {
			return
		}
	}
	t.Fatalf("%s never said OK: %v", key, w.Err())
}
