package statuscheck

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/internal/backoff"
)

// Bounds of the wait between two attempts to publish while the store fails.
// The store's OnConnect callback cuts the wait short when it comes back.
const (
	minRetry = 100 * time.Millisecond
	maxRetry = 5 * time.Second
)

// publishLoop writes the status keys whose value differs from what the store
// holds, every time the status changes. Changes that arrive while it writes
// coalesce: it then writes the latest state once.
func (p *Plugin) publishLoop(b kvdb.BytesBroker) {
	defer p.wg.Done()
	published := make(map[string][]byte) // key -> value the store holds
	var putOpts []kvdb.PutOption
	session := p.cfg.expireWithAgent()
	if session {
		putOpts = append(putOpts, kvdb.WithSession())
	}
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	wait, failing := backoff.Backoff{Min: minRetry, Max: maxRetry}, false
	for {
		select {
		case <-p.ctx.Done():
			retry.Stop()
			return
		case <-p.trigger:
		case <-retry.C:
		}
		err := p.publishOnce(b, published, session, putOpts)
		if p.ctx.Err() != nil {
			return
		}
		if err != nil {
			if !failing {
				p.Log.Warnf("publishing the status failed, retrying: %v", err)
			}
			failing = true
			// What reached the store is unknown: read it before the next
			// attempt rather than write twice.
			p.resync.Store(true)
			retry.Reset(wait.Next())
			continue
		}
		if failing {
			p.Log.Info("status published again")
		}
		failing = false
		wait.Reset()
		retry.Stop()
	}
}

// publishOnce brings the store up to date with the current snapshot. After
// a reconnect, a lost session or a failed write it first reads what the
// store holds: a key that is missing, holds another value or is bound to
// the wrong lease is written again. With session keys, a key under a lost
// session lease is as good as gone: it expires with that lease.
func (p *Plugin) publishOnce(b kvdb.BytesBroker, published map[string][]byte, session bool, opts []kvdb.PutOption) error {
	if p.resync.Swap(false) {
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.PublishTimeout)
		kvs, _, err := b.List(ctx, model.StatusPrefix)
		cancel()
		if err != nil {
			p.fails.Add(1)
			return fmt.Errorf("statuscheck: list %s: %w", model.StatusPrefix, err)
		}
		clear(published)
		for _, kv := range kvs {
			if (session && !kv.Session) || (!session && kv.Lease != 0) {
				continue
			}
			published[kv.Key] = kv.Value
		}
	}
	snap := p.snap.Load()
	// Plugin keys first: the agent key summarises them.
	for _, ps := range snap.Agent.GetPlugins() {
		v := (&model.PluginStatus{
			State:      ps.GetState(),
			LastChange: ps.GetLastChange(),
			LastUpdate: ps.GetLastUpdate(),
			Error:      ps.GetError(),
		}).AppendJSON(nil)
		if err := p.put(b, model.PluginStatusKey(ps.GetName()), v, published, opts); err != nil {
			return err
		}
	}
	return p.put(b, model.AgentStatusKey(), snap.Agent.AppendJSON(nil), published, opts)
}

func (p *Plugin) put(b kvdb.BytesBroker, key string, v []byte, published map[string][]byte, opts []kvdb.PutOption) error {
	if old, ok := published[key]; ok && bytes.Equal(old, v) {
		return nil
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.PublishTimeout)
	defer cancel()
	if err := b.Put(ctx, key, v, opts...); err != nil {
		p.fails.Add(1)
		return fmt.Errorf("statuscheck: put %q: %w", key, err)
	}
	p.puts.Add(1)
	published[key] = v
	return nil
}
