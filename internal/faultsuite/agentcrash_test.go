//go:build linux

package faultsuite

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
)

// TestAgentCrashExpiresKeysAndKillsChildren: with expire-with-agent on,
// the keys of a SIGKILLed agent expire with its session lease (TTL 2 s),
// its supervised program dies with it, and the agent started again comes
// back to OK, with a new program and its keys written again. A clean stop
// (SIGTERM) removes the keys at once.
func TestAgentCrashExpiresKeysAndKillsChildren(t *testing.T) {
	const scenario = "agent-crash"
	e := etcdtest.StartProcess(t)
	cli := newEtcdClient(t, e.Endpoints())
	a := newAgent(t, "faultsuite-agent", e.Endpoints(), map[string]string{
		"etcd.conf":        "session-ttl: 2s\n",
		"statuscheck.conf": "expire-with-agent: true\n",
		"supervisor.conf":  sleeperConf,
	})
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()

	started := time.Now()
	a.Start()
	waitFor(t, recoverTimeout, "agent is OK with its keys in etcd", ready(c, cli, a))
	record(t, scenario, "start -> ready and in sync", time.Since(started))

	for round := range rounds(2, 10) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		pid, err := programPid(ctx, c, a, "sleeper")
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if !alive(t, pid) {
			t.Fatalf("sleeper pid %d: not running while the agent runs", pid)
		}

		c.CloseIdleConnections()
		a.Kill()
		killed := time.Now()
		d := waitFor(t, 10*time.Second, fmt.Sprintf("sleeper pid %d dies with the agent", pid), func(context.Context) (bool, string) {
			return !alive(t, pid), "still running"
		})
		record(t, scenario, "agent killed -> child gone", d)
		waitFor(t, expiryTimeout, "status keys of the dead agent expire", func(ctx context.Context) (bool, string) {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			stored, err := storedStates(rctx, cli, a.label)
			if err != nil {
				return false, err.Error()
			}
			return len(stored) == 0, fmt.Sprintf("keys left: %v", stored)
		})
		record(t, scenario, "agent killed -> keys expired", time.Since(killed))

		restarted := time.Now()
		a.Start()
		waitFor(t, recoverTimeout, fmt.Sprintf("round %d: restarted agent is OK with its keys in etcd", round), ready(c, cli, a))
		record(t, scenario, "restart -> ready and in sync", time.Since(restarted))
	}

	a.stop()
	d := waitFor(t, expiryTimeout, "keys removed by a clean stop", func(ctx context.Context) (bool, string) {
		stored, err := storedStates(ctx, cli, a.label)
		if err != nil {
			return false, err.Error()
		}
		return len(stored) == 0, fmt.Sprintf("keys left: %v", stored)
	})
	record(t, scenario, "SIGTERM -> keys removed", d)
}

// ready returns a condition for waitFor: /readiness answers 200 and the
// keys in etcd match it.
func ready(c *http.Client, cli *clientv3.Client, a *agent) func(ctx context.Context) (bool, string) {
	synced := inSync(c, cli, a)
	return func(ctx context.Context) (bool, string) {
		code, s, _, err := probe(ctx, c, a.url("/readiness"))
		if err != nil {
			return false, err.Error()
		}
		if code != http.StatusOK {
			return false, fmt.Sprintf("/readiness answers %d: %v", code, s.states())
		}
		return synced(ctx)
	}
}
