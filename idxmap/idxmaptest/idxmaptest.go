package idxmaptest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/plinth-go/plinth/idxmap"
)

// Timeout bounds each case; a watch that never delivers fails the case
// instead of hanging the test binary.
var Timeout = 20 * time.Second

// Item is the value type of the suite.
type Item struct {
	Kind string
	Tags []string
	N    int
}

// Indexes of the suite: "kind" gives the Kind, "tag" every tag.
const (
	IndexKind = "kind"
	IndexTag  = "tag"
)

// Indexers returns the index functions the suite passes to the factory.
func Indexers() idxmap.Indexers[*Item] {
	return idxmap.Indexers[*Item]{
		IndexKind: func(it *Item) []string { return []string{it.Kind} },
		IndexTag:  func(it *Item) []string { return it.Tags },
	}
}

// NewMapping returns an empty map with the given indexes. It is called once
// per case; it should register the map's cleanup with t.Cleanup.
type NewMapping func(t *testing.T, indexers idxmap.Indexers[*Item]) idxmap.NamedMappingRW[*Item]

type testCase struct {
	name string
	doc  string
	run  func(t *testing.T, m idxmap.NamedMappingRW[*Item]) error
}

// Run runs every case as a subtest.
func Run(t *testing.T, newMapping NewMapping) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newMapping(t, Indexers())
			if err := c.run(t, m); err != nil {
				t.Errorf("%s\n%v", c.doc, err)
			}
		})
	}
}

var cases = []testCase{
	{"PutGetDelete", "Put stores, GetValue finds, Delete removes and returns the old value.", testPutGetDelete},
	{"ListAllNamesSorted", "ListAllNames returns every name in byte order, whatever the insertion order.", testListAllNames},
	{"SecondaryLookup", "ListNames and GetValuesByIndex find entries by indexed value, sorted by name; unknowns give nothing.", testSecondaryLookup},
	{"IndexFollowsUpdate", "A Put of a new value moves the name between indexed values and keeps values present before and after.", testIndexFollowsUpdate},
	{"IndexFollowsDelete", "A deleted name disappears from every index.", testIndexFollowsDelete},
	{"DuplicateIndexedValues", "An index function returning a value twice lists the name once and removes it once.", testDuplicateIndexedValues},
	{"UpdateUnderLock", "Update sees the current value, stores only when asked, and no concurrent Update is lost.", testUpdate},
	{"ClearEmitsDeletes", "Clear empties the map and its indexes and emits one delete per entry in name order.", testClear},
	{"EventKindsAndValues", "Events say create, update or delete, with the old and the new value.", testEventKinds},
	{"OrderUnderConcurrentWriters", "Every subscriber sees the changes of concurrent writers in one order, that of the map.", testConcurrentOrder},
	{"Unregister", "After Unregister and Done no callback runs; Unregister is idempotent and frees the name.", testUnregister},
	{"UnregisterFromCallback", "A callback may unregister its own watch.", testUnregisterFromCallback},
	{"DuplicateSubscriber", "A second active watch with the same name is refused with ErrDuplicateSubscriber.", testDuplicateSubscriber},
	{"SnapshotThenChanges", "WithSnapshot delivers the content, then every later change, with no gap and no duplicate, under concurrent writes.", testSnapshotThenChanges},
	{"SlowSubscriberBackpressure", "A full queue makes writers wait instead of dropping; lookups go on meanwhile; every event arrives in order.", testBackpressure},
	{"CallbackReadsMap", "A callback may read the map it watches.", testCallbackReads},
	{"ToChan", "ToChan delivers events on a channel, and Unregister abandons a pending send.", testToChan},
}

func item(kind string, tags ...string) *Item { return &Item{Kind: kind, Tags: tags} }

func checkNames(what string, got, want []string) error {
	if len(got) == 0 && len(want) == 0 {
		return nil
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("%s = %q, want %q", what, got, want)
	}
	return nil
}

func testPutGetDelete(_ *testing.T, m idxmap.NamedMappingRW[*Item]) error {
	var errs []error
	if _, found := m.GetValue("a"); found {
		errs = append(errs, errors.New(`GetValue("a") found a value in an empty map`))
	}
	a := item("x")
	m.Put("a", a)
	if v, found := m.GetValue("a"); !found || v != a {
		errs = append(errs, fmt.Errorf(`GetValue("a") = %v, %v, want the value put, true`, v, found))
	}
	if n := m.Len(); n != 1 {
		errs = append(errs, fmt.Errorf("Len() = %d, want 1", n))
	}
	a2 := item("y")
	m.Put("a", a2)
	if v, _ := m.GetValue("a"); v != a2 {
		errs = append(errs, errors.New(`GetValue("a") after a second Put does not return the second value`))
	}
	if old, existed := m.Delete("a"); !existed || old != a2 {
		errs = append(errs, fmt.Errorf(`Delete("a") = %v, %v, want the last value, true`, old, existed))
	}
	if _, existed := m.Delete("a"); existed {
		errs = append(errs, errors.New(`Delete("a") twice reports existed=true`))
	}
	if n := m.Len(); n != 0 {
		errs = append(errs, fmt.Errorf("Len() after Delete = %d, want 0", n))
	}
	return errors.Join(errs...)
}

func testListAllNames(_ *testing.T, m idxmap.NamedMappingRW[*Item]) error {
	var errs []error
	errs = append(errs, checkNames("ListAllNames() of an empty map", m.ListAllNames(), nil))
	for _, n := range []string{"b", "a/2", "c", "a/10", "A", ""} {
		m.Put(n, item("x"))
	}
	errs = append(errs, checkNames("ListAllNames()", m.ListAllNames(), []string{"", "A", "a/10", "a/2", "b", "c"}))
	m.Delete("b")
	m.Put("ab", item("x"))
	errs = append(errs, checkNames("ListAllNames() after a delete and a put", m.ListAllNames(), []string{"", "A", "a/10", "a/2", "ab", "c"}))
	return errors.Join(errs...)
}

func testSecondaryLookup(_ *testing.T, m idxmap.NamedMappingRW[*Item]) error {
	var errs []error
	c, a, b := item("eth", "up"), item("eth", "down"), item("loop", "up")
	m.Put("c", c)
	m.Put("a", a)
	m.Put("b", b)
	errs = append(errs,
		checkNames(`ListNames("kind", "eth")`, m.ListNames(IndexKind, "eth"), []string{"a", "c"}),
		checkNames(`ListNames("tag", "up")`, m.ListNames(IndexTag, "up"), []string{"b", "c"}),
		checkNames(`ListNames("kind", "none")`, m.ListNames(IndexKind, "none"), nil),
		checkNames(`ListNames("nosuchindex", "eth")`, m.ListNames("nosuchindex", "eth"), nil),
	)
	if vs := m.GetValuesByIndex(IndexKind, "eth"); len(vs) != 2 || vs[0] != a || vs[1] != c {
		errs = append(errs, fmt.Errorf(`GetValuesByIndex("kind", "eth") = %v, want the values of a and c in that order`, vs))
	}
	if vs := m.GetValuesByIndex("nosuchindex", "x"); len(vs) != 0 {
		errs = append(errs, fmt.Errorf(`GetValuesByIndex of an unknown index = %v, want none`, vs))
	}
	// The result belongs to the caller.
	got := m.ListNames(IndexKind, "eth")
	got[0] = "changed"
	errs = append(errs, checkNames(`ListNames("kind", "eth") after modifying a previous result`, m.ListNames(IndexKind, "eth"), []string{"a", "c"}))
	return errors.Join(errs...)
}

func testIndexFollowsUpdate(_ *testing.T, m idxmap.NamedMappingRW[*Item]) error {
	var errs []error
	m.Put("n", item("a", "t1"))
	m.Put("other", item("a", "t1"))
	m.Put("n", item("b", "t1", "t2"))
	errs = append(errs,
		checkNames(`ListNames("kind", "a") after moving n to b`, m.ListNames(IndexKind, "a"), []string{"other"}),
		checkNames(`ListNames("kind", "b")`, m.ListNames(IndexKind, "b"), []string{"n"}),
		// Old values [t1], new [t1 t2]: t1 must keep n.
		checkNames(`ListNames("tag", "t1") after tags [t1] -> [t1 t2]`, m.ListNames(IndexTag, "t1"), []string{"n", "other"}),
		checkNames(`ListNames("tag", "t2")`, m.ListNames(IndexTag, "t2"), []string{"n"}),
	)
	m.Put("n", item("b"))
	errs = append(errs,
		checkNames(`ListNames("tag", "t1") after removing n's tags`, m.ListNames(IndexTag, "t1"), []string{"other"}),
		checkNames(`ListNames("tag", "t2") after removing n's tags`, m.ListNames(IndexTag, "t2"), nil),
	)
	return errors.Join(errs...)
}

func testIndexFollowsDelete(_ *testing.T, m idxmap.NamedMappingRW[*Item]) error {
	var errs []error
	m.Put("n", item("a", "t1", "t2"))
	m.Put("o", item("a", "t2"))
	m.Delete("n")
	errs = append(errs,
		checkNames(`ListNames("kind", "a")`, m.ListNames(IndexKind, "a"), []string{"o"}),
		checkNames(`ListNames("tag", "t1")`, m.ListNames(IndexTag, "t1"), nil),
		checkNames(`ListNames("tag", "t2")`, m.ListNames(IndexTag, "t2"), []string{"o"}),
	)
	m.Delete("o")
	errs = append(errs, checkNames(`ListNames("kind", "a") after deleting all`, m.ListNames(IndexKind, "a"), nil))
	return errors.Join(errs...)
}

func testDuplicateIndexedValues(_ *testing.T, m idxmap.NamedMappingRW[*Item]) error {
	var errs []error
	m.Put("n", item("a", "t", "t"))
	errs = append(errs, checkNames(`ListNames("tag", "t") with tags [t t]`, m.ListNames(IndexTag, "t"), []string{"n"}))
	m.Put("n", item("a", "t"))
	errs = append(errs, checkNames(`ListNames("tag", "t") after tags [t t] -> [t]`, m.ListNames(IndexTag, "t"), []string{"n"}))
	m.Put("n", item("a"))
	errs = append(errs, checkNames(`ListNames("tag", "t") after tags [t] -> []`, m.ListNames(IndexTag, "t"), nil))
	return errors.Join(errs...)
}

func testUpdate(_ *testing.T, m idxmap.NamedMappingRW[*Item]) error {
	var errs []error
	stored := m.Update("n", func(old *Item, found bool) (*Item, bool) {
		if found || old != nil {
			errs = append(errs, fmt.Errorf("mapping.Update of a missing name got %v, %v, want nil, false", old, found))
		}
		return nil, false
	})
	if stored || m.Len() != 0 {
		errs = append(errs, errors.New("mapping.Update returning store=false stored a value"))
	}
	const writers, rounds = 8, 200
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range rounds {
				m.Update("n", func(old *Item, found bool) (*Item, bool) {
					n := 0
					if found {
						n = old.N
					}
					return &Item{Kind: "counter", N: n + 1}, true
				})
			}
		})
	}
	wg.Wait()
	if v, _ := m.GetValue("n"); v == nil || v.N != writers*rounds {
		errs = append(errs, fmt.Errorf("counter after %d concurrent Updates = %v, want %d", writers*rounds, v, writers*rounds))
	}
	errs = append(errs, checkNames(`ListNames("kind", "counter")`, m.ListNames(IndexKind, "counter"), []string{"n"}))
	return errors.Join(errs...)
}

func testClear(t *testing.T, m idxmap.NamedMappingRW[*Item]) error {
	var errs []error
	m.Put("b", item("k", "t"))
	m.Put("a", item("k"))
	rec := watch(t, m, "rec")
	m.Clear()
	if n := m.Len(); n != 0 {
		errs = append(errs, fmt.Errorf("Len() after Clear = %d", n))
	}
	errs = append(errs,
		checkNames("ListAllNames() after Clear", m.ListAllNames(), nil),
		checkNames(`ListNames("kind", "k") after Clear`, m.ListNames(IndexKind, "k"), nil),
		checkNames(`ListNames("tag", "t") after Clear`, m.ListNames(IndexTag, "t"), nil),
	)
	evs, err := rec.next(2)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	errs = append(errs, checkEvents(evs, "delete a", "delete b"))
	m.Put("a", item("k"))
	errs = append(errs, checkNames(`ListNames("kind", "k") after Clear and Put`, m.ListNames(IndexKind, "k"), []string{"a"}))
	return errors.Join(errs...)
}

func testEventKinds(t *testing.T, m idxmap.NamedMappingRW[*Item]) error {
	rec := watch(t, m, "rec")
	v1, v2 := item("a"), item("b")
	m.Put("n", v1)
	m.Put("n", v2)
	m.Update("n", func(old *Item, _ bool) (*Item, bool) { return old, true })
	m.Delete("n")
	m.Delete("n") // nothing to delete: no event
	m.Put("z", v1)
	evs, err := rec.next(5)
	if err != nil {
		return err
	}
	var errs []error
	errs = append(errs, checkEvents(evs, "create n", "update n", "update n", "delete n", "create z"))
	if e := evs[0]; e.Old != nil || e.New != v1 || e.Snapshot {
		errs = append(errs, fmt.Errorf("create event = %+v, want Old nil, New the value put, Snapshot false", e))
	}
	if e := evs[1]; e.Old != v1 || e.New != v2 {
		errs = append(errs, fmt.Errorf("update event = %+v, want Old and New the two values", e))
	}
	if e := evs[3]; e.Old != v2 || e.New != nil {
		errs = append(errs, fmt.Errorf("delete event = %+v, want Old the deleted value, New nil", e))
	}
	return errors.Join(errs...)
}

func testConcurrentOrder(t *testing.T, m idxmap.NamedMappingRW[*Item]) error {
	r1, r2 := watch(t, m, "first"), watch(t, m, "second")
	const writers, rounds = 4, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			own := "w" + strconv.Itoa(w)
			for i := range rounds {
				m.Put(own, &Item{Kind: own, N: i})
				m.Put("shared", &Item{Kind: own, N: i})
				if i%10 == 9 {
					m.Delete(own)
				}
			}
		})
	}
	wg.Wait()
	total := writers * rounds * 2
	total += writers * rounds / 10
	e1, err := r1.next(total)
	if err != nil {
		return err
	}
	e2, err := r2.next(total)
	if err != nil {
		return err
	}
	var errs []error
	for i := range e1 {
		if e1[i].Kind != e2[i].Kind || e1[i].Name != e2[i].Name || e1[i].New != e2[i].New {
			errs = append(errs, fmt.Errorf("event %d differs between subscribers: %v %s vs %v %s", i, e1[i].Kind, e1[i].Name, e2[i].Kind, e2[i].Name))
			break
		}
	}
	// Replaying the events must give the map, and each event's Old must be
	// the value the previous event left.
	state := map[string]*Item{}
	last := map[string]int{}
	for i, ev := range e1 {
		if err := applyEvent(state, ev); err != nil {
			errs = append(errs, fmt.Errorf("event %d: %w", i, err))
			break
		}
		if ev.Kind != idxmap.EventDelete && ev.Name != "shared" {
			if n, ok := last[ev.Name]; ok && ev.New.N <= n && ev.New.N != 0 {
				errs = append(errs, fmt.Errorf("event %d: %s went from N=%d to N=%d: a writer's changes out of order", i, ev.Name, n, ev.New.N))
			}
			last[ev.Name] = ev.New.N
		}
	}
	errs = append(errs, checkState(m, state))
	return errors.Join(errs...)
}

func testUnregister(t *testing.T, m idxmap.NamedMappingRW[*Item]) error {
	var errs []error
	var mu sync.Mutex
	calls := 0
	reg, err := m.Watch("sub", func(idxmap.Event[*Item]) { mu.Lock(); calls++; mu.Unlock() })
	if err != nil {
		return err
	}
	rec := watch(t, m, "witness")
	m.Put("a", item("x"))
	if _, err := rec.next(1); err != nil {
		return err
	}
	reg.Unregister()
	reg.Unregister()
	if err := waitDone(reg); err != nil {
		return err
	}
	mu.Lock()
	before := calls
	mu.Unlock()
	m.Put("b", item("x"))
	if _, err := rec.next(1); err != nil {
		return err
	}
	mu.Lock()
	if calls != before {
		errs = append(errs, fmt.Errorf("callback ran %d times after Unregister and Done", calls-before))
	}
	mu.Unlock()
	reg2, err := m.Watch("sub", func(idxmap.Event[*Item]) {})
	if err != nil {
		errs = append(errs, fmt.Errorf("mapping.Watch with the name of an unregistered watch: %w", err))
	} else {
		reg2.Unregister()
	}
	return errors.Join(errs...)
}

func testUnregisterFromCallback(_ *testing.T, m idxmap.NamedMappingRW[*Item]) error {
	regc := make(chan idxmap.Registration, 1)
	reg, err := m.Watch("self", func(idxmap.Event[*Item]) {
		r := <-regc
		r.Unregister()
		regc <- r
	})
	if err != nil {
		return err
	}
	regc <- reg
	m.Put("a", item("x"))
	return waitDone(reg)
}

func testDuplicateSubscriber(t *testing.T, m idxmap.NamedMappingRW[*Item]) error {
	watch(t, m, "sub")
	reg, err := m.Watch("sub", func(idxmap.Event[*Item]) {})
	if !errors.Is(err, idxmap.ErrDuplicateSubscriber) {
		if reg != nil {
			reg.Unregister()
		}
		return fmt.Errorf("second Watch(%q) = %v, want ErrDuplicateSubscriber", "sub", err)
	}
	if _, err := m.Watch("", func(idxmap.Event[*Item]) {}); !errors.Is(err, idxmap.ErrNoSubscriber) {
		return fmt.Errorf(`Watch("") = %v, want ErrNoSubscriber`, err)
	}
	return nil
}

func testSnapshotThenChanges(t *testing.T, m idxmap.NamedMappingRW[*Item]) error {
	for i := range 50 {
		m.Put("k"+strconv.Itoa(i), &Item{Kind: "k", N: i})
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := "k" + strconv.Itoa(i%70)
			if i%3 == 0 {
				m.Delete(name)
			} else {
				m.Put(name, &Item{Kind: "k", N: 1000 + i})
			}
		}
	})
	rec := newRecorder()
	reg, err := m.Watch("snap", rec.callback, idxmap.WithSnapshot())
	if err != nil {
		close(stop)
		wg.Wait()
		return err
	}
	t.Cleanup(reg.Unregister)
	// Let the writer make changes after the registration.
	m.Put("marker", item("m"))
	if err := rec.waitFor("marker"); err != nil {
		close(stop)
		wg.Wait()
		return err
	}
	close(stop)
	wg.Wait()
	m.Put("end", item("m"))
	if err := rec.waitFor("end"); err != nil {
		return err
	}
	state := map[string]*Item{}
	inSnapshot := true
	for i, ev := range rec.all() {
		if ev.Snapshot && !inSnapshot {
			return fmt.Errorf("event %d (%s) is a snapshot event after a change", i, ev.Name)
		}
		inSnapshot = ev.Snapshot
		if err := applyEvent(state, ev); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	return checkState(m, state)
}

func testBackpressure(t *testing.T, m idxmap.NamedMappingRW[*Item]) error {
	release := make(chan struct{})
	rec := newRecorder()
	reg, err := m.Watch("slow", func(ev idxmap.Event[*Item]) {
		<-release
		rec.callback(ev)
	}, idxmap.WithQueueSize(2))
	if err != nil {
		return err
	}
	t.Cleanup(reg.Unregister)
	const n = 20
	var progress sync.WaitGroup
	done := make(chan struct{})
	progress.Go(func() {
		for i := range n {
			m.Put("k", &Item{Kind: "k", N: i})
		}
		close(done)
	})
	var errs []error
	// With one event in the callback and two queued, the writer must be
	// held well before n puts.
	select {
	case <-done:
		errs = append(errs, fmt.Errorf("%d puts finished while the subscriber (queue size 2) had taken none", n))
	case <-time.After(200 * time.Millisecond):
	}
	lookup := make(chan struct{})
	go func() {
		m.GetValue("k")
		m.ListNames(IndexKind, "k")
		close(lookup)
	}()
	select {
	case <-lookup:
	case <-time.After(Timeout):
		errs = append(errs, errors.New("lookups blocked while a writer waits for a slow subscriber"))
	}
	close(release)
	progress.Wait()
	evs, err := rec.next(n)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for i, ev := range evs {
		if ev.New.N != i {
			errs = append(errs, fmt.Errorf("event %d carries N=%d: an event was lost or reordered", i, ev.New.N))
			break
		}
	}
	return errors.Join(errs...)
}

func testCallbackReads(t *testing.T, m idxmap.NamedMappingRW[*Item]) error {
	seen := make(chan int, 10)
	reg, err := m.Watch("reader", func(ev idxmap.Event[*Item]) {
		seen <- len(m.ListNames(IndexKind, "k")) + m.Len()
	})
	if err != nil {
		return err
	}
	t.Cleanup(reg.Unregister)
	m.Put("a", item("k"))
	select {
	case <-seen:
		return nil
	case <-time.After(Timeout):
		return errors.New("a callback reading the map did not return")
	}
}

func testToChan(_ *testing.T, m idxmap.NamedMappingRW[*Item]) error {
	ch := make(chan idxmap.Event[*Item])
	reg, err := idxmap.ToChan[*Item](m, "chan", ch, idxmap.WithQueueSize(1))
	if err != nil {
		return err
	}
	m.Put("a", item("k"))
	var errs []error
	select {
	case ev := <-ch:
		errs = append(errs, checkEvents([]idxmap.Event[*Item]{ev}, "create a"))
	case <-time.After(Timeout):
		return errors.New("no event on the channel")
	}
	m.Put("b", item("k")) // its send stays pending: nobody reads any more
	reg.Unregister()
	if err := waitDone(reg); err != nil {
		errs = append(errs, fmt.Errorf("mapping.Unregister with a send pending: %w", err))
	}
	return errors.Join(errs...)
}

// recorder collects events in the order of delivery.
type recorder struct {
	mu     sync.Mutex
	events []idxmap.Event[*Item]
	notify chan struct{} // cap 1: an event arrived
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) callback(ev idxmap.Event[*Item]) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *recorder) all() []idxmap.Event[*Item] {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// wait waits until cond holds for the events so far.
func (r *recorder) wait(what string, cond func([]idxmap.Event[*Item]) bool) ([]idxmap.Event[*Item], error) {
	deadline := time.After(Timeout)
	for {
		if evs := r.all(); cond(evs) {
			return evs, nil
		}
		select {
		case <-r.notify:
		case <-deadline:
			return nil, fmt.Errorf("waiting for %s: got %d events in %s", what, len(r.all()), Timeout)
		}
	}
}

// next returns the first n events once they arrived.
func (r *recorder) next(n int) ([]idxmap.Event[*Item], error) {
	evs, err := r.wait(fmt.Sprintf("%d events", n), func(evs []idxmap.Event[*Item]) bool { return len(evs) >= n })
	if err != nil {
		return nil, err
	}
	return evs[:n], nil
}

func (r *recorder) waitFor(name string) error {
	_, err := r.wait("an event for "+name, func(evs []idxmap.Event[*Item]) bool {
		return slices.ContainsFunc(evs, func(ev idxmap.Event[*Item]) bool { return ev.Name == name })
	})
	return err
}

func watch(t *testing.T, m idxmap.NamedMapping[*Item], name string) *recorder {
	t.Helper()
	rec := newRecorder()
	reg, err := m.Watch(name, rec.callback)
	if err != nil {
		t.Fatalf("Watch(%q): %v", name, err)
	}
	t.Cleanup(func() {
		reg.Unregister()
		<-reg.Done()
	})
	return rec
}

func waitDone(reg idxmap.Registration) error {
	select {
	case <-reg.Done():
		return nil
	case <-time.After(Timeout):
		return errors.New("mapping.Done not closed after Unregister")
	}
}

func checkEvents(evs []idxmap.Event[*Item], want ...string) error {
	got := make([]string, len(evs))
	for i, ev := range evs {
		got[i] = ev.Kind.String() + " " + ev.Name
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("events = %q, want %q", got, want)
	}
	return nil
}

// applyEvent replays ev on state, checking that it is consistent with it:
// no create of a present name, no update or delete of a missing one, and
// Old equal to the current value.
func applyEvent(state map[string]*Item, ev idxmap.Event[*Item]) error {
	cur, ok := state[ev.Name]
	switch ev.Kind {
	case idxmap.EventCreate:
		if ok {
			return fmt.Errorf("create of %q, which is present: a duplicate", ev.Name)
		}
		state[ev.Name] = ev.New
	case idxmap.EventUpdate, idxmap.EventDelete:
		if !ok {
			return fmt.Errorf("%v of %q, which is missing: a gap", ev.Kind, ev.Name)
		}
		if cur != ev.Old {
			return fmt.Errorf("%v of %q with Old %v, but the last value seen was %v", ev.Kind, ev.Name, ev.Old, cur)
		}
		if ev.Kind == idxmap.EventDelete {
			delete(state, ev.Name)
		} else {
			state[ev.Name] = ev.New
		}
	default:
		return fmt.Errorf("unknown kind %v", ev.Kind)
	}
	return nil
}

func checkState(m idxmap.NamedMapping[*Item], state map[string]*Item) error {
	names := m.ListAllNames()
	if len(names) != len(state) {
		return fmt.Errorf("replayed events give %d names, the map has %d", len(state), len(names))
	}
	for _, n := range names {
		v, _ := m.GetValue(n)
		if state[n] != v {
			return fmt.Errorf("replayed events give %q = %v, the map has %v", n, state[n], v)
		}
	}
	return nil
}
