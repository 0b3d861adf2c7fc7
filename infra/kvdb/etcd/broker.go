package etcd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/internal/backoff"
)

// Listing reads a prefix in pages, all at the revision of the first, so the
// result is one snapshot. Each page with a limit makes etcd count the keys
// left in the range, so many small pages cost a time quadratic in the size
// of the prefix; a few large pages do not. The first page holds up to
// listFirstPage keys: it is the whole answer for most prefixes, and it tells
// how many keys are left and their average size. The rest is read in one
// request when it is estimated at most listPageBytes, in pages of about
// that size otherwise, so one response never holds much more than
// listPageBytes (far below gRPC's 2 GiB message limit) unless values differ
// widely in size.
const (
	listFirstPage = 1000
	listPageBytes = 16 << 20
	// listKeyOverhead is the approximate encoded size of a key-value's
	// revisions and field tags, added to its key and value lengths.
	listKeyOverhead = 24
)

// listPaging holds the sizes list uses: listFirstPage and listPageBytes
// outside tests.
type listPaging struct {
	first, pageBytes int64
}

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
	if len(opts) > 0 {
		// Only then: applying options moves them to the heap, an
		// allocation a plain put does without.
		return b.putLeased(ctx, c, full, value, opts)
	}
	err = retryAmbiguous(ctx, b.p.cfg.WriteAttemptTimeout, func(ctx context.Context) error {
		_, err := c.Put(ctx, full, string(value))
		return err
	})
	if err != nil {
		return opError(ctx, "put", full, err)
	}
	return nil
}

// putLeased is Put with options. A session lease that the server no longer
// knows (revoked, or a store wiped or restored from a backup) is dropped
// and the put is tried once more under a new one, rather than failing until
// the keepalive notices.
func (b *broker) putLeased(ctx context.Context, c *clientv3.Client, full string, value []byte, opts []kvdb.PutOption) error {
	for attempt := 0; ; attempt++ {
		ops, lease, err := b.leaseOps(ctx, c, opts)
		if err != nil {
			return opError(ctx, "put", full, err)
		}
		err = retryAmbiguous(ctx, b.p.cfg.WriteAttemptTimeout, func(ctx context.Context) error {
			_, err := c.Put(ctx, full, string(value), ops...)
			return err
		})
		if err == nil {
			return nil
		}
		if attempt == 0 && errors.Is(err, rpctypes.ErrLeaseNotFound) && b.p.leases.dropSession(lease) {
			continue
		}
		return opError(ctx, "put", full, err)
	}
}

// leaseOps returns the lease option of a put with opts, if any, and the
// lease.
func (b *broker) leaseOps(ctx context.Context, c *clientv3.Client, opts []kvdb.PutOption) ([]clientv3.OpOption, clientv3.LeaseID, error) {
	o := kvdb.ApplyPutOptions(opts)
	if !o.Session && o.TTL <= 0 {
		return nil, 0, nil
	}
	var id clientv3.LeaseID
	var err error
	if o.Session {
		id, err = b.p.leases.forSession(ctx, c)
	} else {
		id, err = b.p.leases.forTTL(ctx, c, o.TTL)
	}
	if err != nil {
		return nil, 0, err
	}
	return []clientv3.OpOption{clientv3.WithLease(id)}, id, nil
}

// retryAmbiguous calls op again while it fails because the cluster was
// between leaders or the member serving it went away, until ctx ends. Such a
// failure leaves it unknown whether op applied, so only operations that may
// apply twice use it: a put of the same value and a delete. The client
// retries reads by itself.
//
// Each attempt gets its own deadline: attempt for the first two, then
// twice the one before. A write that a follower forwarded to a leader that
// then died is otherwise answered only when ctx ends, long after a new
// leader could have taken it. An attempt cut off by its own deadline is
// ambiguous too. The second attempt keeps the first one's deadline: sent
// just after the crash, it may reach a follower that has not yet noticed
// the leader is gone and is lost the same way, while the third then finds
// the new leader, about one election after the crash. The doubling from
// there on lets a slow but healthy cluster complete the write.
func retryAmbiguous(ctx context.Context, attempt time.Duration, op func(ctx context.Context) error) error {
	wait := backoff.Backoff{Min: 50 * time.Millisecond, Max: 500 * time.Millisecond}
	for n := 1; ; n++ {
		actx, cancel := context.WithTimeout(ctx, attempt)
		err := op(actx)
		cut := actx.Err() != nil && ctx.Err() == nil
		cancel()
		if err == nil || !(cut || isLeaderTransition(err)) {
			return err
		}
		if !wait.Sleep(ctx.Done()) {
			return err
		}
		if n >= 2 {
			attempt *= 2
		}
	}
}

func isLeaderTransition(err error) bool {
	// A member that dies during the call resets its connection; the client
	// then moves to another member, and whether the call applied is unknown.
	if status.Code(err) == codes.Unavailable {
		return true
	}
	for _, target := range []error{
		rpctypes.ErrTimeout, rpctypes.ErrTimeoutDueToLeaderFail, rpctypes.ErrTimeoutDueToConnectionLost,
		rpctypes.ErrLeaderChanged, rpctypes.ErrNoLeader,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	// A member campaigning for leadership drops the proposals it gets
	// (raft.ErrProposalDropped); etcd passes the error on as it is, so
	// it arrives as codes.Unknown with raft's text. Nothing was applied.
	return rpctypes.ErrorDesc(err) == proposalDropped
}

// proposalDropped is the text of raft.ErrProposalDropped.
const proposalDropped = "raft proposal dropped"

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
	// Read before the keys: a session lost during the read then makes its
	// keys look current, and the loss runs the OnConnect callbacks again.
	session := int64(b.p.leases.current())
	rev, err := b.p.list(ctx, b.prefix+prefix, false, func(page []*mvccpb.KeyValue, total int) {
		kvs = appendKeyValues(kvs, page, total, len(b.prefix), session)
	})
	return kvs, rev, err
}

// appendKeyValues appends page to kvs with keys made relative by dropping
// their first scope bytes, growing kvs once to total entries, and marks the
// keys bound to the session lease. Values are not copied: each was decoded
// into its own slice.
func appendKeyValues(kvs []kvdb.KeyValue, page []*mvccpb.KeyValue, total, scope int, session int64) []kvdb.KeyValue {
	if kvs == nil {
		kvs = make([]kvdb.KeyValue, 0, max(total, len(page)))
	}
	for _, kv := range page {
		kvs = append(kvs, kvdb.KeyValue{
			Key: string(kv.Key[scope:]), Value: kv.Value, Rev: kv.ModRevision,
			Lease: kv.Lease, Session: kv.Lease != 0 && kv.Lease == session,
		})
	}
	return kvs
}

func (b *broker) ListKeys(ctx context.Context, prefix string) ([]string, int64, error) {
	var keys []string
	rev, err := b.p.list(ctx, b.prefix+prefix, true, func(page []*mvccpb.KeyValue, total int) {
		if keys == nil {
			keys = make([]string, 0, max(total, len(page)))
		}
		for _, kv := range page {
			keys = append(keys, string(kv.Key[len(b.prefix):]))
		}
	})
	return keys, rev, err
}

// list reads every key under prefix in pages (see listFirstPage), all at
// the revision of the first, hands each page in key order to add with the
// number of keys of the whole listing, and returns the revision. add may
// keep the values of a page but not the page itself.
func (p *Plugin) list(ctx context.Context, prefix string, keysOnly bool, add func(page []*mvccpb.KeyValue, total int)) (int64, error) {
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
	opts := []clientv3.OpOption{clientv3.WithRange(end)}
	if keysOnly {
		// etcd sends no values and, from 3.7 on, reads none: it answers
		// from its in-memory index.
		opts = append(opts, clientv3.WithKeysOnly())
	}
	var (
		rev         int64
		total, read int
		size, limit int64 = 0, p.paging.first // size: bytes read so far
	)
	for {
		resp, err := c.Get(ctx, start, append(opts, clientv3.WithLimit(limit))...)
		if err != nil {
			return 0, opError(ctx, "list", prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
			total = int(resp.Count) // of the whole range, at rev
			opts = append(opts, clientv3.WithRev(rev))
		}
		add(resp.Kvs, total)
		if !resp.More || len(resp.Kvs) == 0 {
			return rev, nil
		}
		for _, kv := range resp.Kvs {
			size += int64(len(kv.Key)+len(kv.Value)) + listKeyOverhead
		}
		read += len(resp.Kvs)
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		limit = max(p.paging.pageBytes/(size/int64(read)), 1)
		if left := int64(total - read); left <= limit {
			limit = 0 // the rest fits in one page: no limit, no count
		}
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
	if len(opts) > 0 && kvdb.ApplyDeleteOptions(opts).Prefix {
		if full == "" {
			full, ops = "\x00", []clientv3.OpOption{clientv3.WithFromKey()}
		} else {
			ops = []clientv3.OpOption{clientv3.WithPrefix()}
		}
	}
	var deleted int64
	err = retryAmbiguous(ctx, b.p.cfg.WriteAttemptTimeout, func(ctx context.Context) error {
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
