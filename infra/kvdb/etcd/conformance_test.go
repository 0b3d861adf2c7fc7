package etcd_test

import (
	"testing"

	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/infra/kvdb/kvdbtest"
)

func TestConformance(t *testing.T) {
	p := sharedPlugin(t)
	t.Run("Broker", func(t *testing.T) {
		kvdbtest.Run(t, func(t *testing.T) kvdb.BytesBroker { return p.NewBroker(uniquePrefix(t)) })
	})
	t.Run("Watcher", func(t *testing.T) {
		kvdbtest.RunWatch(t, func(t *testing.T) (kvdb.BytesBroker, kvdb.Watcher) {
			prefix := uniquePrefix(t)
			return p.NewBroker(prefix), p.NewWatcher(prefix)
		})
	})
}
