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

	// refused is cancelled when every endpoint refused a connection: the
	// operations under way then end at once, as unavailable (see
	// etcdRefuses). It is never cancelled otherwise.
	refused     context.Context
	markRefused context.CancelFunc
	// stopCheck ends the check of etcdRefuses, and checkDone is closed
	// once it has ended.
	stopCheck context.CancelFunc
	checkDone chan struct{}
}

// connect creates a client. It does not wait for a connection: the first
// operation does, within the timeout, so an unreachable etcd is reported
// by that operation. Meanwhile the client checks whether every endpoint
// refuses connections, which ends the operations at once.
func (g *globalOptions) connect(ctx context.Context) (*etcdClient, error) {
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
	c := &etcdClient{cli: cli, endpoints: g.endpoints, timeout: g.timeout, checkDone: make(chan struct{})}
	c.refused, c.markRefused = context.WithCancel(context.Background())
	checkCtx, stopCheck := context.WithCancel(ctx)
	c.stopCheck = stopCheck
	go func() {
		defer close(c.checkDone)
		if g.etcdRefuses(checkCtx) {
			c.markRefused()
		}
	}()
	return c, nil
}

// Close ends the check of the endpoints and closes the connection.
func (c *etcdClient) Close() error {
	c.stopCheck()
	<-c.checkDone
	return c.cli.Close()
}

// opContext bounds one operation by the timeout; the operation also ends
// when every endpoint refused a connection.
func (c *etcdClient) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	octx, cancel := context.WithTimeout(ctx, c.timeout)
	stop := context.AfterFunc(c.refused, cancel)
	return octx, func() {
		stop()
		cancel()
	}
}

// refusedError returns the error for endpoints that all refused a
// connection, or nil.
func (c *etcdClient) refusedError() error {
	if c.refused.Err() == nil {
		return nil
	}
	return unavailableError{fmt.Errorf("cannot reach etcd at %s: connection refused", strings.Join(c.endpoints, ","))}
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
	if err := c.refusedError(); err != nil {
		return err
	}
	code := status.Code(err)
	if errors.Is(err, context.DeadlineExceeded) || code == codes.DeadlineExceeded || code == codes.Unavailable {
		return unavailableError{fmt.Errorf("etcd: %s %q: no answer from %s within %v",
			op, key, strings.Join(c.endpoints, ","), c.timeout)}
	}
	return fmt.Errorf("etcd: %s %q: %w", op, key, err)
}
