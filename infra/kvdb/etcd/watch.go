package etcd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/internal/backoff"
)

// watcher implements kvdb.Watcher for keys under prefix.
type watcher struct {
	p      *Plugin
	prefix string
}

var _ kvdb.Watcher = (*watcher)(nil)

// Watch starts a watch of the keys under prefix. See kvdb.Watcher for the
// guarantees. A watch lists the prefix, then watches from the list revision
// + 1 with previous values. When etcd goes away the client resumes the watch
// by itself after the last event it received; when that revision has been
// compacted, the watch lists again and delivers one EventResync.
func (w *watcher) Watch(ctx context.Context, prefix string, fn func(context.Context, kvdb.Event) error) (kvdb.Watch, error) {
	if fn == nil {
		panic("etcd: Watch: nil callback")
	}
	full := w.prefix + prefix
	p := w.p
	if p.disabled {
		return nil, fmt.Errorf("etcd: watch %q: %w", full, kvdb.ErrDisabled)
	}
	if p.ctx == nil {
		return nil, fmt.Errorf("etcd: watch %q: plugin not initialised: call Init first", full)
	}
	if p.closed.Load() {
		return nil, fmt.Errorf("etcd: watch %q: %w", full, kvdb.ErrClosed)
	}
	wctx, cancel := context.WithCancel(ctx)
	stopOnClose := context.AfterFunc(p.ctx, cancel)
	s := &stream{
		p: p, scope: w.prefix, prefix: full, fn: fn,
		userCtx: ctx, ctx: wctx, cancel: cancel, done: make(chan struct{}),
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer stopOnClose()
		defer cancel()
		s.finish(s.run())
	}()
	return s, nil
}

// stream is one running watch.
type stream struct {
	p             *Plugin
	scope, prefix string
	fn            func(context.Context, kvdb.Event) error

	userCtx context.Context // the caller's, to tell why the watch ended
	ctx     context.Context // ends with the caller's, Stop or Close
	cancel  context.CancelFunc
	done    chan struct{}

	mu      sync.Mutex // guards err and stopped
	err     error
	stopped bool

	// A run of permanent errors; used by the watch's goroutine only.
	permSince time.Time
	permErr   error
	nextWarn  time.Time
	warnEvery backoff.Backoff // spaces the warnings of a run
}

func (s *stream) Stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.cancel()
	<-s.done
}

func (s *stream) Done() <-chan struct{} { return s.done }

func (s *stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *stream) finish(err error) {
	s.mu.Lock()
	switch {
	case err != nil:
		s.err = err
	case s.stopped:
	case s.userCtx.Err() != nil:
		s.err = fmt.Errorf("etcd: watch %q: %w", s.prefix, s.userCtx.Err())
	case s.p.ctx.Err() != nil:
		s.err = fmt.Errorf("etcd: watch %q: %w", s.prefix, kvdb.ErrClosed)
	}
	s.mu.Unlock()
	close(s.done)
}

// errEnded marks the end of the watch's context; finish tells why.
var errEnded = errors.New("watch ended")

// run delivers events until the context ends (nil), fn fails (its error)
// or an error that retrying does not fix outlasts the watch error timeout.
func (s *stream) run() error {
	defer s.p.setWatchProblem(s, nil)
	bo := newBackoff(s.p.cfg.ReconnectMaxBackoff)
	var next int64 // revision of the next event to deliver; 0: list first
	for {
		if next == 0 {
			rev, err := s.resync()
			if errors.Is(err, errEnded) {
				return nil
			}
			if err != nil {
				return err
			}
			next = rev + 1
		}
		n, err := s.watch(next)
		switch {
		case errors.Is(err, errEnded):
			return nil
		case errors.Is(err, errCompacted):
			s.p.Log.Infof("watch %q: revision %d compacted, resyncing", s.prefix, n)
			next = 0
			bo.Reset()
			continue
		case err != nil && !errors.Is(err, errBroken):
			return err
		}
		if n > next {
			bo.Reset()
		}
		next = n
		if err := s.failing(); err != nil {
			return err
		}
		if !bo.Sleep(s.ctx.Done()) {
			return nil
		}
	}
}

// isPermanent reports whether err is one that retrying the same watch or
// list does not fix: etcd's auth refuses it, or the request is invalid.
func isPermanent(err error) bool {
	switch status.Code(err) {
	case codes.PermissionDenied, codes.InvalidArgument:
		return true
	}
	return errors.Is(err, rpctypes.ErrPermissionDenied) || errors.Is(err, rpctypes.ErrUserEmpty)
}

// problem records the outcome of one attempt: a permanent error starts or
// continues a run of them, anything else ends it. The first error of a run
// and then one every doubling interval are logged as warnings, and the
// plugin reports the error in its status while the run lasts.
func (s *stream) problem(err error) {
	if err == nil || !isPermanent(err) {
		if !s.permSince.IsZero() {
			s.p.Log.Infof("watch %q: working again", s.prefix)
			s.permSince, s.permErr = time.Time{}, nil
			s.p.setWatchProblem(s, nil)
		}
		return
	}
	now := time.Now()
	if s.permSince.IsZero() {
		s.permSince, s.nextWarn = now, now
		s.warnEvery = backoff.Backoff{Min: time.Second, Max: time.Minute}
	}
	s.permErr = err
	if !now.Before(s.nextWarn) {
		s.p.Log.Warnf("watch %q: %v (retrying; the watch ends with this error %v after it began, at %s)",
			s.prefix, err, s.p.cfg.WatchErrorTimeout, s.permSince.Add(s.p.cfg.WatchErrorTimeout).Format(time.TimeOnly))
		s.nextWarn = now.Add(s.warnEvery.Next())
	}
	s.p.setWatchProblem(s, fmt.Errorf("watch %q: %w", s.prefix, err))
}

// failing returns the error that ends the watch once a run of permanent
// errors has lasted the watch error timeout.
func (s *stream) failing() error {
	if s.permSince.IsZero() || time.Since(s.permSince) < s.p.cfg.WatchErrorTimeout {
		return nil
	}
	return fmt.Errorf("etcd: watch %q: still failing after %v: %w", s.prefix, s.p.cfg.WatchErrorTimeout, s.permErr)
}

// resync lists the prefix until it succeeds and delivers the snapshot.
func (s *stream) resync() (int64, error) {
	bo := newBackoff(s.p.cfg.ReconnectMaxBackoff)
	for {
		var snap []kvdb.KeyValue
		session := int64(s.p.leases.current())
		rev, err := s.p.list(s.ctx, s.prefix, false, func(page []*mvccpb.KeyValue, total int) {
			snap = appendKeyValues(snap, page, total, len(s.scope), session)
		})
		if s.ctx.Err() != nil {
			return 0, errEnded
		}
		s.problem(err)
		if err == nil {
			if err := s.fn(s.ctx, kvdb.Event{Kind: kvdb.EventResync, Rev: rev, Snapshot: snap}); err != nil {
				return 0, err
			}
			return rev, nil
		}
		s.p.Log.Debugf("watch %q: %v", s.prefix, err)
		if err := s.failing(); err != nil {
			return 0, err
		}
		if !bo.Sleep(s.ctx.Done()) {
			return 0, errEnded
		}
	}
}

var (
	errCompacted = errors.New("compacted")
	errBroken    = errors.New("watch broken")
)

// watch delivers the changes from revision next on, and returns the
// revision to resume from with why it stopped: errEnded, errCompacted,
// errBroken (retry) or the error of fn.
func (s *stream) watch(next int64) (int64, error) {
	c, err := s.p.waitClient(s.ctx)
	if err != nil {
		if s.ctx.Err() != nil {
			return next, errEnded
		}
		return next, errBroken
	}
	// The watch gets its own context so that leaving this function always
	// releases its server-side resources. RequireLeader makes a member cut
	// off from its cluster end the watch rather than go silent, so the client
	// moves to another member.
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(s.ctx))
	defer cancel()
	ch := c.Watch(wctx, s.prefix, s.watchOptions(next)...)
	for resp := range ch {
		if resp.CompactRevision != 0 {
			return next, errCompacted
		}
		if err := resp.Err(); err != nil {
			if s.ctx.Err() == nil {
				s.p.Log.Debugf("watch %q from %d: %v", s.prefix, next, err)
				s.problem(err)
			}
			break
		}
		s.problem(nil)
		if resp.IsProgressNotify() && resp.Header.Revision >= next {
			// Every change up to the header revision has been sent: resuming
			// after it is safe and avoids needless resyncs after compaction.
			next = resp.Header.Revision + 1
			continue
		}
		for _, ev := range resp.Events {
			if ev.Kv.ModRevision < next {
				// Delivered before: a resumed watch may send its first
				// revision again.
				continue
			}
			if err := s.fn(s.ctx, s.event(ev)); err != nil {
				return next, err
			}
		}
		if n := len(resp.Events); n > 0 {
			next = max(next, resp.Events[n-1].Kv.ModRevision+1)
		}
	}
	if s.ctx.Err() != nil {
		return next, errEnded
	}
	return next, errBroken
}

func (s *stream) watchOptions(next int64) []clientv3.OpOption {
	// WithPrefix of "" covers the whole key space.
	return []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithRev(next), clientv3.WithPrevKV(), clientv3.WithProgressNotify()}
}

func (s *stream) event(ev *clientv3.Event) kvdb.Event {
	e := kvdb.Event{Kind: kvdb.EventPut, Key: string(ev.Kv.Key[len(s.scope):]), Rev: ev.Kv.ModRevision}
	if ev.PrevKv != nil {
		e.PrevValue = ev.PrevKv.Value
	}
	if ev.Type == mvccpb.DELETE {
		e.Kind = kvdb.EventDelete
	} else {
		e.Value = ev.Kv.Value
	}
	return e
}
