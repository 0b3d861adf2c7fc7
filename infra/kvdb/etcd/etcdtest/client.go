package etcdtest

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// opTimeout bounds each Put and Get of the helpers below.
const opTimeout = 10 * time.Second

// Client returns a raw etcd client for endpoints that reconnects within half
// a second of a server restart. It is closed when the test ends; since
// cleanups run in reverse, call it after starting the servers it talks to,
// so that it closes before them.
func Client(t testing.TB, endpoints ...string) *clientv3.Client {
	t.Helper()
	bc := backoff.DefaultConfig
	bc.MaxDelay = 500 * time.Millisecond
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 2 * time.Second,
		Logger:      zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{Backoff: bc, MinConnectTimeout: time.Second})},
	})
	if err != nil {
		t.Fatalf("etcdtest: clientv3.New(%v): %v", endpoints, err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Put writes key through cli or fails the test.
func Put(t testing.TB, cli *clientv3.Client, key, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if _, err := cli.Put(ctx, key, value); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

// Get reads key through cli, returning "<missing>" when it does not exist,
// or fails the test.
func Get(t testing.TB, cli *clientv3.Client, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if len(resp.Kvs) == 0 {
		return "<missing>"
	}
	return string(resp.Kvs[0].Value)
}
