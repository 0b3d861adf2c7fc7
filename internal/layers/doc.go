// Package layers writes down the layers of the Plinth module, bottom up,
// and checks that every package imports only from its own layer or the
// layers below it.
//
// The list is [Layers]; the test of this package runs `go list` over the
// module for Linux, macOS and Windows and fails on the first import that
// points up, naming both packages and both layers. It runs with the rest of
// the tests (make test) and in make lint. A new package that matches no
// pattern fails the check too: placing it is a decision to write down here.
package layers
