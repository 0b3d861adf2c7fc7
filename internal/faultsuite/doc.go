// Package faultsuite holds the end-to-end fault tests of Plinth: they run
// the demo agent (examples/agent) as a separate process against etcd as a
// separate process, break one of them, and check that the agent keeps the
// promises docs/operations.md lists.
//
// The package has no API: it is only its tests.
//
// # Scenarios
//
//   - TestStatusKeysFollowTheAgentAcrossEtcdCrashes starts the agent while
//     etcd is down, then SIGKILLs and restarts etcd several times, changing
//     the state of a supervised program while etcd is down. After each
//     recovery the status keys in etcd must hold the states that
//     /readiness shows, and /liveness and /readiness must answer within a
//     bounded latency throughout.
//   - TestAgentCrashExpiresKeysAndKillsChildren SIGKILLs the agent, with
//     expire-with-agent on and a 2 s session TTL: its status keys must
//     expire, its supervised program must die with it, and the restarted
//     agent must come back to OK and publish its keys again.
//
// # Short and long runs
//
// By default each scenario runs a few rounds, so that `make test` stays
// fast. With FAULTSUITE_LONG=1 (`make chaos`) they run many more rounds and
// the test binary prints a summary table of the figures measured: probe
// latency, time to recover and time to key expiry.
package faultsuite
