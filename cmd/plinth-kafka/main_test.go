package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"go.uber.org/goleak"
)

func TestRunReportsReadyAndServesSeededTopics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-ports", "0,0", "-seed-topics", "a:2,b", "-partitions", "4", "-data-dir", t.TempDir()}, w)
		w.Close()
	}()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("no ready line: %v (%v)", err, <-done)
	}
	addrs, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
	if !ok || len(strings.Split(addrs, ",")) != 2 {
		t.Fatalf("ready line %q, want ready <addr>,<addr>", line)
	}
	cl, err := sarama.NewClient(strings.Split(addrs, ","), sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]int{"a": 2, "b": 4} {
		ps, err := cl.Partitions(topic)
		if err != nil || len(ps) != want {
			t.Errorf("topic %s has partitions %v (%v), want %d", topic, ps, err, want)
		}
	}
	cl.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run = %v", err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-ports", "x"},
		{"-seed-topics", "a:0"},
		{"-partitions", "0"},
		{"-log-level", "loud"},
	} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
}

func TestMain(m *testing.M) {
	// The meter arbiter of go-metrics, which sarama uses, is a process-wide
	// goroutine started with the first meter and never stopped.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"))
}
