package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/messaging/kafka/kafkatest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"))
}

const want = `received hello (key 0)
received bonjour (key 1)
received hola (key 2)
received ahoj (key 3)
`

func runFor(t *testing.T, args []string, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, args, func(k string) string { return env[k] }, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if ctx.Err() != nil {
		t.Fatalf("the consumer did not see every greeting:\n%s", out.String())
	}
	return out.String()
}

func TestRunsWithAnInProcessBroker(t *testing.T) {
	got := runFor(t, []string{"-config-dir", t.TempDir()}, nil)
	if !strings.HasSuffix(got, want) || !strings.Contains(got, "in-process broker") {
		t.Errorf("output:\n%s\nwant it to end with:\n%s", got, want)
	}
}

func TestRunsAgainstConfiguredBrokers(t *testing.T) {
	cluster := kafkatest.Start(t, 1, Topic)
	conf := filepath.Join(t.TempDir(), "kafka.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("addrs: [%s]\ngroup_id: example-test\n", strings.Join(cluster.ListenAddrs(), ", "))), 0o644); err != nil {
		t.Fatal(err)
	}
	got := runFor(t, []string{"-kafka-config", conf}, nil)
	if got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}
