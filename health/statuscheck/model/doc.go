// Package model defines the status an agent publishes: the proto messages
// AgentStatus and PluginStatus, the keys they are stored under, and their JSON
// form, which is a compatibility promise.
//
// # JSON
//
// The values under the status keys are JSON with snake_case keys, for
// example
//
//	{"state":2,"last_change":1496322205,"last_update":1496322361,"error":"VPP disconnected"}
//
// state is the number of the OperationalState (0 INIT, 1 OK, 2 ERROR) and is
// always present; times are Unix seconds and always present; strings (error,
// name, build_version …) appear only when set. protojson cannot produce this
// (it writes enums as names, 64-bit integers as strings and omits zero
// values), so the messages implement json.Marshaler and json.Unmarshaler by
// hand. The decoder also accepts what protojson writes — enum names, quoted
// integers, a missing state meaning INIT — so values written by older agents
// still read, and it ignores unknown keys, so that an older reader accepts
// values written by a newer agent.
//
// # Keys
//
// Keys are relative to the agent prefix of the service label
// ("/vnf-agent/<label>/"): AgentStatusKey and PluginStatusKey.
package model
