package dashboard

import (
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra/rest"
)

// Paths of the connection panels.
const (
	EtcdPath  = "/ui/api/etcd"
	KafkaPath = "/ui/api/kafka"
)

// Paths that the page reads from plugins it does not import, when the agent
// has a plugin of the matching name (see Panels).
const (
	// RouteCachePlugin is the name of the plugin whose cache of routes the
	// page shows, from GET RouteCachePath: the demo agent's routes plugin.
	RouteCachePlugin = "routes"
	RouteCachePath   = "/routes"
	// KafkaTrafficPlugin is the name of the plugin whose Kafka counters
	// the page charts, from GET KafkaTrafficPath: the demo agent's traffic
	// plugin.
	KafkaTrafficPlugin = "traffic"
	KafkaTrafficPath   = "/traffic"
)

// Connection is the answer of GET /ui/api/etcd and GET /ui/api/kafka: the
// connection of the agent to etcd or Kafka.
type Connection struct {
	// Name is the plugin's name, under which the status check lists it.
	Name string `json:"name"`
	// Disabled is true when the plugin has no endpoints or brokers
	// configured and connects to nothing.
	Disabled bool `json:"disabled"`
	// Connected reports whether the plugin reaches its peers now.
	Connected bool `json:"connected"`
	// Endpoints are the etcd endpoints (etcd only).
	Endpoints []string `json:"endpoints,omitempty"`
	// Group and Assignment are the consumer group and the partitions, by
	// topic, that this agent reads (Kafka only).
	Group      string             `json:"group,omitempty"`
	Assignment map[string][]int32 `json:"assignment,omitempty"`
	// State, Error and Since are the plugin's status in the status check:
	// "INIT", "OK" or "ERROR", its error, and its last change in Unix
	// seconds. Empty without a status check.
	State string `json:"state,omitempty"`
	Error string `json:"error,omitempty"`
	Since int64  `json:"since,omitempty"`
	// LastError is the last error the dashboard saw in the plugin's
	// status since it started, also after the plugin recovered, and
	// LastErrorAt when it saw it, in Unix seconds.
	LastError   string `json:"last_error,omitempty"`
	LastErrorAt int64  `json:"last_error_at,omitempty"`
}

// etcdConnection is what the etcd panel needs from the key-value store,
// beyond kvdb.Store; the etcd plugin provides it.
type etcdConnection interface {
	Endpoints() []string
	Connected() bool
}

// storeConnection returns the store as an etcdConnection, if it is one.
func (p *Plugin) storeConnection() (etcdConnection, bool) {
	if p.KV == nil {
		return nil, false
	}
	c, ok := p.KV.(etcdConnection)
	return c, ok
}

// serveEtcd answers GET /ui/api/etcd. The endpoints and the connection
// state come from the store; the error, which the etcd plugin does not
// expose, from its status in the status check.
func (p *Plugin) serveEtcd(w http.ResponseWriter, _ *http.Request) {
	c, ok := p.storeConnection()
	if !ok {
		rest.WriteError(w, http.StatusNotFound, "no etcd: the agent's key-value store is not the etcd plugin")
		return
	}
	out := Connection{Name: nameOf(p.KV, "etcd"), Disabled: p.KV.Disabled()}
	if !out.Disabled {
		out.Endpoints, out.Connected = c.Endpoints(), c.Connected()
	}
	p.addStatus(&out)
	rest.WriteJSON(w, http.StatusOK, out)
}

// serveKafka answers GET /ui/api/kafka.
func (p *Plugin) serveKafka(w http.ResponseWriter, _ *http.Request) {
	if p.Kafka == nil {
		rest.WriteError(w, http.StatusNotFound, "no Kafka: add kafka.NewPlugin() to the agent")
		return
	}
	out := Connection{Name: p.Kafka.String(), Disabled: p.Kafka.Disabled()}
	if !out.Disabled {
		m := p.Kafka.Multiplexer()
		err := m.Err()
		out.Connected = err == nil
		if err != nil {
			out.Error = err.Error()
		}
		out.Group, out.Assignment = m.GroupID(), m.Assignment()
	}
	p.addStatus(&out)
	rest.WriteJSON(w, http.StatusOK, out)
}

// addStatus fills the fields of c that come from the status check.
func (p *Plugin) addStatus(c *Connection) {
	if p.Status == nil {
		return
	}
	if ps := p.Status.Snapshot().Plugin(c.Name); ps != nil {
		c.State, c.Since = stateName(ps.GetState()), ps.GetLastChange()
		if ps.GetError() != "" {
			c.Error = ps.GetError()
		}
	}
	c.LastError, c.LastErrorAt = p.errs.get(c.Name)
}

func nameOf(v any, fallback string) string {
	if s, ok := v.(fmt.Stringer); ok && s.String() != "" {
		return s.String()
	}
	return fallback
}

// errorMemory remembers the last error of every plugin as the status check
// reported it, so that the panels show what went wrong after the plugin
// recovered.
type errorMemory struct {
	now func() int64

	mu   sync.Mutex // guards last
	last map[string]seenError
}

type seenError struct {
	text string
	at   int64
}

func (m *errorMemory) get(name string) (string, int64) {
	if m == nil {
		return "", 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.last[name]
	return e.text, e.at
}

// record notes the errors of a status snapshot.
func (m *errorMemory) record(plugins []*model.PluginStatus) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ps := range plugins {
		text := ps.GetError()
		if text == "" {
			continue
		}
		old, had := m.last[ps.GetName()]
		if had && old.text == text {
			continue
		}
		at := m.now()
		if !had && ps.GetLastChange() > 0 {
			// Already failing when the dashboard started: it failed when
			// its state last changed.
			at = ps.GetLastChange()
		}
		m.last[ps.GetName()] = seenError{text: text, at: at}
	}
}

// watchErrors records the errors of every status change until the plugin
// or the status check closes.
func (p *Plugin) watchErrors(changed <-chan struct{}, cancel func()) {
	defer p.wg.Done()
	defer cancel()
	var seq uint64
	for {
		if s := p.Status.Snapshot(); s.Seq != seq || seq == 0 {
			seq = s.Seq
			p.errs.record(s.Agent.GetPlugins())
		}
		select {
		case <-p.ctx.Done():
			return
		case _, ok := <-changed:
			if !ok {
				return
			}
		}
	}
}

// hasPlugin reports whether the agent has a plugin named name.
func (p *Plugin) hasPlugin(name string) bool {
	return p.Agent != nil && slices.Contains(p.Agent.Plugins, name)
}
