package idxmap_test

import (
	"testing"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
)

// shared is one in-process etcd server for the tests that do not stop it;
// each test works under its own key prefix.
var shared *embedded.Server

func TestMain(m *testing.M) { etcdtest.MainWithSharedServer(m, &shared) }
