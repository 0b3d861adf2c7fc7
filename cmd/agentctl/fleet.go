package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/internal/backoff"
	"github.com/plinth-go/plinth/servicelabel"
)

// defaultFleetPageSize is how many keys one read of the fleet asks etcd
// for: it bounds each answer, whatever the number of agents and of other
// keys under /vnf-agent/.
const defaultFleetPageSize = 1000

// stateInvalid is the state of an agent whose status value cannot be
// decoded. It sorts, and counts, as ERROR.
const stateInvalid = "INVALID"

// fleetAgentJSON is one agent as agentctl status --all shows it.
type fleetAgentJSON struct {
	Label string `json:"label"`
	// State is INIT, OK or ERROR, or INVALID when the status value cannot
	// be decoded (Error says why).
	State string `json:"state"`
	// LastChange is when State last changed, in Unix seconds, as the agent
	// wrote it; 0 when unknown.
	LastChange   int64  `json:"last_change"`
	BuildVersion string `json:"build_version,omitempty"`
	Error        string `json:"error,omitempty"`
	// PluginsInError lists the plugins in ERROR, sorted by name.
	PluginsInError []pluginErrorJSON `json:"plugins_in_error"`
}

type pluginErrorJSON struct {
	Name  string `json:"name"`
	Error string `json:"error,omitempty"`
}

// fleetEventJSON is one change that agentctl status --all --watch reports.
type fleetEventJSON struct {
	// Type is LISTED for the agents present when the watch starts, then
	// ADDED, MODIFIED or GONE.
	Type string `json:"type"`
	// Time is when agentctl saw the change, in Unix seconds.
	Time          int64  `json:"time"`
	Label         string `json:"label"`
	PreviousState string `json:"previous_state,omitempty"`
	// The agent's fields, as in fleetAgentJSON; absent for GONE.
	State          string            `json:"state,omitempty"`
	LastChange     int64             `json:"last_change,omitempty"`
	BuildVersion   string            `json:"build_version,omitempty"`
	Error          string            `json:"error,omitempty"`
	PluginsInError []pluginErrorJSON `json:"plugins_in_error,omitempty"`
}

// Types of fleetEventJSON.
const (
	fleetListed   = "LISTED"
	fleetAdded    = "ADDED"
	fleetModified = "MODIFIED"
	fleetGone     = "GONE"
)

// fleet holds the status keys of every agent under /vnf-agent/, as read
// from etcd and kept up to date by a watch.
type fleet struct {
	agents   map[string]*fleetKeys // by label
	pageSize int64                 // keys per read in load
}

// fleetKeys are the status values of one label.
type fleetKeys struct {
	agent   []byte            // nil: no agent key
	plugins map[string][]byte // plugin name -> value
}

func (g *globalOptions) newFleet() *fleet {
	size := int64(defaultFleetPageSize)
	if g.fleetPageSize > 0 {
		size = int64(g.fleetPageSize)
	}
	return &fleet{agents: make(map[string]*fleetKeys), pageSize: size}
}

// parseStatusKey splits a key under /vnf-agent/ into the label and, for a
// plugin status key, the plugin name. ok is false for any other key.
func parseStatusKey(key string) (label, plugin string, ok bool) {
	rest, found := strings.CutPrefix(key, servicelabel.AllAgentsPrefix)
	if !found {
		return "", "", false
	}
	label, rest, found = strings.Cut(rest, "/")
	if !found || label == "" {
		return "", "", false
	}
	if rest == model.AgentStatusKey() {
		return label, "", true
	}
	plugin, found = strings.CutPrefix(rest, model.PluginStatusKey(""))
	if !found || plugin == "" {
		return "", "", false
	}
	return label, plugin, true
}

// apply records a put (value non-nil) or a delete (value nil) of key, and
// returns the label whose status it changes; ok is false for a key that is
// not a status key.
func (f *fleet) apply(key string, value []byte) (label string, ok bool) {
	label, plugin, ok := parseStatusKey(key)
	if !ok {
		return "", false
	}
	k := f.agents[label]
	if k == nil {
		if value == nil {
			return label, true
		}
		k = &fleetKeys{plugins: make(map[string][]byte)}
		f.agents[label] = k
	}
	switch {
	case plugin == "":
		k.agent = value
	case value == nil:
		delete(k.plugins, plugin)
	default:
		k.plugins[plugin] = value
	}
	if k.agent == nil && len(k.plugins) == 0 {
		delete(f.agents, label)
	}
	return label, true
}

// agent returns the row of label; ok is false when the label has no agent
// status key (never written, deleted, or expired with the agent's lease).
func (f *fleet) agent(label string) (row fleetAgentJSON, ok bool) {
	k := f.agents[label]
	if k == nil || k.agent == nil {
		return fleetAgentJSON{}, false
	}
	row = fleetAgentJSON{Label: label, PluginsInError: []pluginErrorJSON{}}
	s := new(model.AgentStatus)
	// Not json.Unmarshal: its syntax error would hide the model's message,
	// which says what the value should be.
	if err := s.UnmarshalJSON(k.agent); err != nil {
		row.State, row.Error = stateInvalid, err.Error()
		return row, true
	}
	row.State, row.LastChange, row.BuildVersion = s.GetState().String(), s.GetLastChange(), s.GetBuildVersion()
	// The agent value lists its plugins, written after the plugin keys: it
	// is the consistent view. Agents that do not list them there (cn-infra)
	// have only the plugin keys.
	plugins := s.GetPlugins()
	if len(plugins) == 0 {
		for _, name := range slices.Sorted(maps.Keys(k.plugins)) {
			p := new(model.PluginStatus)
			if p.UnmarshalJSON(k.plugins[name]) != nil {
				continue
			}
			p.Name = name
			plugins = append(plugins, p)
		}
	}
	for _, p := range plugins {
		if p.GetState() == model.OperationalState_ERROR {
			row.PluginsInError = append(row.PluginsInError, pluginErrorJSON{Name: p.GetName(), Error: p.GetError()})
		}
	}
	slices.SortFunc(row.PluginsInError, func(a, b pluginErrorJSON) int { return strings.Compare(a.Name, b.Name) })
	return row, true
}

// rows returns every agent, worst first (see sortFleet).
func (f *fleet) rows() []fleetAgentJSON {
	rows := make([]fleetAgentJSON, 0, len(f.agents))
	for label := range f.agents {
		if row, ok := f.agent(label); ok {
			rows = append(rows, row)
		}
	}
	sortFleet(rows)
	return rows
}

// stateRank orders states worst first.
func stateRank(state string) int {
	switch state {
	case model.OperationalState_OK.String():
		return 2
	case model.OperationalState_INIT.String():
		return 1
	default: // ERROR, INVALID
		return 0
	}
}

// sortFleet sorts rows worst first: ERROR (and INVALID), INIT, OK, then by
// label.
func sortFleet(rows []fleetAgentJSON) {
	slices.SortFunc(rows, func(a, b fleetAgentJSON) int {
		return cmp.Or(cmp.Compare(stateRank(a.State), stateRank(b.State)), strings.Compare(a.Label, b.Label))
	})
}

// load reads every status key under /vnf-agent/ into f, page by page at
// one revision, which it returns: a watch from the next revision misses
// nothing.
func (f *fleet) load(ctx context.Context, c *etcdClient) (rev int64, err error) {
	const prefix = servicelabel.AllAgentsPrefix
	end := clientv3.GetPrefixRangeEnd(prefix)
	from := prefix
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(f.pageSize)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		octx, cancel := c.opContext(ctx)
		resp, err := c.cli.Get(octx, from, opts...)
		cancel()
		if err != nil {
			return 0, c.wrap(ctx, "list", prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			f.apply(string(kv.Key), kv.Value)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return rev, nil
		}
		// Keys come sorted: the next page starts right after the last key.
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// fleetVerdict is the error, if any, that gives agentctl status --all its
// exit code: nil when every agent is OK.
func fleetVerdict(rows []fleetAgentJSON, endpoints []string) error {
	if len(rows) == 0 {
		return noAgentsError{fmt.Errorf("no agent status under %s in etcd %s",
			servicelabel.AllAgentsPrefix, strings.Join(endpoints, ","))}
	}
	var bad []string
	for _, r := range rows {
		if r.State != model.OperationalState_OK.String() {
			bad = append(bad, r.Label+" "+r.State)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	n := len(bad)
	const shown = 10 // enough to act on; -o json has them all
	if n > shown {
		bad = append(bad[:shown], "…")
	}
	return notReadyError{fmt.Errorf("%d of %d agents are not OK: %s", n, len(rows), strings.Join(bad, ", "))}
}

// statusAll prints the status of every agent in etcd, worst first, and
// with watch then every change, until ctx ends.
func (g *globalOptions) statusAll(ctx context.Context, watch bool) error {
	return g.withEtcd(ctx, func(c *etcdClient) error {
		f := g.newFleet()
		rev, err := f.load(ctx, c)
		if err != nil {
			return err
		}
		rows := f.rows()
		if !watch {
			if err := g.printer().print(rows, func(w io.Writer) error {
				return g.writeFleet(w, rows)
			}); err != nil {
				return err
			}
			return fleetVerdict(rows, g.endpoints)
		}
		return g.watchFleet(ctx, c, f, rev)
	})
}

// Bounds of the wait before agentctl status --all --watch reads the fleet
// again after its watch failed without reporting anything, so that a watch
// that keeps failing does not keep etcd busy.
const (
	minFleetResync = 100 * time.Millisecond
	maxFleetResync = 5 * time.Second
)

// watchFleet prints the fleet f read at rev, then one line per change of
// an agent's row, from one watch on /vnf-agent/, until ctx ends. It
// returns the verdict of the fleet as last seen.
func (g *globalOptions) watchFleet(ctx context.Context, c *etcdClient, f *fleet, rev int64) error {
	p := g.printer()
	shown := make(map[string]fleetAgentJSON) // label -> row last printed
	rows := f.rows()
	// A table first for people; -o json and -o yaml stream events only, so
	// that every line (document) has the same form.
	if g.output == outputTable {
		if err := g.writeFleet(g.stdout, rows); err != nil {
			return err
		}
	}
	for _, r := range rows {
		shown[r.Label] = r
		if g.output == outputTable {
			continue
		}
		if err := p.printEvent(newFleetEvent(fleetListed, g.now(), "", r), nil); err != nil {
			return err
		}
	}
	verdict := func() error {
		rows := slices.Collect(maps.Values(shown))
		sortFleet(rows)
		return fleetVerdict(rows, g.endpoints)
	}
	wait := backoff.Backoff{Min: minFleetResync, Max: maxFleetResync}
	for {
		progressed, err := g.followFleet(ctx, c, f, rev, shown)
		if ctx.Err() != nil {
			// Interrupted: the normal end of a watch.
			return verdict()
		}
		if err != nil {
			return err
		}
		// The watch ended (history compacted, leader lost): read the
		// fleet again, report what changed meanwhile, and go on from
		// there.
		if progressed {
			wait.Reset()
		} else if !wait.Sleep(ctx.Done()) {
			return verdict()
		}
		fresh := g.newFleet()
		if rev, err = fresh.load(ctx, c); err != nil {
			if ctx.Err() != nil {
				return verdict()
			}
			return err
		}
		labels := slices.Collect(maps.Keys(shown))
		labels = append(labels, slices.Collect(maps.Keys(fresh.agents))...)
		*f = *fresh
		if err := g.reportFleetChanges(f, labels, shown); err != nil {
			return err
		}
	}
}

// followFleet watches /vnf-agent/ from rev+1, applies the status keys'
// changes to f and reports them, until ctx ends or the watch ends. It
// returns an error only when it cannot print; progressed says whether
// the watch delivered events before it ended.
func (g *globalOptions) followFleet(ctx context.Context, c *etcdClient, f *fleet, rev int64, shown map[string]fleetAgentJSON) (progressed bool, err error) {
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	wch := c.cli.Watch(clientv3.WithRequireLeader(wctx), servicelabel.AllAgentsPrefix,
		clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for wr := range wch {
		if wr.Err() != nil {
			return progressed, nil
		}
		progressed = progressed || len(wr.Events) > 0
		// The events of one answer may come from one transaction, such as
		// the expiry of an agent's lease, which deletes all of its keys:
		// report each label once, in its final state.
		var labels []string
		for _, ev := range wr.Events {
			value := ev.Kv.Value
			if ev.Type == clientv3.EventTypeDelete {
				value = nil
			} else if value == nil {
				value = []byte{}
			}
			if label, ok := f.apply(string(ev.Kv.Key), value); ok {
				labels = append(labels, label)
			}
		}
		if err := g.reportFleetChanges(f, labels, shown); err != nil {
			return progressed, err
		}
	}
	return progressed, nil
}

// reportFleetChanges prints an event for each of labels whose row differs
// from the one last printed, in label order, and records what it printed.
func (g *globalOptions) reportFleetChanges(f *fleet, labels []string, shown map[string]fleetAgentJSON) error {
	slices.Sort(labels)
	labels = slices.Compact(labels)
	p := g.printer()
	for _, label := range labels {
		before, existed := shown[label]
		after, exists := f.agent(label)
		var ev fleetEventJSON
		switch {
		case !existed && !exists:
			continue
		case !exists:
			delete(shown, label)
			ev = newFleetEvent(fleetGone, g.now(), before.State, fleetAgentJSON{Label: label})
		case !existed:
			shown[label] = after
			ev = newFleetEvent(fleetAdded, g.now(), "", after)
		default:
			if sameRow(before, after) {
				continue
			}
			shown[label] = after
			ev = newFleetEvent(fleetModified, g.now(), before.State, after)
		}
		if err := p.printEvent(ev, func(w io.Writer) error { return g.writeFleetEvent(w, ev) }); err != nil {
			return err
		}
	}
	return nil
}

func newFleetEvent(typ string, now time.Time, previous string, r fleetAgentJSON) fleetEventJSON {
	return fleetEventJSON{
		Type: typ, Time: now.Unix(), Label: r.Label, PreviousState: previous,
		State: r.State, LastChange: r.LastChange, BuildVersion: r.BuildVersion, Error: r.Error,
		PluginsInError: r.PluginsInError,
	}
}

func sameRow(a, b fleetAgentJSON) bool {
	return a.State == b.State && a.LastChange == b.LastChange && a.BuildVersion == b.BuildVersion &&
		a.Error == b.Error && slices.Equal(a.PluginsInError, b.PluginsInError)
}

// timeFormat shows a time with its zone, to the second.
const timeFormat = "2006-01-02 15:04:05 MST"

func (g *globalOptions) formatTime(t time.Time) string {
	loc := g.location
	if loc == nil {
		loc = time.Local
	}
	return t.In(loc).Format(timeFormat)
}

// since shows a Unix time as a time with its zone and how long ago it was.
func (g *globalOptions) since(unix int64) string {
	if unix == 0 {
		return "-"
	}
	t := time.Unix(unix, 0)
	return fmt.Sprintf("%s (%s ago)", g.formatTime(t), formatAge(g.now().Sub(t)))
}

// problems shows what is wrong with an agent, in one cell.
func problems(r fleetAgentJSON) string {
	if r.Error != "" {
		return "status value: " + oneLine(r.Error)
	}
	parts := make([]string, 0, len(r.PluginsInError))
	for _, p := range r.PluginsInError {
		if p.Error == "" {
			parts = append(parts, p.Name)
			continue
		}
		parts = append(parts, p.Name+": "+oneLine(p.Error))
	}
	return strings.Join(parts, "; ")
}

// writeFleet prints the text form of agentctl status --all:
//
//	LABEL  STATE  SINCE                                PLUGINS IN ERROR
//	vpp2   ERROR  2025-01-02 10:00:00 UTC (3m2s ago)   GOVPP: VPP disconnected
//	vpp1   OK     2025-01-02 09:00:00 UTC (1h3m ago)
func (g *globalOptions) writeFleet(w io.Writer, rows []fleetAgentJSON) error {
	if len(rows) == 0 {
		return nil
	}
	table := make([][]string, 0, len(rows))
	for _, r := range rows {
		table = append(table, []string{r.Label, r.State, g.since(r.LastChange), problems(r)})
	}
	return writeTable(w, []string{"LABEL", "STATE", "SINCE", "PLUGINS IN ERROR"}, table)
}

// writeFleetEvent prints one change as a line:
//
//	2025-01-02 10:03:00 UTC  vpp2  OK -> ERROR  GOVPP: VPP disconnected
//	2025-01-02 10:04:00 UTC  vpp3  OK -> gone
//	2025-01-02 10:05:00 UTC  vpp4  new -> INIT
func (g *globalOptions) writeFleetEvent(w io.Writer, ev fleetEventJSON) error {
	from, to := ev.PreviousState, ev.State
	switch ev.Type {
	case fleetAdded:
		from = "new"
	case fleetGone:
		to = "gone"
	}
	line := fmt.Sprintf("%s  %s  %s -> %s", g.formatTime(time.Unix(ev.Time, 0)), ev.Label, from, to)
	if ev.Type != fleetGone {
		if p := problems(fleetAgentJSON{Error: ev.Error, PluginsInError: ev.PluginsInError}); p != "" {
			line += "  " + p
		}
	}
	_, err := fmt.Fprintln(w, line)
	return err
}
