package embedded_test

import (
	"testing"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
)

// TestMain checks for leaked goroutines. It waits for them to end first,
// because the peer connections of a closed cluster can stay blocked in a
// read for up to etcd's 5 s peer read timeout.
func TestMain(m *testing.M) {
	etcdtest.VerifyTestMain(m)
}
