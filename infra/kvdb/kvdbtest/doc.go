// Package kvdbtest is the conformance suite of the kvdb API: every broker
// and watcher implementation, built in or not, passes the same cases.
//
// # Usage
//
//	func TestConformance(t *testing.T) {
//		kvdbtest.Run(t, func(t *testing.T) kvdb.BytesBroker {
//			return store.NewBroker(uniquePrefix(t))
//		})
//		kvdbtest.RunWatch(t, func(t *testing.T) (kvdb.BytesBroker, kvdb.Watcher) {
//			p := uniquePrefix(t)
//			return store.NewBroker(p), store.NewWatcher(p)
//		})
//	}
//
// Each case gets a fresh broker from the constructor whose prefix holds no
// keys. A case states the behaviour it checks; its failures are joined and
// reported together.
package kvdbtest
