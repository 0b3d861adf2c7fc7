// Package bench compares Plinth with the libraries a user would pick
// instead, measured side by side in the same run. It is a separate module so
// that those libraries never become dependencies of Plinth.
//
// Each comparison is one benchmark whose last sub-benchmark level names the
// implementation: "ours" for Plinth and the peer's name otherwise, e.g.
// BenchmarkAgentStartStop/N=100/ours and BenchmarkAgentStartStop/N=100/fx.
// The sides run interleaved, ours then each peer, for BENCHROUNDS rounds
// (5 by default), so that a change of the machine's load lands on both.
// `make bench` runs them and cmd/ratios prints one line per peer: the
// median of the per-round ratios ours/peer time per operation (below 1:
// Plinth faster), with their range and count:
//
//	ratio agent-start-stop/N=100-vs-fx 0.420 (0.395–0.447, n=5)
//
// docs/testing.md says how to read them.
package bench
