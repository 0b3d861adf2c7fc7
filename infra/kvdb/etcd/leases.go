package etcd

import (
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// leases hands out the leases of TTL and session puts.
//
// A lease per put would cost a round trip and a server object per put. So
// puts with the same TTL share a lease granted within the last second, with
// a TTL one second longer than asked: each key expires no sooner than its
// TTL and at most one second after it. Such leases are never kept alive;
// they expire on their own.
//
// Session puts share one lease of the session TTL that the plugin keeps
// alive until Close revokes it. The lease can be lost while the agent runs:
// keepalives that fail for longer than its TTL (an outage, a paused
// process), a revoke by someone else, a store wiped or restored from a
// backup. The plugin then forgets it, the next session put grants a new
// one, and the OnConnect callbacks run again (at once, or at the reconnect)
// so that the owners of session keys put them again.
type leases struct {
	p *Plugin

	mu      sync.Mutex // guards byTTL and session
	byTTL   map[int64]ttlLease
	session clientv3.LeaseID // 0: none
}

type ttlLease struct {
	id      clientv3.LeaseID
	granted time.Time
}

// ttlLeaseReuse is how long a TTL lease takes new keys: the most a key may
// outlive its TTL.
const ttlLeaseReuse = time.Second

func newLeases(p *Plugin) *leases {
	return &leases{p: p, byTTL: make(map[int64]ttlLease)}
}

// forTTL returns a lease under which a key lives at least ttl.
func (l *leases) forTTL(ctx context.Context, c *clientv3.Client, ttl time.Duration) (clientv3.LeaseID, error) {
	secs := int64((ttl + time.Second - 1) / time.Second)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if g, ok := l.byTTL[secs]; ok && now.Sub(g.granted) < ttlLeaseReuse {
		return g.id, nil
	}
	// Held across the grant so that concurrent puts share it.
	resp, err := c.Grant(ctx, secs+int64(ttlLeaseReuse/time.Second))
	if err != nil {
		return 0, fmt.Errorf("grant lease of %ds: %w", secs, err)
	}
	for k, g := range l.byTTL {
		if now.Sub(g.granted) >= ttlLeaseReuse {
			delete(l.byTTL, k)
		}
	}
	l.byTTL[secs] = ttlLease{id: resp.ID, granted: now}
	return resp.ID, nil
}

// forSession returns the session lease, granting it and starting its
// keepalive when there is none.
func (l *leases) forSession(ctx context.Context, c *clientv3.Client) (clientv3.LeaseID, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.session != 0 {
		return l.session, nil
	}
	secs := int64((l.p.cfg.SessionTTL + time.Second - 1) / time.Second)
	resp, err := c.Grant(ctx, secs)
	if err != nil {
		return 0, fmt.Errorf("grant session lease of %ds: %w", secs, err)
	}
	ch, err := c.KeepAlive(l.p.ctx, resp.ID)
	if err != nil {
		return 0, fmt.Errorf("keep session lease alive: %w", err)
	}
	l.session = resp.ID
	l.p.wg.Add(1)
	go l.drainKeepAlive(resp.ID, ch)
	return resp.ID, nil
}

// current returns the session lease, 0 when there is none.
func (l *leases) current() clientv3.LeaseID {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.session
}

// drainKeepAlive consumes the keepalive responses, which the client requires,
// and drops the lease when the client gives up on it: the server no longer
// knows it, or no keepalive succeeded within its TTL.
func (l *leases) drainKeepAlive(id clientv3.LeaseID, ch <-chan *clientv3.LeaseKeepAliveResponse) {
	defer l.p.wg.Done()
	for range ch {
	}
	if l.p.ctx.Err() == nil {
		l.dropSession(id)
	}
}

// dropSession forgets the session lease id, if it is still the current one,
// and makes the owners of session keys put them again under a new one. It
// reports whether id was current.
func (l *leases) dropSession(id clientv3.LeaseID) bool {
	l.mu.Lock()
	current := id != 0 && l.session == id
	if current {
		l.session = 0
	}
	l.mu.Unlock()
	if current {
		l.p.Log.Warnf("session lease %x lost; putting session keys again under a new lease", int64(id))
		l.p.sessionLost()
	}
	return current
}

// revokeSession deletes the session keys at once on Close, rather than a
// session TTL later. It is best effort: with etcd down the lease expires by
// itself.
func (l *leases) revokeSession() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	id := l.session
	l.session = 0
	l.mu.Unlock()
	c := l.p.client.Load()
	if id == 0 || c == nil || !l.p.Connected() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := c.Revoke(ctx, id); err != nil {
		l.p.Log.Warnf("revoke session lease: %v", err)
	}
	return nil
}
