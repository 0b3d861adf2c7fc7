//go:build linux

package faultsuite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
)

// TestRouteCacheFollowsAnEtcdClusterAcrossMemberRestarts: the agent runs
// against a 3-member etcd cluster while a writer puts and deletes routes
// under the prefix that its route cache (idxmap.CacheHelper) follows. Each
// round stops two members one after the other, by SIGKILL or SIGTERM, and
// restarts them: the leader and the member that serves the agent's
// watches. In odd rounds etcd is compacted just before the member serving
// the watches stops, so that they resume from a compacted revision and the
// cache must resync. With one member down the other two have quorum: a
// marker route written during the outage must reach GET /routes, and the
// agent must be OK with its status keys in sync. After each round, with the
// writes stopped, GET /routes (also by VRF) must equal the prefix in etcd,
// names and values. /liveness and /readiness answer 200 within
// maxProbeLatency throughout.
func TestRouteCacheFollowsAnEtcdClusterAcrossMemberRestarts(t *testing.T) {
	const scenario = "etcd-cluster"
	started := time.Now()
	c := etcdtest.StartCluster(t, 3)
	t.Logf("%s: 3 members ready in %v", scenario, time.Since(started))
	// Clients of the test's own, closed before the members (cleanups run
	// in reverse): one checks, the other writes.
	cli := etcdtest.Client(t, c.Endpoints()...)
	wcli := etcdtest.Client(t, c.Endpoints()...)
	a := newAgent(t, "faultsuite-cluster", c.Endpoints(), nil)
	prefix := "/vnf-agent/" + a.label + "/config/routes/"
	hc := &http.Client{Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()

	started = time.Now()
	a.Start()
	waitFor(t, recoverTimeout, "agent is OK with its keys in etcd", ready(hc, cli, a))
	record(t, scenario, "start -> ready and in sync", time.Since(started))

	leader := func() int { return leaderOf(t, cli, c) }
	watching := func() int { return watchingMember(t, hc, c) }
	// Two members of three keep a quorum: both probes answer 200
	// throughout, whichever member is down.
	p := startProber(hc, a, true)
	t.Cleanup(func() { p.stop() }) // when a check fails first
	for round := range rounds(2, 30) {
		w := newWriter(wcli, prefix, uint64(round))
		w.start()
		t.Cleanup(w.stop) // when a check fails first
		marker := 0
		// stopAndRestart stops member i while the writer writes, checks
		// that the agent follows, and restarts the member.
		stopAndRestart := func(i int, kill, compactFirst bool) {
			t.Helper()
			role := "follower"
			if i == leader() {
				role = "leader"
			}
			watched := i == watching()
			before := cacheStats(t, hc, a)
			var compactRev int64
			mustResync := false
			if compactFirst {
				// The writes pause, and two writes outside the agent's
				// prefixes take the revision past the one the watches
				// resume from (the last they received + 1; etcd keeps
				// the compaction revision itself). The compaction then
				// reaches it on every member: wherever the watches
				// resume, they are told that their revision was
				// compacted. A write that etcd did not confirm might be
				// applied later, past the compaction: then a resync is
				// not certain.
				w.stop()
				mustResync = watched && w.failed == 0
				putRetrying(t, cli, "/faultsuite/bump", strconv.Itoa(2*round))
				putRetrying(t, cli, "/faultsuite/bump", strconv.Itoa(2*round+1))
				compactRev = compactEverywhere(t, cli, c)
			}
			m := c.Member(i)
			how := "SIGTERM"
			if kill {
				how = "SIGKILL"
				m.Kill()
			} else {
				m.Stop()
			}
			stopped := time.Now()
			if compactFirst {
				w.start()
			}
			after := ""
			if compactFirst {
				after = fmt.Sprintf(" just after a compaction at %d", compactRev)
			}
			t.Logf("round %d: member%d (%s, serving the agent's watches: %v) stopped by %s%s",
				round, i, role, watched, how, after)
			marker++
			value := fmt.Sprintf(`{"vrf":"marker","next_hop":"%d.%d"}`, round, marker)
			putRetrying(t, cli, prefix+"marker", value)
			record(t, scenario, role+" down -> marker written", time.Since(stopped))
			cached := "written -> cached, watch stayed"
			switch {
			case watched && compactFirst:
				cached = "written -> cached, resynced"
			case watched:
				cached = "written -> cached, watch moved"
			}
			record(t, scenario, cached, waitFor(t, recoverTimeout,
				fmt.Sprintf("round %d: with member%d down, the marker route reaches the cache", round, i),
				lastReason(cacheHolds(hc, a, "marker", value))))
			switch {
			case mustResync:
				waitFor(t, recoverTimeout, fmt.Sprintf("round %d: the cache resyncs, its watch having resumed from a revision compacted at %d", round, compactRev),
					func(context.Context) (bool, string) {
						st := cacheStats(t, hc, a)
						return st.Resyncs > before.Resyncs, fmt.Sprintf("%d resyncs as before the compaction; cache at revision %d, %d before",
							st.Resyncs, st.Rev, before.Rev)
					})
			case compactFirst && watched:
				t.Logf("round %d: %d writes not confirmed before the compaction: a resync is not certain", round, w.failed)
			}
			waitFor(t, recoverTimeout, fmt.Sprintf("round %d: with member%d down, the agent is OK with its keys in etcd", round, i),
				ready(hc, cli, a))
			m.Restart()
			t.Logf("round %d: member%d restarted %v after it stopped", round, i, time.Since(stopped).Round(time.Millisecond))
		}
		// Even rounds stop the leader, then the member that serves the
		// agent's watches by then; odd rounds the other way round. When
		// both are the member just restarted, the next one is stopped.
		// Stops alternate between SIGKILL and SIGTERM.
		first, second := leader, watching
		if round%2 == 1 {
			first, second = watching, leader
		}
		i := first()
		stopAndRestart(i, round%2 == 0, round%2 == 1)
		j := second()
		if j == i {
			j = (i + 1) % c.Size()
		}
		stopAndRestart(j, round%2 == 1, false)

		// The clock starts once the writes stop: stop may wait for a write
		// under way up to its timeout, which says nothing of the cache.
		w.stop()
		stopped := time.Now()
		recordCount(t, scenario, "writes per round", w.writes)
		recordCount(t, scenario, "failed writes per round", w.failed)
		if w.writes == 0 {
			t.Errorf("round %d: no write succeeded", round)
		}
		var compared int
		waitFor(t, recoverTimeout, fmt.Sprintf("round %d: GET /routes equals the routes in etcd", round),
			lastReason(cacheEqualsStore(hc, cli, a, prefix, &compared)))
		record(t, scenario, "writes stop -> cache = store", time.Since(stopped))
		recordCount(t, scenario, "entries compared", int64(compared))
		waitFor(t, recoverTimeout, fmt.Sprintf("round %d: status keys match /readiness", round), inSync(hc, cli, a))
	}
	recordCount(t, scenario, "cache resyncs (whole run)", int64(cacheStats(t, hc, a).Resyncs))
	p.stopAndCheck(t, scenario)
}

// lastReason wraps a condition for waitFor so that a failure shows the
// last reason given before the deadline rather than only the error of the
// attempt that the deadline cut short.
func lastReason(cond func(ctx context.Context) (bool, string)) func(ctx context.Context) (bool, string) {
	var last string
	return func(ctx context.Context) (bool, string) {
		ok, why := cond(ctx)
		if ctx.Err() != nil && last != "" {
			return ok, last + " (then " + why + ")"
		}
		last = why
		return ok, why
	}
}

// routeNames is the number of route names the writer cycles through: few
// enough that puts update and deletes hit existing routes, enough that the
// cache holds tens of entries.
const routeNames = 64

// writer puts and deletes routes under a prefix, as fast as etcd takes
// them with a pause of 2 ms between writes, through its own client. Its
// methods are called from the test goroutine.
type writer struct {
	cli    *clientv3.Client
	prefix string
	rand   *rand.Rand
	n      int // number of the last write, for unique values

	stopc chan struct{} // closed by stop; nil while stopped
	done  chan struct{} // closed when the goroutine has returned

	// Written by the goroutine, read after done. failed counts the writes
	// that etcd did not confirm: they may still be applied later.
	writes, failed int64
}

func newWriter(cli *clientv3.Client, prefix string, seed uint64) *writer {
	return &writer{cli: cli, prefix: prefix, rand: rand.New(rand.NewPCG(seed, 0x5eed))}
}

// start starts writing in the background.
func (w *writer) start() {
	w.stopc, w.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(w.done)
		for {
			w.n++
			key := fmt.Sprintf("%sr%02d", w.prefix, w.rand.IntN(routeNames))
			// The write is not cancelled by stop: once stop returns,
			// every write confirmed is applied and no other is under way
			// on this side. See putRetrying for the short timeout.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			var err error
			if w.rand.IntN(4) == 0 {
				_, err = w.cli.Delete(ctx, key)
			} else {
				// The next hop numbers the write, so that a stale value
				// in the cache shows.
				_, err = w.cli.Put(ctx, key, fmt.Sprintf(`{"vrf":"vrf%d","next_hop":"10.%d.%d.%d"}`,
					w.rand.IntN(3), w.n>>16&255, w.n>>8&255, w.n&255))
			}
			cancel()
			if err != nil {
				w.failed++
			} else {
				w.writes++
			}
			select {
			case <-w.stopc:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
}

// stop stops writing and waits for the write under way, at most its
// timeout. It does nothing if the writer is stopped.
func (w *writer) stop() {
	if w.stopc == nil {
		return
	}
	close(w.stopc)
	<-w.done
	w.stopc = nil
}

// leaderOf returns the index of the member that leads the cluster, waiting
// for an election to end.
func leaderOf(t *testing.T, cli *clientv3.Client, c *etcdtest.Cluster) int {
	t.Helper()
	leader := -1
	waitFor(t, recoverTimeout, "the cluster has a leader", lastReason(func(ctx context.Context) (bool, string) {
		var why []string
		for i := range c.Size() {
			m := c.Member(i)
			if !m.Running() {
				continue
			}
			sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			resp, err := cli.Status(sctx, m.Endpoints()[0])
			cancel()
			if err != nil {
				why = append(why, fmt.Sprintf("member%d: %v", i, err))
				continue
			}
			if resp.Leader != 0 && resp.Leader == resp.Header.MemberId {
				leader = i
				return true, ""
			}
		}
		return false, fmt.Sprintf("no member leads %v", why)
	}))
	return leader
}

// watchingMember returns the index of the member that serves the agent's
// watches (those of its route cache and of its dashboard): the one running
// member whose etcd_debugging_mvcc_watch_stream_total metric is not zero.
// The agent's watches share one gRPC stream, as they share a client and
// its metadata (they all require a leader); the test's clients watch
// nothing.
func watchingMember(t *testing.T, c *http.Client, cl *etcdtest.Cluster) int {
	t.Helper()
	member := -1
	waitFor(t, recoverTimeout, "one member serves the agent's watches", lastReason(func(ctx context.Context) (bool, string) {
		streams := map[int]int{}
		member = -1
		for i := range cl.Size() {
			m := cl.Member(i)
			if !m.Running() {
				continue
			}
			n, err := watchStreams(ctx, c, "http://"+m.Endpoints()[0]+"/metrics")
			if err != nil {
				return false, fmt.Sprintf("member%d: %v", i, err)
			}
			if n > 0 {
				streams[i] = n
				member = i
			}
		}
		return len(streams) == 1, fmt.Sprintf("watch streams by member: %v", streams)
	}))
	return member
}

// watchStreams reads the number of watch streams a member serves from its
// metrics.
func watchStreams(ctx context.Context, c *http.Client, url string) (int, error) {
	const metric = "etcd_debugging_mvcc_watch_stream_total "
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, metric); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("%s: no %s", url, strings.TrimSpace(metric))
}

// compactEverywhere compacts etcd at its current revision, retrying while
// etcd fails, and waits until every running member has applied the
// compaction: a follower applies it only after the leader has committed it.
func compactEverywhere(t *testing.T, cli *clientv3.Client, c *etcdtest.Cluster) (rev int64) {
	t.Helper()
	waitFor(t, recoverTimeout, "compact etcd", lastReason(func(ctx context.Context) (bool, string) {
		// See putRetrying for the short timeout.
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		resp, err := cli.Get(cctx, "compact", clientv3.WithCountOnly())
		if err != nil {
			return false, err.Error()
		}
		rev = resp.Header.Revision
		if _, err := cli.Compact(cctx, rev); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
			return false, err.Error()
		}
		return true, ""
	}))
	// A serializable read answers from the member's own store: before a
	// revision compacted there, it fails with ErrCompacted.
	waitFor(t, recoverTimeout, fmt.Sprintf("compaction at %d applied by every member", rev), lastReason(func(ctx context.Context) (bool, string) {
		for i := range c.Size() {
			m := c.Member(i)
			if !m.Running() {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := getFrom(cctx, m.Endpoints()[0], "compact", clientv3.WithRev(rev-1), clientv3.WithSerializable())
			cancel()
			if !errors.Is(err, rpctypes.ErrCompacted) {
				return false, fmt.Sprintf("member%d: read at %d: %v", i, rev-1, err)
			}
		}
		return true, ""
	}))
	return rev
}

// getFrom reads key from the member at endpoint only, with a client of its
// own, and returns the error.
func getFrom(ctx context.Context, endpoint, key string, opts ...clientv3.OpOption) error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer cli.Close()
	_, err = cli.Get(ctx, key, opts...)
	return err
}

// putRetrying writes a key, retrying while etcd fails: an election may be
// under way. It logs the failed attempts.
func putRetrying(t *testing.T, cli *clientv3.Client, key, value string) {
	t.Helper()
	waitFor(t, recoverTimeout, "put "+key, func(ctx context.Context) (bool, string) {
		// A put forwarded to a leader that just died is lost, and etcd
		// answers it only when the timeout ends: a short one retries soon
		// on the new leader.
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		start := time.Now()
		if _, err := cli.Put(pctx, key, value); err != nil {
			t.Logf("put %s: %v after %v; retrying", key, err, time.Since(start).Round(time.Millisecond))
			return false, err.Error()
		}
		return true, ""
	})
}

// storedRoute is a route as the writer stores it, and as GET /routes shows
// it after the name.
type storedRoute struct {
	VRF     string `json:"vrf"`
	NextHop string `json:"next_hop"`
}

// listedRoute is an entry of GET /routes.
type listedRoute struct {
	Name string `json:"name"`
	storedRoute
}

// cachedRoutes fetches GET /routes of the agent, with query if any.
func cachedRoutes(ctx context.Context, c *http.Client, a *agent, query string) (synced bool, routes []listedRoute, err error) {
	var l struct {
		Synced bool          `json:"synced"`
		Routes []listedRoute `json:"routes"`
	}
	err = requestJSON(ctx, c, http.MethodGet, a.url("/routes"+query), &l)
	return l.Synced, l.Routes, err
}

// cacheStats returns the counters of GET /routes, or fails the test.
func cacheStats(t *testing.T, c *http.Client, a *agent) (st struct{ Rev, Resyncs, Skipped int64 }) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := requestJSON(ctx, c, http.MethodGet, a.url("/routes"), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// cacheHolds returns a condition for waitFor: GET /routes lists name with
// the route that value encodes.
func cacheHolds(c *http.Client, a *agent, name, value string) func(ctx context.Context) (bool, string) {
	var want storedRoute
	if err := json.Unmarshal([]byte(value), &want); err != nil {
		panic(err) // the test's own value
	}
	return func(ctx context.Context) (bool, string) {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, routes, err := cachedRoutes(rctx, c, a, "")
		if err != nil {
			return false, err.Error()
		}
		for _, r := range routes {
			if r.Name == name {
				return r.storedRoute == want, fmt.Sprintf("%s is %+v, want %+v", name, r.storedRoute, want)
			}
		}
		return false, fmt.Sprintf("%s not among %d routes", name, len(routes))
	}
}

// cacheEqualsStore returns a condition for waitFor: GET /routes is synced
// and lists, sorted by name, exactly the routes under prefix in etcd with
// their values; GET /routes?vrf=vrf1 lists those of vrf1. It sets compared
// to the number of routes compared.
func cacheEqualsStore(c *http.Client, cli *clientv3.Client, a *agent, prefix string, compared *int) func(ctx context.Context) (bool, string) {
	return func(ctx context.Context) (bool, string) {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		resp, err := cli.Get(rctx, prefix, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
		if err != nil {
			return false, "etcd: " + err.Error()
		}
		var want, wantVRF []listedRoute
		for _, kv := range resp.Kvs {
			r := listedRoute{Name: strings.TrimPrefix(string(kv.Key), prefix)}
			if err := json.Unmarshal(kv.Value, &r.storedRoute); err != nil {
				return false, fmt.Sprintf("etcd: %s: %q: %v", kv.Key, kv.Value, err)
			}
			want = append(want, r)
			if r.VRF == "vrf1" {
				wantVRF = append(wantVRF, r)
			}
		}
		synced, got, err := cachedRoutes(rctx, c, a, "")
		if err != nil {
			return false, err.Error()
		}
		if !synced {
			return false, "GET /routes: not synced"
		}
		if diff := routesDiff(got, want); diff != "" {
			return false, fmt.Sprintf("GET /routes (%d routes) differs from etcd (%d): %s", len(got), len(want), diff)
		}
		_, gotVRF, err := cachedRoutes(rctx, c, a, "?vrf=vrf1")
		if err != nil {
			return false, err.Error()
		}
		if diff := routesDiff(gotVRF, wantVRF); diff != "" {
			return false, fmt.Sprintf("GET /routes?vrf=vrf1 (%d routes) differs from etcd (%d): %s", len(gotVRF), len(wantVRF), diff)
		}
		*compared = len(want)
		return true, ""
	}
}

// routesDiff describes how got differs from want, both sorted by name; ""
// when they are equal.
func routesDiff(got, want []listedRoute) string {
	if slices.Equal(got, want) {
		return ""
	}
	if !slices.IsSortedFunc(got, func(a, b listedRoute) int { return strings.Compare(a.Name, b.Name) }) {
		return "not sorted by name"
	}
	byName := func(l []listedRoute) map[string]storedRoute {
		m := make(map[string]storedRoute, len(l))
		for _, r := range l {
			m[r.Name] = r.storedRoute
		}
		return m
	}
	g, w := byName(got), byName(want)
	var diffs []string
	for _, r := range want {
		if v, ok := g[r.Name]; !ok {
			diffs = append(diffs, "missing "+r.Name)
		} else if v != r.storedRoute {
			diffs = append(diffs, fmt.Sprintf("%s is %+v, want %+v", r.Name, v, r.storedRoute))
		}
	}
	for _, r := range got {
		if _, ok := w[r.Name]; !ok {
			diffs = append(diffs, "extra "+r.Name)
		}
	}
	if len(diffs) == 0 {
		return "duplicate names"
	}
	if len(diffs) > 5 {
		diffs = append(diffs[:5], fmt.Sprintf("and %d more", len(diffs)-5))
	}
	return strings.Join(diffs, "; ")
}
