package mem

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plinth-go/plinth/idxmap"
	"github.com/plinth-go/plinth/logging"
)

type route struct {
	vrf      string
	nextHops []string
}

func routeIndexers() idxmap.Indexers[*route] {
	return idxmap.Indexers[*route]{
		"vrf":     func(r *route) []string { return []string{r.vrf} },
		"nexthop": func(r *route) []string { return r.nextHops },
	}
}

func bucketCount(m *Mapping[*route], index string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.indexLocked(index).buckets)
}

func TestEmptyBucketsArePruned(t *testing.T) {
	m := NewMapping(routeIndexers())
	for i := range 100 {
		m.Put("r", &route{vrf: "red", nextHops: []string{"10.0.0." + strconv.Itoa(i)}})
	}
	if n := bucketCount(m, "nexthop"); n != 1 {
		t.Errorf("nexthop buckets after 100 changes of one route = %d, want 1", n)
	}
	m.Put("s", &route{vrf: "red"})
	m.Delete("r")
	m.Delete("s")
	for _, index := range []string{"vrf", "nexthop"} {
		if n := bucketCount(m, index); n != 0 {
			t.Errorf("%s buckets after deleting everything = %d, want 0", index, n)
		}
	}
}

func TestLookupsAllocateOnlyTheResult(t *testing.T) {
	m := NewMapping(routeIndexers())
	for i := range 1000 {
		m.Put("r"+strconv.Itoa(i), &route{vrf: "vrf" + strconv.Itoa(i%10), nextHops: []string{"nh" + strconv.Itoa(i)}})
	}
	tests := []struct {
		name string
		max  float64
		fn   func()
	}{
		{"GetValue", 0, func() { m.GetValue("r5") }},
		{"GetValue missing", 0, func() { m.GetValue("nope") }},
		{"ListNames large bucket", 1, func() { m.ListNames("vrf", "vrf3") }},
		{"ListNames one-entry bucket", 1, func() { m.ListNames("nexthop", "nh7") }},
		{"ListNames missing", 0, func() { m.ListNames("vrf", "none") }},
		{"GetValuesByIndex", 1, func() { m.GetValuesByIndex("vrf", "vrf3") }},
		{"ListAllNames", 1, func() { m.ListAllNames() }},
		{"Len", 0, func() { m.Len() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn() // ListAllNames sorts once after a change
			if got := testing.AllocsPerRun(100, tt.fn); got > tt.max {
				t.Errorf("%s allocates %v times per call, want at most %v", tt.name, got, tt.max)
			}
		})
	}
}

func TestLookupAfterAChangeAllocatesOnlyTheResult(t *testing.T) {
	m := NewMapping(routeIndexers())
	for i := range 1000 {
		m.Put("r"+strconv.Itoa(i), &route{vrf: "vrf" + strconv.Itoa(i%10)})
	}
	// Every write moves r5 in or out of the bucket that is looked up.
	in, out := &route{vrf: "vrf3"}, &route{vrf: "vrf4"}
	moves := 0
	move := func() {
		if moves%2 == 0 {
			m.Put("r5", in)
		} else {
			m.Put("r5", out)
		}
		moves++
	}
	writes := testing.AllocsPerRun(100, move)
	both := testing.AllocsPerRun(100, func() {
		move()
		if len(m.GetValuesByIndex("vrf", "vrf3")) < 100 {
			t.Fatal("short lookup")
		}
	})
	if both-writes > 1 {
		t.Errorf("a lookup after each write allocates %v times, want 1", both-writes)
	}
}

func TestNoEventForAChangeAfterUnregister(t *testing.T) {
	m := NewMapping[int](nil)
	defer m.Close()
	for i := range 100 {
		got := make(chan int, 2)
		reg, err := m.Watch("w", func(ev idxmap.Event[int]) { got <- ev.New })
		if err != nil {
			t.Fatal(err)
		}
		m.Put("n", 2*i)
		if v := <-got; v != 2*i {
			t.Fatalf("first event carries %d, want %d", v, 2*i)
		}
		reg.Unregister()
		m.Put("n", 2*i+1) // after Unregister returned: never delivered
		<-reg.Done()
		if len(got) != 0 {
			t.Fatalf("round %d: the change made after Unregister was delivered (%d)", i, <-got)
		}
	}
}

func TestAddIndexIndexesExistingEntries(t *testing.T) {
	m := NewMapping(idxmap.Indexers[*route]{"vrf": func(r *route) []string { return []string{r.vrf} }})
	m.Put("a", &route{vrf: "red", nextHops: []string{"x"}})
	m.Put("b", &route{vrf: "blue", nextHops: []string{"x", "y"}})
	if err := m.AddIndex("nexthop", func(r *route) []string { return r.nextHops }); err != nil {
		t.Fatal(err)
	}
	if got := m.ListNames("nexthop", "x"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf(`ListNames("nexthop", "x") = %q, want [a b]`, got)
	}
	if err := m.AddIndex("vrf", func(r *route) []string { return nil }); !errors.Is(err, idxmap.ErrDuplicateIndex) {
		t.Errorf("AddIndex of an existing name = %v, want ErrDuplicateIndex", err)
	}
	if err := m.AddIndex("a-first", func(r *route) []string { return []string{"all"} }); err != nil {
		t.Fatal(err)
	}
	if got := m.Indexes(); !slices.Equal(got, []string{"a-first", "nexthop", "vrf"}) {
		t.Errorf("Indexes() = %q", got)
	}
	m.Put("a", &route{vrf: "green"})
	if got := m.ListNames("vrf", "green"); !slices.Equal(got, []string{"a"}) {
		t.Errorf(`ListNames("vrf", "green") after adding indexes = %q, want [a]`, got)
	}
	if got := m.IndexedValues("b"); !slices.Equal(got["nexthop"], []string{"x", "y"}) || !slices.Equal(got["a-first"], []string{"all"}) {
		t.Errorf(`IndexedValues("b") = %v`, got)
	}
	if got := m.IndexedValues("nope"); got != nil {
		t.Errorf(`IndexedValues("nope") = %v, want nil`, got)
	}
}

func TestNilIndexFunctionPanicsAtConstruction(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `"vrf"`) {
			t.Errorf("recover() = %v, want a panic naming the index", r)
		}
	}()
	NewMapping(idxmap.Indexers[*route]{"vrf": nil})
}

func TestSlowSubscriberIsLoggedOncePerStall(t *testing.T) {
	var out bytes.Buffer
	reg := logging.NewRegistry(logging.WithOutput(&out), logging.WithoutTimestamps())
	m := NewMapping[int](nil, WithName("numbers"), WithLogger(reg.ForPlugin("numbers")))
	defer m.Close()
	release := make(chan struct{})
	done := make(chan struct{})
	w, err := m.Watch("slow", func(ev idxmap.Event[int]) {
		<-release
		if ev.New == 9 {
			close(done)
		}
	}, idxmap.WithQueueSize(1))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Unregister()
	go func() {
		waitUntilWriterWaits(m)
		close(release)
	}()
	for i := range 10 {
		m.Put("n", i)
	}
	<-done
	if n := strings.Count(out.String(), "slow subscriber"); n != 1 {
		t.Errorf("log has %d slow subscriber warnings, want 1:\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), "subscriber=slow") {
		t.Errorf("warning does not name the subscriber:\n%s", out.String())
	}
}

func TestCloseEndsEveryWatch(t *testing.T) {
	m := NewMapping[int](nil)
	block := make(chan struct{})
	r1, _ := m.Watch("a", func(idxmap.Event[int]) { <-block })
	r2, _ := m.Watch("b", func(idxmap.Event[int]) {})
	m.Put("x", 1)
	close(block)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []idxmap.Registration{r1, r2} {
		select {
		case <-r.Done():
		default:
			t.Error("Done not closed after Close returned")
		}
	}
	m.Put("y", 2) // still usable
	if m.Len() != 2 {
		t.Errorf("Len() after Close = %d, want 2", m.Len())
	}
}

// waitUntilWriterWaits returns once a writer waits for the first
// subscriber of m; there is no event to wait on, so it polls.
func waitUntilWriterWaits[V any](m *Mapping[V]) {
	for {
		m.mu.RLock()
		s := m.subs[0]
		m.mu.RUnlock()
		s.mu.Lock()
		w := s.waiting
		s.mu.Unlock()
		if w > 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGrowKeepsTheContent(t *testing.T) {
	m := NewMapping(routeIndexers())
	m.Put("r0", &route{vrf: "red", nextHops: []string{"h0"}})
	m.Grow(0)
	m.Grow(1000)
	if got := m.ListNames("vrf", "red"); !slices.Equal(got, []string{"r0"}) {
		t.Fatalf("after Grow on a full map: ListNames(vrf, red) = %v", got)
	}
	m.Delete("r0")

	// Announced, then applied in chunks from empty, as CacheHelper does.
	m.Grow(3000)
	for c := range 3 {
		var changes []idxmap.Change[*route]
		for i := c * 1000; i < (c+1)*1000; i++ {
			changes = append(changes, idxmap.Change[*route]{Name: "r" + strconv.Itoa(i),
				Value: &route{vrf: "vrf" + strconv.Itoa(i%3), nextHops: []string{"h" + strconv.Itoa(i)}}})
		}
		m.Apply(changes)
	}
	if m.Len() != 3000 || len(m.ListNames("vrf", "vrf1")) != 1000 || bucketCount(m, "nexthop") != 3000 {
		t.Errorf("Len %d, vrf1 %d, nexthop buckets %d; want 3000, 1000, 3000",
			m.Len(), len(m.ListNames("vrf", "vrf1")), bucketCount(m, "nexthop"))
	}
}

// TestAPanicInUserCodeLeavesTheMapUnchangedAndUsable: a panic in an
// Update callback or an index function, recovered further up (as net/http
// recovers a handler's), must leave the map unlocked and as it was.
func TestAPanicInUserCodeLeavesTheMapUnchangedAndUsable(t *testing.T) {
	m := NewMapping(idxmap.Indexers[string]{
		"first": func(v string) []string {
			if v == "boom" {
				panic("index function failed")
			}
			return []string{v[:1]}
		},
	})
	m.Put("a", "apple")
	recovered := func(f func()) (r any) {
		defer func() { r = recover() }()
		f()
		return nil
	}
	for _, tt := range []struct {
		name string
		f    func()
	}{
		{"Update callback", func() { m.Update("a", func(string, bool) (string, bool) { panic("callback failed") }) }},
		{"index function in Update", func() { m.Update("a", func(string, bool) (string, bool) { return "boom", true }) }},
		{"index function in Put of a new name", func() { m.Put("b", "boom") }},
		{"index function in Put of an existing name", func() { m.Put("a", "boom") }},
		{"index function in Apply", func() { m.Apply([]idxmap.Change[string]{{Name: "c", Value: "cherry"}, {Name: "d", Value: "boom"}}) }},
	} {
		if recovered(tt.f) == nil {
			t.Fatalf("%s: no panic", tt.name)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if v, ok := m.GetValue("a"); !ok || v != "apple" {
				t.Errorf("%s: a = %q, %v; want apple", tt.name, v, ok)
			}
			if _, ok := m.GetValue("b"); ok {
				t.Errorf("%s: b was stored", tt.name)
			}
			if names := m.ListNames("first", "a"); len(names) != 1 || names[0] != "a" {
				t.Errorf("%s: index a = %v, want [a]", tt.name, names)
			}
			m.Put("probe", "pear") // the write lock is free
			m.Delete("probe")
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the map is still locked after the panic", tt.name)
		}
	}
	// Apply made the change before the panicking one.
	if v, ok := m.GetValue("c"); !ok || v != "cherry" {
		t.Errorf("c = %q, %v; want the change before the panic made", v, ok)
	}
}
