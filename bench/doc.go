// Package bench compares Plinth with the libraries a user would pick
// instead, measured side by side in the same run. It is a separate module so
// that those libraries never become dependencies of Plinth.
//
// Each comparison is one benchmark whose last sub-benchmark level names the
// implementation: "ours" for Plinth and the peer's name otherwise, e.g.
// BenchmarkAgentStartStop/N=100/ours and BenchmarkAgentStartStop/N=100/fx.
// `make bench` runs them (-count 3) and cmd/ratios prints one line per peer,
// comparing the medians of the samples:
//
//	ratio agent-start-stop/N=100-vs-fx 0.42
//
// where the number is ours/peer time per operation (below 1: Plinth faster).
package bench
