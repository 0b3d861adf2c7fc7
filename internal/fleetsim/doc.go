// Package fleetsim runs a fleet of agents in one process against an etcd
// cluster, to measure what many agents cost etcd and how fast a status
// change anywhere reaches a fleet watcher.
//
// Each simulated agent is a real agent: its own service label, etcd plugin
// with its own session lease (on an etcd client shared by a hundred
// agents), status check, and a "node" plugin whose state the simulation
// sets. Watch follows every agent's status keys with one etcd watch on the
// /vnf-agent/ prefix, as `agentctl status --all --watch` does.
//
// `make fleet` runs TestFleet with 1,000 agents (FLEET=1, FLEET_N to
// change it) and prints the figures docs/fleet.md reports; `make test`
// runs the same steps with 20 agents.
package fleetsim
