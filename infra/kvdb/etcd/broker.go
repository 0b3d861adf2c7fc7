package etcd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/plinth-go/plinth/infra/kvdb"
)

// listPageSize bounds the keys read per request by List, so a large prefix
// neither exceeds the gRPC message limit nor holds the server for long.
// Pages are read at the revision of the first, so the result is still one
// snapshot.
const listPageSize = 1000

// broker implements kvdb.BytesBroker on etcd, for keys under prefix.
type broker struct {
	p      *Plugin
	prefix string
}

var _ kvdb.BytesBroker = (*broker)(nil)

// opError wraps err with the operation and the full key, and returns the
// context error when the context ended, so that errors.Is(err,
// context.DeadlineExceeded) holds whether the deadline was the caller's or
// the operation timeout.
func opError(ctx context.Context, op, key string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("etcd: %s %q: %w (%v)", op, key, ctxErr, err)
	}
	return fmt.Errorf("etcd: %s %q: %w", op, key, err)
}

func (b *broker) Put(ctx context.Context, key string, value []byte, opts ...kvdb.PutOption) error {
	full := b.prefix + key
	ctx, cancel := b.p.opCtx(ctx)
	defer cancel()
	c, err := b.p.waitClient(ctx)
	if err != nil {
		return opError(ctx, "put", full, err)
	}
	var ops []clientv3.OpOption
	if o := kvdb.ApplyPutOptions(opts); o.Session || o.TTL > 0 {
		var id clientv3.LeaseID
		if o.Session {
			id, err = b.p.leases.forSession(ctx, c)
		} else {
			id, err = b.p.leases.forTTL(ctx, c, o.TTL)
		}
		if err != nil {
			return opError(ctx, "put", full, err)
		}
		ops = append(ops, clientv3.WithLease(id))
	}
	err = retryAmbiguous(ctx, func() error {
		_, err := c.Put(ctx, full, string(value), ops...)
		return err
	})
	if err != nil {
		return opError(ctx, "put", full, err)
	}
	return nil
}

// retryAmbiguous calls op again while it fails because the cluster was
// between leaders, until ctx ends. Such a failure leaves it unknown whether
// op applied, so only operations that may apply twice use it: a put of the
// same value and a delete. The client retries reads by itself.
func retryAmbiguous(ctx context.Context, op func() error) error {
	wait := 50 * time.Millisecond
	for {
		err := op()
		if err == nil || !isLeaderTransition(err) {
			return err
		}
		if !sleepCtx(ctx, wait) {
			return err
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

func isLeaderTransition(err error) bool {
	for _, target := range []error{
		rpctypes.ErrTimeout, rpctypes.ErrTimeoutDueToLeaderFail, rpctypes.ErrTimeoutDueToConnectionLost,
		rpctypes.ErrLeaderChanged, rpctypes.ErrNoLeader,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

func (b *broker) Get(ctx context.Context, key string) ([]byte, bool, int64, error) {
	full := b.prefix + key
	ctx, cancel := b.p.opCtx(ctx)
	defer cancel()
	c, err := b.p.waitClient(ctx)
	if err != nil {
		return nil, false, 0, opError(ctx, "get", full, err)
	}
	resp, err := c.Get(ctx, full)
	if err != nil {
		return nil, false, 0, opError(ctx, "get", full, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, false, 0, nil
	}
	kv := resp.Kvs[0]
	return kv.Value, true, kv.ModRevision, nil
}

func (b *broker) List(ctx context.Context, prefix string) ([]kvdb.KeyValue, int64, error) {
	var kvs []kvdb.KeyValue
	rev, err := b.p.list(ctx, b.prefix+prefix, false, func(key string, value []byte, modRev int64) {
		kvs = append(kvs, kvdb.KeyValue{Key: key[len(b.prefix):], Value: value, Rev: modRev})
	})
	return kvs, rev, err
}

func (b *broker) ListKeys(ctx context.Context, prefix string) ([]string, int64, error) {
	var keys []string
	rev, err := b.p.list(ctx, b.prefix+prefix, true, func(key string, _ []byte, _ int64) {
		keys = append(keys, key[len(b.prefix):])
	})
	return keys, rev, err
}

// list reads every key under prefix in pages, all at the revision of the
// first page, and returns that revision.
func (p *Plugin) list(ctx context.Context, prefix string, keysOnly bool, add func(key string, value []byte, modRev int64)) (int64, error) {
	ctx, cancel := p.opCtx(ctx)
	defer cancel()
	c, err := p.waitClient(ctx)
	if err != nil {
		return 0, opError(ctx, "list", prefix, err)
	}
	start, end := prefix, clientv3.GetPrefixRangeEnd(prefix)
	if prefix == "" {
		// The whole key space: from the smallest key to no end.
		start, end = "\x00", "\x00"
	}
	opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(listPageSize)}
	if keysOnly {
		opts = append(opts, clientv3.WithKeysOnly())
	}
	var rev int64
	for {
		resp, err := c.Get(ctx, start, opts...)
		if err != nil {
			return 0, opError(ctx, "list", prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
			opts = append(opts, clientv3.WithRev(rev))
		}
		for _, kv := range resp.Kvs {
			add(string(kv.Key), kv.Value, kv.ModRevision)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return rev, nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

func (b *broker) Delete(ctx context.Context, key string, opts ...kvdb.DeleteOption) (bool, error) {
	full := b.prefix + key
	ctx, cancel := b.p.opCtx(ctx)
	defer cancel()
	c, err := b.p.waitClient(ctx)
	if err != nil {
		return false, opError(ctx, "delete", full, err)
	}
	var ops []clientv3.OpOption
	if kvdb.ApplyDeleteOptions(opts).Prefix {
		if full == "" {
			full, ops = "\x00", []clientv3.OpOption{clientv3.WithFromKey()}
		} else {
			ops = []clientv3.OpOption{clientv3.WithPrefix()}
		}
	}
	var deleted int64
	err = retryAmbiguous(ctx, func() error {
		resp, err := c.Delete(ctx, full, ops...)
		if err == nil {
			deleted = resp.Deleted
		}
		return err
	})
	if err != nil {
		return false, opError(ctx, "delete", full, err)
	}
	return deleted > 0, nil
}

func (b *broker) Txn() kvdb.Txn { return &txn{b: b} }

// txn implements kvdb.Txn.
type txn struct {
	b     *broker
	conds []clientv3.Cmp
	ops   []clientv3.Op
}

func (t *txn) If(conds ...kvdb.Cond) kvdb.Txn {
	for _, c := range conds {
		t.conds = append(t.conds, clientv3.Compare(clientv3.ModRevision(t.b.prefix+c.Key), "=", c.ModRev))
	}
	return t
}

func (t *txn) Put(key string, value []byte) kvdb.Txn {
	t.ops = append(t.ops, clientv3.OpPut(t.b.prefix+key, string(value)))
	return t
}

func (t *txn) Delete(key string) kvdb.Txn {
	t.ops = append(t.ops, clientv3.OpDelete(t.b.prefix+key))
	return t
}

func (t *txn) Commit(ctx context.Context) (bool, error) {
	ctx, cancel := t.b.p.opCtx(ctx)
	defer cancel()
	c, err := t.b.p.waitClient(ctx)
	if err != nil {
		return false, opError(ctx, "txn", t.b.prefix, err)
	}
	resp, err := c.Txn(ctx).If(t.conds...).Then(t.ops...).Commit()
	if err != nil {
		return false, opError(ctx, "txn", t.b.prefix, err)
	}
	return resp.Succeeded, nil
}
