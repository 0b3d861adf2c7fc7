//go:build linux

package faultsuite

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// autoCompactEvery is the agent's auto-compact interval in the
// external-compaction scenario.
const autoCompactEvery = time.Second

// TestAutoCompactionGoesOnAfterAnExternalCompaction: the demo agent runs
// with auto-compact against Debian's etcd while etcdctl, from outside,
// compacts ahead of it. The agent's own compaction must go on: a revision
// written after the external compaction, and followed by another write, is
// compacted within three intervals, every round, and the plugin stays OK.
func TestAutoCompactionGoesOnAfterAnExternalCompaction(t *testing.T) {
	const scenario = "external-compaction"
	requireDebianEtcd(t)
	e := startDebianEtcd(t)
	a := newAgent(t, "faultsuite-compact", []string{e.endpoint}, map[string]string{
		"etcd.conf": fmt.Sprintf("auto-compact: %s\n", autoCompactEvery),
	})
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	a.Start()
	waitFor(t, recoverTimeout, "agent is connected to etcd", pluginState(c, a, "etcd", 1))

	for round := range rounds(3, 15) {
		for i := range 5 {
			e.ctl(t, "put", "/faultsuite/compact/"+strconv.Itoa(i), fmt.Sprintf("%d.%d", round, i))
		}
		head := revisionOf(t, e)
		// etcdctl compact fails when the revision is compacted already,
		// by the agent: then compact the next one.
		e.ctl(t, "put", "/faultsuite/compact/ahead", strconv.Itoa(round))
		e.ctl(t, "compact", strconv.FormatInt(head+1, 10))
		e.ctl(t, "put", "/faultsuite/compact/after", strconv.Itoa(round))
		after := revisionOf(t, e)
		// A compaction to a revision keeps that revision: one more write
		// lets the agent's compaction pass after.
		e.ctl(t, "put", "/faultsuite/compact/later", strconv.Itoa(round))
		written := time.Now()
		waitFor(t, 3*autoCompactEvery+recoverSlack, fmt.Sprintf("round %d: revision %d, written after etcdctl compacted to %d, compacted by the agent", round, after, head+1),
			func(ctx context.Context) (bool, string) {
				out, err := e.run(ctx, "get", "/faultsuite/compact/after", "--rev", strconv.FormatInt(after, 10))
				if err != nil && strings.Contains(err.Error(), "required revision has been compacted") {
					return true, ""
				}
				return false, fmt.Sprintf("get --rev %d: %q %v", after, out, err)
			})
		record(t, scenario, "written after an external compaction -> compacted by the agent", time.Since(written))
	}
	waitFor(t, recoverTimeout, "plugin etcd is OK", pluginState(c, a, "etcd", 1))
}

// recoverSlack is what a bound measured in intervals of the agent allows
// for a busy machine: scheduling, and etcdctl's own start.
const recoverSlack = 2 * time.Second

// revisionOf returns the current revision of the store, read by etcdctl.
func revisionOf(t *testing.T, e *debianEtcdServer) int64 {
	t.Helper()
	out := e.ctl(t, "get", "/", "--prefix", "--keys-only", "--limit", "1", "-w", "fields")
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, `"Revision" : `); ok {
			rev, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				t.Fatalf("etcdctl revision %q: %v", v, err)
			}
			return rev
		}
	}
	t.Fatalf("no revision in etcdctl's output %q", out)
	return 0
}
