package mem

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/plinth-go/plinth/idxmap"
	"github.com/plinth-go/plinth/logging"
)

// stallLogInterval limits the warnings about one slow subscriber: a
// subscriber that keeps writers waiting does so on every write.
const stallLogInterval = 10 * time.Second

// subscriber delivers the events of one watch on a goroutine of its own.
// Events are queued while the map's write lock is held, so every queue
// holds the changes in map order; writers wait for room after unlocking.
type subscriber[V any] struct {
	name string
	fn   func(idxmap.Event[V])
	m    *Mapping[V]
	done chan struct{}

	mu   sync.Mutex // guards every field below
	cond sync.Cond  // on mu: the queue got an event, or room, or closed
	// queue holds events not yet taken by the delivery goroutine.
	queue []idxmap.Event[V]
	// pending counts queued events plus those taken and not delivered.
	pending int
	// limit is the queue size plus the snapshot events not yet delivered,
	// which do not count against it.
	limit   int
	idle    bool // the delivery goroutine waits for an event
	waiting int  // writers waiting for room
	stalls  int  // times a writer had to wait
	logged  time.Time
	closed  bool
}

// Watch registers callback for every change of the map; see idxmap.Event
// for the delivery guarantees. Each watch runs one goroutine, which ends
// when the watch is unregistered or the map closed.
func (m *Mapping[V]) Watch(name string, callback func(idxmap.Event[V]), opts ...idxmap.WatchOption) (idxmap.Registration, error) {
	if name == "" || callback == nil {
		return nil, fmt.Errorf("idxmap: %s: watch %q: %w", m.name, name, idxmap.ErrNoSubscriber)
	}
	o := idxmap.ApplyWatchOptions(opts)
	s := &subscriber[V]{name: name, fn: callback, m: m, limit: o.QueueSize, done: make(chan struct{})}
	s.cond.L = &s.mu

	m.mu.Lock()
	for _, other := range m.subs {
		if other.name == name {
			m.mu.Unlock()
			return nil, fmt.Errorf("idxmap: %s: watch %q: %w", m.name, name, idxmap.ErrDuplicateSubscriber)
		}
	}
	if o.Snapshot && len(m.items) > 0 {
		// Queued under the same lock as the registration: changes made
		// after it follow the snapshot, and none is in both.
		all := m.sortedLocked()
		s.queue = make([]idxmap.Event[V], len(all))
		for i, e := range all {
			s.queue[i] = idxmap.Event[V]{Kind: idxmap.EventCreate, Name: e.name, New: e.value, Snapshot: true}
		}
		s.pending = len(all)
		s.limit += len(all)
	}
	m.subs = append(slices.Clip(m.subs), s)
	m.mu.Unlock()

	go s.run()
	return s, nil
}

// Close unregisters every watch and waits until their callbacks have
// returned. The map stays usable. Close must not be called from a
// callback.
func (m *Mapping[V]) Close() error {
	m.mu.Lock()
	subs := m.subs
	m.mu.Unlock()
	for _, s := range subs {
		s.Unregister()
	}
	for _, s := range subs {
		<-s.done
	}
	return nil
}

func publishLocked[V any](subs []*subscriber[V], ev idxmap.Event[V]) {
	for _, s := range subs {
		s.enqueue(ev)
	}
}

func waitForRoom[V any](subs []*subscriber[V]) {
	for _, s := range subs {
		s.waitForRoom()
	}
}

func (s *subscriber[V]) enqueue(ev idxmap.Event[V]) {
	s.mu.Lock()
	if !s.closed {
		s.queue = append(s.queue, ev)
		s.pending++
		if s.idle {
			s.cond.Broadcast()
		}
	}
	s.mu.Unlock()
}

// room returns how many events can be queued before a writer has to wait
// (at least one: a writer queues its event, then waits). Only delivery
// changes pending without the map's write lock, and it only makes room.
func (s *subscriber[V]) room() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return math.MaxInt
	}
	return max(1, s.limit-s.pending+1)
}

// waitForRoom applies backpressure: it returns once the subscriber has no
// more than its limit of events pending.
func (s *subscriber[V]) waitForRoom() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending <= s.limit || s.closed {
		return
	}
	s.stalls++
	if log := s.m.log; log != nil && time.Since(s.logged) >= stallLogInterval {
		s.logged = time.Now()
		log.WithFields(logging.Fields{"map": s.m.name, "subscriber": s.name, "pending": s.pending, "stalls": s.stalls}).
			Warn("slow subscriber: writers wait until it catches up")
	}
	for s.pending > s.limit && !s.closed {
		s.waiting++
		s.cond.Wait()
		s.waiting--
	}
}

func (s *subscriber[V]) run() {
	defer close(s.done)
	var batch []idxmap.Event[V]
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closed {
			s.idle = true
			s.cond.Wait()
			s.idle = false
		}
		if s.closed {
			s.mu.Unlock()
			return
		}
		batch, s.queue = s.queue, batch[:0]
		s.mu.Unlock()

		for i := range batch {
			s.fn(batch[i])
			snapshot := batch[i].Snapshot
			batch[i] = idxmap.Event[V]{} // drop the references to the values
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				return
			}
			s.pending--
			if snapshot {
				s.limit--
			}
			if s.waiting > 0 && s.pending <= s.limit {
				s.cond.Broadcast()
			}
			s.mu.Unlock()
		}
	}
}

// Unregister ends the watch; see idxmap.Registration.
func (s *subscriber[V]) Unregister() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.queue = nil
	s.pending = 0
	s.cond.Broadcast()
	s.mu.Unlock()

	m := s.m
	m.mu.Lock()
	if i := slices.Index(m.subs, s); i >= 0 {
		m.subs = slices.Delete(slices.Clone(m.subs), i, i+1)
	}
	m.mu.Unlock()
}

// Done is closed when the last callback has returned.
func (s *subscriber[V]) Done() <-chan struct{} { return s.done }
