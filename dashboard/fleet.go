package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/infra/rest"
)

// Paths of the fleet page, served when Config.Fleet is set.
const (
	FleetPath    = "/ui/fleet"
	FleetAPIPath = "/ui/api/fleet"
)

// fleetAgentKey is the key of an agent status below the prefix of all
// agents: "<label>" + fleetAgentKey.
const fleetAgentKey = "/" + model.StatusPrefix + "agent"

// Fleet is the answer of GET /ui/api/fleet: every agent whose status key
// was seen under Prefix.
type Fleet struct {
	// Prefix is the watched prefix of all agents, "/vnf-agent/".
	Prefix string `json:"prefix"`
	// Synced is false until the store has answered the watch.
	Synced bool `json:"synced"`
	// Counts counts Agents by state.
	Counts FleetCounts `json:"counts"`
	// Agents are sorted by label; never null.
	Agents []FleetAgent `json:"agents"`
}

// FleetCounts counts the agents of a Fleet by state. An agent whose status
// key holds no readable status counts as an error.
type FleetCounts struct {
	OK    int `json:"ok"`
	Error int `json:"error"`
	Init  int `json:"init"`
	Gone  int `json:"gone"`
}

// FleetStateGone is the FleetAgent.State of an agent whose status key
// disappeared; the other states are those of the status check: "INIT",
// "OK" and "ERROR".
const FleetStateGone = "gone"

// FleetAgent is one agent of a Fleet, as its status key last said.
type FleetAgent struct {
	// Label is the agent's microservice label.
	Label string `json:"label"`
	// State is "OK", "ERROR" or "INIT" as published, or "gone" once the
	// status key disappeared; the other fields then keep their last
	// values.
	State string `json:"state"`
	// Gone is when the status key disappeared, in Unix seconds of the
	// dashboard's clock; 0 while it exists.
	Gone int64 `json:"gone,omitempty"`
	// LastChange, LastUpdate and StartTime are the times of the status, in
	// Unix seconds.
	LastChange int64 `json:"last_change"`
	LastUpdate int64 `json:"last_update"`
	StartTime  int64 `json:"start_time"`
	// Version is the build version the agent publishes.
	Version string `json:"version,omitempty"`
	// Plugins is the number of plugins in the status.
	Plugins int `json:"plugins"`
	// Errors are the plugins in ERROR, sorted by name.
	Errors []FleetError `json:"errors,omitempty"`
	// Problem says why the status key could not be read, when it could
	// not; State is then "ERROR".
	Problem string `json:"problem,omitempty"`
	// Rev is the revision of the status key's last write.
	Rev int64 `json:"rev"`
}

// FleetError is a plugin in ERROR in a FleetAgent.
type FleetError struct {
	Plugin string `json:"plugin"`
	Error  string `json:"error,omitempty"`
	// Since is the plugin's last change, in Unix seconds.
	Since int64 `json:"since,omitempty"`
}

// fleetCache keeps the agents as the watch of all agents delivers them. It
// keeps only agent status keys: the watch also delivers every other key
// under the prefix (plugin keys, configuration), which are skipped at the
// cost of a suffix comparison.
type fleetCache struct {
	prefix   string
	now      func() time.Time
	keepGone time.Duration
	// unavailable says why there is no watch; "" when there is one.
	unavailable string

	mu     sync.Mutex // guards every field below
	synced bool
	agents map[string]*FleetAgent
	// pruneAt is the earliest time, in Unix seconds, at which a gone agent
	// is due to be forgotten; 0 while none is gone. It spares the events of
	// a large fleet a walk of every agent.
	pruneAt int64
	gen     uint64 // incremented by every change of synced or agents
	body    []byte // JSON of the Fleet at generation bodyAt; nil before the first render
	bodyAt  uint64
}

func newFleetCache(prefix string, now func() time.Time, keepGone time.Duration) *fleetCache {
	return &fleetCache{prefix: prefix, now: now, keepGone: keepGone, agents: map[string]*FleetAgent{}}
}

// fleetLabel returns the label of key if key is the status key of an agent,
// relative to the prefix of all agents.
func fleetLabel(key string) (string, bool) {
	label, ok := strings.CutSuffix(key, fleetAgentKey)
	if !ok || label == "" || strings.Contains(label, "/") {
		return "", false
	}
	return label, true
}

// apply is the watch callback.
func (c *fleetCache) apply(_ context.Context, ev kvdb.Event) error {
	now := c.now().Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := false
	switch ev.Kind {
	case kvdb.EventResync:
		seen := make(map[string]bool)
		for _, kv := range ev.Snapshot {
			label, ok := fleetLabel(kv.Key)
			if !ok {
				continue
			}
			seen[label] = true
			if old, ok := c.agents[label]; ok && old.Rev == kv.Rev && old.Gone == 0 {
				continue
			}
			c.agents[label] = readFleetAgent(label, kv.Value, kv.Rev)
			changed = true
		}
		// Agents that vanished during a gap are gone from now on, as if
		// their delete had been seen.
		for label, a := range c.agents {
			if !seen[label] && a.Gone == 0 {
				c.markGoneLocked(a, now)
				changed = true
			}
		}
		if !c.synced {
			c.synced, changed = true, true
		}
	case kvdb.EventPut:
		if label, ok := fleetLabel(ev.Key); ok {
			c.agents[label] = readFleetAgent(label, ev.Value, ev.Rev)
			changed = true
		}
	case kvdb.EventDelete:
		if label, ok := fleetLabel(ev.Key); ok {
			if a, ok := c.agents[label]; ok && a.Gone == 0 {
				c.markGoneLocked(a, now)
				changed = true
			}
		}
	}
	if c.pruneLocked(now) || changed {
		c.gen++
	}
	return nil
}

func (c *fleetCache) markGoneLocked(a *FleetAgent, now int64) {
	a.State, a.Gone = FleetStateGone, now
	if due := c.dueAt(a); c.pruneAt == 0 || due < c.pruneAt {
		c.pruneAt = due
	}
}

// dueAt is when the gone agent a is to be forgotten: once gone for longer
// than keepGone.
func (c *fleetCache) dueAt(a *FleetAgent) int64 {
	return a.Gone + int64(c.keepGone/time.Second) + 1
}

// pruneLocked forgets the agents gone for longer than keepGone and reports
// whether it forgot any.
func (c *fleetCache) pruneLocked(now int64) bool {
	if c.pruneAt == 0 || now < c.pruneAt {
		return false
	}
	pruned := false
	c.pruneAt = 0
	for label, a := range c.agents {
		if a.Gone == 0 {
			continue
		}
		if due := c.dueAt(a); now >= due {
			delete(c.agents, label)
			pruned = true
		} else if c.pruneAt == 0 || due < c.pruneAt {
			c.pruneAt = due
		}
	}
	return pruned
}

// readFleetAgent decodes the agent status stored under the key of label.
func readFleetAgent(label string, value []byte, rev int64) *FleetAgent {
	a := &FleetAgent{Label: label, Rev: rev}
	var st model.AgentStatus
	if err := st.UnmarshalJSON(value); err != nil {
		a.State, a.Problem = stateName(model.OperationalState_ERROR), fmt.Sprintf("unreadable status: %v", err)
		return a
	}
	a.State = stateName(st.GetState())
	a.LastChange, a.LastUpdate, a.StartTime = st.GetLastChange(), st.GetLastUpdate(), st.GetStartTime()
	a.Version = st.GetBuildVersion()
	a.Plugins = len(st.GetPlugins())
	for _, ps := range st.GetPlugins() {
		if ps.GetState() == model.OperationalState_ERROR {
			a.Errors = append(a.Errors, FleetError{Plugin: ps.GetName(), Error: ps.GetError(), Since: ps.GetLastChange()})
		}
	}
	slices.SortFunc(a.Errors, func(x, y FleetError) int { return strings.Compare(x.Plugin, y.Plugin) })
	return a
}

func stateName(s model.OperationalState) string {
	if name, ok := model.OperationalState_name[int32(s)]; ok {
		return name
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// render returns the JSON of the current Fleet and the generation it
// reflects. Between changes it returns the same bytes without encoding
// them again: with a thousand agents and several open pages, the answer is
// built once per change, not once per request.
func (c *fleetCache) render() ([]byte, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pruneLocked(c.now().Unix()) {
		c.gen++
	}
	if c.body != nil && c.bodyAt == c.gen {
		return c.body, c.gen
	}
	f := Fleet{Prefix: c.prefix, Synced: c.synced, Agents: make([]FleetAgent, 0, len(c.agents))}
	for _, a := range c.agents {
		f.Agents = append(f.Agents, *a)
		switch a.State {
		case "OK":
			f.Counts.OK++
		case "INIT":
			f.Counts.Init++
		case FleetStateGone:
			f.Counts.Gone++
		default:
			f.Counts.Error++
		}
	}
	slices.SortFunc(f.Agents, func(x, y FleetAgent) int { return strings.Compare(x.Label, y.Label) })
	body, err := json.Marshal(f)
	if err != nil {
		// Strings, numbers and slices of them always encode.
		panic(fmt.Sprintf("dashboard: encode the fleet: %v", err))
	}
	c.body, c.bodyAt = append(body, '\n'), c.gen
	return c.body, c.gen
}

// fleetOff is the answer of the fleet paths while the page is off.
func (p *Plugin) fleetOff() string {
	name := p.String()
	return fmt.Sprintf("the fleet page is off: set \"fleet: true\" in %s (the file named by -%s or %s) and restart the agent",
		config.Filename(name), config.FlagName(name), config.EnvVar(name))
}

// serveFleetPage answers GET /ui/fleet: the page, or 404 saying how to
// turn it on.
func (p *Plugin) serveFleetPage(w http.ResponseWriter, r *http.Request) {
	if p.fleet == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprintf(w, "404 %s\n", p.fleetOff())
		return
	}
	page, err := fs.ReadFile(assets, "assets/fleet.html")
	if err != nil {
		rest.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	setAssetHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(page)
}

// serveFleet answers GET /ui/api/fleet from the cache: handlers never wait
// on the store. The answer carries an ETag, so that a page polling an
// unchanged fleet gets 304 and no body.
func (p *Plugin) serveFleet(w http.ResponseWriter, r *http.Request) {
	switch {
	case p.fleet == nil:
		rest.WriteError(w, http.StatusNotFound, p.fleetOff())
		return
	case p.fleet.unavailable != "":
		rest.WriteError(w, http.StatusServiceUnavailable, p.fleet.unavailable)
		return
	}
	body, gen := p.fleet.render()
	// The start time tells apart the generations of two runs of the agent.
	etag := `"` + strconv.FormatInt(p.started.UnixNano(), 36) + "-" + strconv.FormatUint(gen, 36) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", rest.ContentTypeJSON)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// etagMatches reports whether an If-None-Match header names etag.
func etagMatches(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
