package status

import (
	"context"
	"strconv"
)

// State is the state of a plugin or of the whole agent. The values are those
// of the status model published to the key-value store (the "state" number
// of the status JSON), so they must never change.
type State int32

// The states.
const (
	// StateInit means the plugin is starting; it keeps the agent not ready.
	StateInit State = 0
	// StateOK means the plugin works.
	StateOK State = 1
	// StateError means the plugin fails; the error reported with it says why.
	StateError State = 2
)

// String returns "INIT", "OK" or "ERROR", and "State(n)" for any other value.
func (s State) String() string {
	switch s {
	case StateInit:
		return "INIT"
	case StateOK:
		return "OK"
	case StateError:
		return "ERROR"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Probe returns the current state of a plugin (pull mode) and the error that
// explains it. The status check calls it every probe interval, never
// concurrently with itself, with a ctx that ends after the probe timeout or
// when the status check closes; it should return promptly when ctx ends. A
// probe that has not returned by the timeout makes its plugin ERROR.
type Probe func(ctx context.Context) (State, error)

// Writer is what plugins inject to report their state, either by pushing
// every change with ReportStateChange or by registering a [Probe] that the
// status check calls (pull). One plugin uses one of the two modes.
//
// Both methods may be called at any time, before the status check's Init and
// after its Close, so a plugin may use them from its own Init. Tag the field
// `plinth:"optional"` when the plugin also runs in agents without a status
// check, and check it for nil. The methods never block on remote systems.
type Writer interface {
	// Register adds the plugin named pluginName in state INIT. With a nil
	// probe the plugin pushes its state (push mode); otherwise the status
	// check calls probe periodically (pull mode). Registering a push plugin
	// again does nothing; every other second registration fails.
	Register(pluginName string, probe Probe) error
	// ReportStateChange records the state of a push-mode plugin and the
	// error that explains it (nil for none). A plugin reporting without
	// having registered is registered in push mode. A report that changes
	// neither the state nor the error text does nothing. It fails for a
	// plugin registered with a probe and for a state other than StateInit,
	// StateOK and StateError.
	ReportStateChange(pluginName string, state State, lastError error) error
}

// DependencyRegisterer is implemented by a status check that tells the
// agent's own failures from those of the services it depends on. A plugin
// whose state says whether an external service is reachable (etcd, Kafka, a
// database, an upstream API) registers with RegisterDependency instead of
// Register: its ERROR then fails readiness but not liveness, by default.
// Restarting the agent does not bring such a service back, so an
// orchestrator should stop sending it work, not restart it. A plugin that
// holds a Writer finds it with a type assertion.
type DependencyRegisterer interface {
	// RegisterDependency is Register for a plugin that stands for an
	// external dependency. Registering a plugin that already exists marks
	// it as a dependency.
	RegisterDependency(pluginName string, probe Probe) error
}

// Reader is a read-only view of the status, for plugins that act on it or
// show it without depending on how it is aggregated or stored. Its methods
// are safe for concurrent use, never block and return the latest state.
type Reader interface {
	// AgentState returns the state of the agent as a whole: ERROR if any
	// plugin is ERROR, else INIT if any plugin is INIT or the agent has not
	// started yet, else OK.
	AgentState() State
	// PluginState returns the state of the plugin named name and the text
	// of the error reported with it ("" for none). ok is false when no
	// plugin of that name has registered or reported.
	PluginState(name string) (state State, errText string, ok bool)
	// Subscribe returns a channel that receives a value after the status
	// changes. Changes coalesce: a slow subscriber gets one value for
	// several changes and reads the latest state; nothing is queued. cancel
	// stops the subscription and closes the channel; it is idempotent. The
	// channel is also closed when the status check closes.
	Subscribe() (changed <-chan struct{}, cancel func())
}
