package freeport

import (
	"net"
	"strconv"
	"sync"
	"testing"
)

// tries bounds the requests to the kernel for one new port.
const tries = 100

var handedOut struct {
	sync.Mutex
	ports map[int]bool
}

// Port returns a loopback TCP port that was free a moment ago and that
// neither Port nor Addr returned before in this process. It fails the test
// if it finds none.
func Port(tb testing.TB) int {
	tb.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = map[int]bool{}
	}
	for range tries {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("freeport: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handedOut.ports[port] {
			handedOut.ports[port] = true
			return port
		}
	}
	tb.Fatalf("freeport: no new free port in %d tries", tries)
	return 0
}

// Addr returns "127.0.0.1:<port>" with a port from Port.
func Addr(tb testing.TB) string {
	tb.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(Port(tb)))
}
