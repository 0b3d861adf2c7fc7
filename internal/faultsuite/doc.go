// Package faultsuite holds the end-to-end fault tests of Plinth: they run
// the demo agent (examples/agent) as a separate process against etcd, the
// Kafka broker (cmd/plinth-kafka) and supervised programs, each a separate
// process, break one of them, and check that the agent keeps the promises
// docs/operations.md lists.
//
// The package has no API: it is only its tests.
//
// # Scenarios
//
//   - TestStatusKeysFollowTheAgentAcrossEtcdCrashes starts the agent while
//     etcd is down, then SIGKILLs and restarts etcd several times, changing
//     the state of a supervised program while etcd is down, while another
//     program flaps (its status changes tens of times a second) throughout.
//     With etcd up, the agent must write at most two keys per change (no
//     write storm); once the flapper is stopped, the status keys in etcd
//     must hold the states that /readiness shows; /liveness and /readiness
//     must answer within a bounded latency throughout.
//   - TestAgentCrashExpiresKeysAndKillsChildren SIGKILLs the agent, with
//     expire-with-agent on and a 2 s session TTL: its status keys must
//     expire, its supervised program must die with it, and the restarted
//     agent must come back to OK and publish its keys again.
//   - TestRouteCacheFollowsAnEtcdClusterAcrossMemberRestarts runs the agent
//     against a 3-member etcd cluster while routes are written and deleted
//     under the prefix its route cache follows, and stops then restarts
//     the leader and the member serving the agent's watches, by SIGKILL
//     or SIGTERM, every other time just after a compaction that makes the
//     cache resync. With one member down the agent must stay OK and its
//     cache keep following; after each round GET /routes must equal the
//     prefix in etcd, and the probes must answer in time throughout.
//   - TestCrashLoopingProgramsLeakNothingUnderLoad runs supervised programs
//     that crash in a loop (exit 1, SIGKILL, a short run, a grandchild left
//     behind) hundreds of times while the agent serves HTTP load. Sampled
//     from /proc and GET /info, the agent must keep no zombie, let no
//     grandchild survive, and grow neither its descriptors, goroutines nor
//     threads; every request must succeed. Once the programs are stopped
//     through REST the agent must have no child left.
//   - TestKafkaBrokerCrashLosesAndDuplicatesNoAcknowledgedMessage runs the agent's demo
//     traffic (500 messages a second, published and consumed by the agent
//     as a member of a consumer group) against three brokers with synced
//     writes, and SIGKILLs and restarts the brokers: at once, once the
//     agent reports Kafka down, after 4 s and after 15 s (longer than
//     sarama's retries). The agent must publish again within 8 s of each
//     restart and consume again; after each round franz-go's kgo reads
//     the topic and every acknowledged message must be stored at its
//     offset. Every acknowledged message must be consumed exactly once, at
//     the offset it was acknowledged at; copies the broker stored twice (a
//     kfake limit, see docs/kafka.md) are counted apart and checked to be
//     such copies.
//   - TestLogHooksCountEveryRecordAcrossCollectorRestarts runs the log
//     manager in an agent of the test process, one per network hook
//     (logstash and syslog over TCP and UDP, fluentd with and without
//     acknowledgements), logging 200 records a second to a collector of
//     the test's own (logging/logmanager/logmanagertest) that is killed, as
//     by a crash, and restarted on the same address. Records must resume
//     within the documented bound after each restart, and every record be
//     counted once (sent, dropped or failed), with records counted as sent
//     and never received only where docs/logging.md allows them.
//   - TestLogHooksStopInTimeWhenTheCollectorStopsReading makes the
//     collector of each TCP hook stop reading while records are queued for
//     it: the agent must stop within the flush timeout plus 2 s.
//
// # Short and long runs
//
// By default each scenario runs a few rounds, so that `make test` stays
// fast. With FAULTSUITE_LONG=1 (`make chaos`) they run many more rounds and
// the test binary prints a summary table of the figures measured: probe
// latency, time to recover and time to key expiry, and counts (restarts,
// status changes and writes, descriptors, goroutines, threads, zombies,
// log records sent, lost and failed).
package faultsuite
