package idxmap_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
)

// shared is one in-process etcd server for the tests that do not stop it;
// each test works under its own key prefix.
var shared *embedded.Server

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "idxmap-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared, err = embedded.Start(context.Background(), embedded.Config{
		DataDir: dir, ClientAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0", UnsafeNoFsync: true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	// The server goes before the leak check: its goroutines are not ours.
	shared.Close()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreCurrent()); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}
