// Package kvdb is the key-value store API that plugins depend on: brokers
// that read and write values under a key prefix, watchers that stream
// changes, and serializers for proto messages.
//
// # Usage
//
// A plugin injects a [Store] (the etcd plugin, infra/kvdb/etcd, provides
// one) and asks it for a broker and a watcher scoped to its own prefix:
//
//	type Deps struct {
//		infra.PluginDeps
//		KV kvdb.Store
//	}
//
//	b := p.KV.NewBroker("/vnf-agent/vpp1/config/")
//	err := b.Put(ctx, "interfaces/eth0", []byte(`{"mtu":1500}`))
//	v, found, rev, err := b.Get(ctx, "interfaces/eth0")
//
// Keys given to a broker or a watcher are relative to its prefix, and keys it
// returns are relative too. The prefix is prepended verbatim, so it usually
// ends with "/". Proto messages go through a [ProtoWrapper] with a
// [Serializer]: [JSON] (protojson with proto field names, the default) or
// [Proto] (binary).
//
// # Revisions
//
// Every change gives the store a new revision, a number that only grows.
// Get returns the revision of the key's last change (its mod revision), List
// the revision of the store at the time of the read, and every watch [Event]
// the revision of its change. Transactions may compare a key's mod revision
// ([IfModRev], [IfMissing]), which is how read-modify-write is made safe.
//
// # Watch semantics
//
// A watch first lists the prefix and delivers the result as one
// [EventResync] carrying the snapshot and its revision, then delivers every
// change after that revision as [EventPut] and [EventDelete]: there is no gap
// between the list and the first change. Events of one watch are delivered
// in revision order, one at a time, and the callback applies backpressure: the
// next event waits until it returns. Nothing is dropped on a timer.
//
// When the store goes away, the watch waits and resumes after the last
// revision it delivered, without duplicates. When the changes it missed are
// no longer available (the store compacted them), it lists again and delivers
// one more EventResync with a full snapshot, which the consumer diffs against
// its state. There is no coordination between watches.
//
// # Errors
//
// Errors name the operation and the key, wrap the cause, and wrap ctx.Err()
// when the caller's context ended, so errors.Is(err,
// context.DeadlineExceeded) works. Sentinel errors are listed in one var
// block ([ErrDisabled], [ErrClosed], [ErrNilMessage]).
//
// # Concurrency
//
// Brokers, watchers and serializers are safe for concurrent use. A [Txn] is
// not: build and commit it from one goroutine.
//
// Package kvdbtest holds the conformance suite every implementation passes.
package kvdb
