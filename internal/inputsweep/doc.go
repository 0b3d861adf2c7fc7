// Package inputsweep holds no code: its tests send bad input to an agent
// assembled from every plugin of Plinth that serves HTTP, and check that the
// agent refuses it cleanly.
//
// # What is checked
//
// The agent runs the HTTP server (infra/rest) with the probes, the status
// check, the log manager, the process manager, the supervisor (with one idle
// program) and the dashboard, reading its config files from an empty
// temporary directory; the etcd plugin is left out. Requests with random
// methods, paths, queries and bodies go through the server's handler, and
// every answer must satisfy these rules:
//
//   - no handler panics;
//   - no answer is a 5xx, except the documented ones: 503 from /readiness
//     and /liveness while the agent's state forbids it (docs/probe.md) and
//     from /events while the dashboard closes;
//   - a request for a path no plugin serves is a 404, and a method a path
//     does not serve is a 405;
//   - every 4xx but one to HEAD carries a body that says what was wrong,
//     and a 405 lists the allowed methods in its Allow header.
//
// TestBadRequests is a table of known bad requests with the status each must
// get, sent both in process and over a real socket. FuzzRESTSweep explores
// further from those requests.
//
// # Fuzzing
//
// The seed corpus is in the code and under testdata/fuzz/FuzzRESTSweep, the
// layout go test uses for every fuzz target of Plinth (testdata/fuzz/FuzzX
// in the package of the target). go test runs the seeds; make fuzz runs
// every target of the module for FUZZTIME each:
//
//	make fuzz FUZZTIME=30s
//	go test -run '^$' -fuzz '^FuzzRESTSweep$' -fuzztime 1m ./internal/inputsweep
//
// A failing input is written to testdata/fuzz/FuzzRESTSweep; commit it with
// the fix, so that it stays in the corpus.
package inputsweep
