package freeport_test

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/internal/freeport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNoPortTwice(t *testing.T) {
	seen := map[int]bool{}
	for range 500 {
		p := freeport.Port(t)
		if seen[p] {
			t.Fatalf("port %d returned twice", p)
		}
		seen[p] = true
	}
	addr := freeport.Addr(t)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("Addr() = %s: %v", addr, err)
	}
	l.Close()
}

func ExampleAddr() {
	var t testing.T // in a test, the test's *testing.T
	client, peer := freeport.Addr(&t), freeport.Addr(&t)
	fmt.Println(strings.HasPrefix(client, "127.0.0.1:"), client != peer)
	// Output: true true
}
