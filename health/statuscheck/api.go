package statuscheck

import (
	"errors"

	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra/status"
)

// PluginState is the state of a plugin: StateInit, StateOK or StateError.
// Its values are those of model.OperationalState. It is [status.State]: the
// status contract lives in package infra/status, which any package may
// import without this implementation.
type PluginState = status.State

// The states of a plugin.
const (
	// StateInit means the plugin is starting; it keeps the agent not ready.
	StateInit = status.StateInit
	// StateOK means the plugin works.
	StateOK = status.StateOK
	// StateError means the plugin fails; the error reported with it says why.
	StateError = status.StateError
)

// validState reports whether s is one of the states of the model.
func validState(s PluginState) bool {
	_, ok := model.OperationalState_name[int32(s)]
	return ok
}

// PluginStateProbe returns the current state of a plugin (pull mode). It is
// called every probe interval, never concurrently with itself, with a ctx
// that ends after the probe timeout or when the status check closes; it
// should return promptly when ctx ends. A probe that has not returned by the
// timeout makes the plugin ERROR with ErrProbeTimeout. It is [status.Probe].
type PluginStateProbe = status.Probe

// PluginStatusWriter is what plugins inject to report their status, either
// by pushing every change with ReportStateChange or by registering a probe
// that the status check calls (pull). One plugin uses one of the two modes.
// It is [status.Writer]; plugins below the status check in the layers (the
// HTTP server) name it so.
//
// Both methods may be called at any time, before the status check's Init
// and after its Close, so a plugin may use them from its own Init, and a
// field of this type needs no tag: the agent does not start the status check
// first (see Plugin.UnorderedTypes). Tag the field `plinth:"optional"` when
// the plugin also runs in agents without a status check. The methods never
// wait on the key-value store.
//
// Register adds the plugin named pluginName in state INIT. With a nil probe
// the plugin pushes its state (push mode); otherwise the status check calls
// probe periodically (pull mode). Registering a push plugin again does
// nothing; every other second registration fails with ErrMixedModes or
// ErrAlreadyRegistered.
//
// ReportStateChange records the state of a push-mode plugin and the error
// that explains it (nil for none). A plugin reporting without having
// registered is registered in push mode. A report that changes neither the
// state nor the error text does nothing: it does not allocate and writes
// nothing. It fails with ErrMixedModes for a plugin registered with a probe
// and with ErrInvalidState for a state other than the three above.
type PluginStatusWriter = status.Writer

// DependencyRegisterer is implemented by the status check. A plugin whose
// state says whether an external service is reachable (the etcd and Kafka
// clients, a database, an upstream API) registers with RegisterDependency
// instead of Register: its ERROR then fails readiness but not liveness, by
// default (see the probe plugin). Restarting the agent does not bring such
// a service back, so an orchestrator should stop sending it work, not
// restart it. Plugins that hold a PluginStatusWriter find it with a type
// assertion. It is [status.DependencyRegisterer].
type DependencyRegisterer = status.DependencyRegisterer

// AgentStatusReader reads the aggregated status of the agent.
type AgentStatusReader interface {
	// GetAgentStatus returns a copy of the agent status, with its plugins
	// sorted by name; the caller owns it.
	GetAgentStatus() *model.AgentStatus
}

// StatusReader reads the status of the agent and of every plugin, and
// learns about changes. The probe plugin and dashboards use it.
type StatusReader interface {
	AgentStatusReader
	// GetAllPluginStatus returns a copy of every plugin's status by plugin
	// name; the caller owns it.
	GetAllPluginStatus() map[string]*model.PluginStatus
	// Snapshot returns the current status without copying it; see
	// Snapshot. It never blocks and does not allocate.
	Snapshot() *Snapshot
	// Subscribe returns a channel that receives a value after the snapshot
	// changes. Changes coalesce: a subscriber that is slow to receive gets
	// one value for several changes, and reads the latest Snapshot. Nothing
	// is queued, so a slow subscriber holds back nobody. cancel stops the
	// subscription and closes the channel; it is idempotent. The channel is
	// also closed when the status check closes.
	Subscribe() (changed <-chan struct{}, cancel func())
}

// Snapshot is the status at one moment. Snapshots are immutable: callers
// must not modify them or the messages they point to.
type Snapshot struct {
	// Agent is the agent status; Agent.Plugins is sorted by name.
	Agent *model.AgentStatus
	// Started reports whether the agent has started (the status check's
	// AfterInit has run). Before, the agent state is at best INIT.
	Started bool
	// Seq numbers the snapshots: every change increments it.
	Seq uint64

	dependencies map[string]struct{} // read only
}

// Dependency reports whether the plugin named name was registered as an
// external dependency (see DependencyRegisterer).
func (s *Snapshot) Dependency(name string) bool {
	_, ok := s.dependencies[name]
	return ok
}

// Plugin returns the status of the plugin named name, or nil.
func (s *Snapshot) Plugin(name string) *model.PluginStatus {
	ps := s.Agent.GetPlugins()
	lo, hi := 0, len(ps)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ps[m].GetName() < name {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(ps) && ps[lo].GetName() == name {
		return ps[lo]
	}
	return nil
}

// PublishStats counts the writes of status keys to the key-value store.
type PublishStats struct {
	// Puts is the number of keys written.
	Puts uint64
	// Failures is the number of failed writes and reads.
	Failures uint64
}

// Errors of the status check. Compare with errors.Is.
var (
	// ErrMixedModes is returned by Register and ReportStateChange when a
	// plugin would use both push and pull mode: a plugin either reports its
	// changes or is probed.
	ErrMixedModes = errors.New("push and pull mixed for one plugin: report with ReportStateChange or register a probe, not both")
	// ErrAlreadyRegistered is returned by Register given a probe for a plugin
	// that already has one.
	ErrAlreadyRegistered = errors.New("probe already registered")
	// ErrInvalidState is returned by ReportStateChange for a state other than
	// StateInit, StateOK and StateError.
	ErrInvalidState = errors.New("invalid state")
	// ErrInvalidName is returned for a plugin name that cannot be the last
	// segment of a key: empty, or containing "/", white space or control
	// characters.
	ErrInvalidName = errors.New("invalid plugin name")
	// ErrProbeTimeout is the error of a plugin whose probe did not return
	// within the probe timeout.
	ErrProbeTimeout = errors.New("probe timed out")
)
