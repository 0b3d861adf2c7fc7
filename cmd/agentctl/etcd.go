package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// etcdClient is a connection to etcd bounded by --timeout.
type etcdClient struct {
	cli       *clientv3.Client
	endpoints []string
	timeout   time.Duration
}

// connect creates a client. It does not wait for a connection: the first
// operation does, within the timeout, so an unreachable etcd is reported
// by that operation.
func (g *globalOptions) connect() (*etcdClient, error) {
	bc := backoff.DefaultConfig
	// Retry quickly: a command has only --timeout to succeed.
	bc.MaxDelay = g.timeout / 4
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   g.endpoints,
		DialTimeout: g.timeout,
		Logger:      zap.NewNop(),
		DialOptions: []grpc.DialOption{
			grpc.WithConnectParams(grpc.ConnectParams{Backoff: bc, MinConnectTimeout: g.timeout}),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", strings.Join(g.endpoints, ","), err)
	}
	return &etcdClient{cli: cli, endpoints: g.endpoints, timeout: g.timeout}, nil
}

func (c *etcdClient) Close() error { return c.cli.Close() }

// opContext bounds one operation by the timeout.
func (c *etcdClient) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// wrap names the operation and the key, and turns a timeout or an
// unreachable server into an unavailableError naming the endpoints.
func (c *etcdClient) wrap(ctx context.Context, op, key string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		// Cancelled by the caller (SIGINT), not a timeout of ours.
		return fmt.Errorf("etcd: %s %q: %w", op, key, ctx.Err())
	}
	code := status.Code(err)
	if errors.Is(err, context.DeadlineExceeded) || code == codes.DeadlineExceeded || code == codes.Unavailable {
		return unavailableError{fmt.Errorf("etcd: %s %q: no answer from %s within %v",
			op, key, strings.Join(c.endpoints, ","), c.timeout)}
	}
	return fmt.Errorf("etcd: %s %q: %w", op, key, err)
}
