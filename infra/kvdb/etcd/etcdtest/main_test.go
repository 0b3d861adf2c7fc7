package etcdtest_test

import (
	"testing"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
)

func TestMain(m *testing.M) {
	etcdtest.VerifyTestMain(m)
}
