package statuscheck_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/status"
	"github.com/plinth-go/plinth/servicelabel"
)

var _ agent.UnorderedProvider = (*statuscheck.Plugin)(nil)

// reportingStore is a store that reports its own state to the status check
// that publishes through it, from its own Init, through a field without a
// tag: the status check depends on it, and it holds the status check.
type reportingStore struct {
	*flakyStore
	infra.PluginDeps
	StatusCheck statuscheck.PluginStatusWriter
}

func (s *reportingStore) Init() error {
	return s.StatusCheck.ReportStateChange(s.String(), statuscheck.StateOK, nil)
}

// watcher reports through the other interface the status check declares,
// and reads it through StatusReader, which keeps the status check first.
type watcher struct {
	infra.PluginDeps
	Registry statuscheck.DependencyRegisterer
	Status   statuscheck.StatusReader
	sawRun   bool
}

func (w *watcher) Init() error {
	w.sawRun = w.Status.Snapshot().Agent.GetStartTime() != 0 // set by the status check's Init
	return w.Registry.RegisterDependency(w.String(), nil)
}

func TestStatusWriterFieldsNeedNoTag(t *testing.T) {
	store := &reportingStore{flakyStore: newFlakyStore()}
	store.SetName("kv")
	w := &watcher{}
	w.SetName("watcher")
	sc := statuscheck.NewPlugin()
	a := agenttest.New(t, agent.AllPlugins(sc, store, w, servicelabel.NewPlugin()))
	if store.StatusCheck != sc || w.Registry != sc || w.Status != sc {
		t.Fatalf("fields not injected: store=%v watcher=%v/%v", store.StatusCheck, w.Registry, w.Status)
	}
	order := a.Order()
	if i, j, k := slices.Index(order, "kv"), slices.Index(order, statuscheck.PluginName), slices.Index(order, "watcher"); i > j || j > k {
		t.Errorf("Order() = %v, want kv, then statuscheck (it publishes through kv), then watcher (it reads the status)", order)
	}
	agenttest.RequireStart(t, a)
	if !w.sawRun {
		t.Error("the watcher's Init ran before the status check's Init")
	}
	snap := sc.Snapshot()
	if p := snap.Plugin("kv"); p.GetState() != 1 {
		t.Errorf("kv = %v, want OK, reported from its Init", p)
	}
	if !snap.Dependency("watcher") {
		t.Error("watcher not registered as a dependency")
	}
	// The report made before the status check's Init is published.
	awaitStore(t, store.flakyStore, "/vnf-agent/vpp1/check/status/v1/plugin/kv", fmt.Sprintf(`{"state":1,"last_change":%d,"last_update":%[1]d}`, snap.Plugin("kv").GetLastChange()))
}

// leafUser names the status check through the leaf package only, as the
// plugins below it in the layers do.
type leafUser struct {
	infra.PluginDeps
	Writer   status.Writer
	Registry status.DependencyRegisterer
}

func (u *leafUser) Init() error { return u.Writer.ReportStateChange(u.String(), status.StateOK, nil) }

// leafReader reads the status through the leaf package's view.
type leafReader struct {
	infra.PluginDeps
	Status status.Reader
}

func (r *leafReader) Init() error { return nil }

// The names of infra/status are those of statuscheck (aliases), so a field
// of a leaf type is unordered too, and a status.Reader orders like a
// StatusReader.
func TestLeafStatusTypesOrderLikeTheirAliases(t *testing.T) {
	store := &reportingStore{flakyStore: newFlakyStore()}
	store.SetName("kv")
	u := &leafUser{}
	u.SetName("user")
	r := &leafReader{}
	r.SetName("reader")
	sc := statuscheck.NewPlugin()
	a := agenttest.New(t, agent.AllPlugins(r, u, sc, store, servicelabel.NewPlugin()))
	if u.Writer != sc || u.Registry != sc || r.Status != sc {
		t.Fatalf("fields not injected: user=%v/%v reader=%v", u.Writer, u.Registry, r.Status)
	}
	order := a.Order()
	if j, k := slices.Index(order, statuscheck.PluginName), slices.Index(order, "reader"); j > k {
		t.Errorf("Order() = %v, want statuscheck before reader", order)
	}
	g := a.Graph()
	if !strings.Contains(g, "~> statuscheck (user.Writer, unordered)") || strings.Contains(g, "-> statuscheck (user.") {
		t.Errorf("Graph() =\n%s\nwant user's status.Writer and status.DependencyRegisterer fields unordered", g)
	}
	if !strings.Contains(g, "-> statuscheck (reader.Status)") {
		t.Errorf("Graph() =\n%s\nwant reader's status.Reader field to order statuscheck first", g)
	}
	agenttest.RequireStart(t, a)
	if st, _, ok := r.Status.PluginState("user"); st != status.StateOK || !ok {
		t.Errorf("PluginState(user) = %v, %v, want OK reported from its Init", st, ok)
	}
}
