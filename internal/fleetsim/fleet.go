package fleetsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/servicelabel"
)

// NodePlugin is the name of the plugin whose state a simulated agent
// changes: its status key is plugin/node.
const NodePlugin = "node"

// Config describes a fleet.
type Config struct {
	// Agents is how many agents run. Labels are LabelPrefix followed by a
	// number from 0.
	Agents      int
	LabelPrefix string
	// Clients is how many etcd clients the agents share (each agent still
	// has its own session lease): one client holds a few gRPC connections,
	// so a host of many agents does not need one per agent.
	Clients int
	// Endpoints of the etcd cluster.
	Endpoints []string
	// SessionTTL of every agent (etcd.conf session-ttl).
	SessionTTL time.Duration
	// ConfigDir is an empty directory the agents read their config files
	// from (they find none and use the defaults and the config in code).
	ConfigDir string
}

// Fleet runs many agents in one process, each a real agent with its own
// service label, etcd plugin (own session lease), status check and a
// "node" plugin whose state the fleet changes on demand.
type Fleet struct {
	cfg     Config
	clients []*clientv3.Client
	agents  []*member
}

type member struct {
	label string
	a     *agent.Agent
	node  *nodePlugin
}

// Start starts the fleet and waits until every agent has started. The
// agents publish their status in the background.
func Start(ctx context.Context, cfg Config) (*Fleet, error) {
	if cfg.Agents < 1 || cfg.Clients < 1 {
		return nil, fmt.Errorf("fleetsim: %d agents on %d clients: want at least one of each", cfg.Agents, cfg.Clients)
	}
	f := &Fleet{cfg: cfg}
	for range cfg.Clients {
		c, err := clientv3.New(clientv3.Config{Endpoints: cfg.Endpoints, DialTimeout: 5 * time.Second, Context: ctx,
			Logger: zap.NewNop()})
		if err != nil {
			f.Close()
			return nil, err
		}
		f.clients = append(f.clients, c)
	}
	logs := logging.NewRegistry(logging.WithOutput(io.Discard))
	for i := range cfg.Agents {
		label := cfg.LabelPrefix + strconv.Itoa(i)
		node := &nodePlugin{}
		a, err := agent.New(
			agent.AllPlugins(
				servicelabel.NewPlugin(servicelabel.UseLabel(label)),
				etcd.NewPlugin(etcd.UseClient(f.clients[i%len(f.clients)]), etcd.UseConf(etcd.Config{SessionTTL: cfg.SessionTTL})),
				statuscheck.NewPlugin(),
				node,
			),
			agent.Args("-config-dir", cfg.ConfigDir),
			agent.Getenv(func(string) string { return "" }),
			agent.QuitSignals(),
			agent.Logs(logs),
			agent.Name(label),
		)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("fleetsim: agent %s: %w", label, err)
		}
		if err := a.Start(); err != nil {
			f.Close()
			return nil, fmt.Errorf("fleetsim: agent %s: %w", label, err)
		}
		f.agents = append(f.agents, &member{label: label, a: a, node: node})
	}
	return f, nil
}

// Labels returns the labels of the agents, in order.
func (f *Fleet) Labels() []string {
	out := make([]string, len(f.agents))
	for i, m := range f.agents {
		out[i] = m.label
	}
	return out
}

// Set sets the state of the node plugin of agent i: OK when err is nil,
// ERROR with err otherwise.
func (f *Fleet) Set(i int, err error) error {
	return f.agents[i].node.set(err)
}

// States returns, by label, the state each agent itself holds for its
// node plugin and for the whole agent: the truth to compare etcd with.
func (f *Fleet) States() map[string]AgentState {
	out := make(map[string]AgentState, len(f.agents))
	for _, m := range f.agents {
		out[m.label] = m.node.state()
	}
	return out
}

// Close stops every agent (their keys are removed with their leases) and
// closes the clients.
func (f *Fleet) Close() error {
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, 64)
	for _, m := range f.agents {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := m.a.Stop(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", m.label, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, c := range f.clients {
		errs = append(errs, c.Close())
	}
	f.agents, f.clients = nil, nil
	return errors.Join(errs...)
}

// AgentState is what an agent holds for its node plugin.
type AgentState struct {
	OK    bool
	Error string
}

// nodePlugin reports the state the fleet sets.
type nodePlugin struct {
	StatusCheck statuscheck.PluginStatusWriter `plinth:"optional,unordered"`

	mu  sync.Mutex
	cur AgentState
}

var _ infra.Plugin = (*nodePlugin)(nil)

func (p *nodePlugin) String() string { return NodePlugin }

func (p *nodePlugin) Init() error {
	p.cur = AgentState{OK: true}
	return p.StatusCheck.ReportStateChange(NodePlugin, statuscheck.StateOK, nil)
}

func (p *nodePlugin) Close() error { return nil }

func (p *nodePlugin) set(err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		p.cur = AgentState{OK: true}
		return p.StatusCheck.ReportStateChange(NodePlugin, statuscheck.StateOK, nil)
	}
	p.cur = AgentState{Error: err.Error()}
	return p.StatusCheck.ReportStateChange(NodePlugin, statuscheck.StateError, err)
}

func (p *nodePlugin) state() AgentState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// EmptyDir creates an empty config directory under dir.
func EmptyDir(dir string) (string, error) {
	d := filepath.Join(dir, "conf")
	return d, os.MkdirAll(d, 0o755)
}
