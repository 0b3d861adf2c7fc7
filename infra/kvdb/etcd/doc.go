// Package etcd connects an agent to etcd: a plugin that implements the
// kvdb API (brokers, watchers) on go.etcd.io/etcd/client/v3 and keeps working
// while etcd comes and goes.
//
// # Usage
//
// Add the plugin to the agent and inject it where a kvdb.Store is needed:
//
//	kv := etcd.NewPlugin()
//	a, err := agent.New(agent.AllPlugins(kv, myPlugin))
//
//	b := kv.NewBroker("/vnf-agent/vpp1/")
//	err = b.Put(ctx, "config/eth0", data)
//
// The plugin reads etcd.conf (flag -etcd-config, env ETCD_CONFIG; see
// [Config]). Without endpoints in the file or in ETCD_ENDPOINTS it is
// disabled: [Plugin.Disabled] reports true and its brokers and watchers
// return kvdb.ErrDisabled.
//
// # Lifecycle
//
// Init reads the config, creates the client without waiting for etcd and
// starts the background connection check; it returns at once even when etcd
// is down. The check probes etcd with capped exponential backoff (50ms up to
// reconnect-max-backoff) until a linearizable read succeeds, then follows
// the gRPC connection state. Every connect runs the [Plugin.OnConnect]
// callbacks and every change is given to the [Plugin.SetStatusReporter]
// function. Operations issued while etcd is down wait for it until their
// context ends (the operation timeout if the context has no deadline).
//
// Close cancels every watch, revokes the session lease, stops the
// background goroutines, waits for them and closes the client (not one given
// with [UseClient]). No goroutine of the plugin outlives Close.
//
// # Watches
//
// A watch lists its prefix and delivers the snapshot as one resync event,
// then watches from the list revision + 1 with previous values, so nothing
// falls between the two. When etcd restarts, the client resumes the watch
// after the last revision it delivered, and the plugin drops any event it
// already delivered. When that revision was compacted meanwhile, the watch
// lists again and delivers one more resync. Events of a watch reach its
// callback in revision order, one at a time; a slow callback holds the
// watch back (the etcd client buffers the stream meanwhile) and no event is
// dropped.
//
// # Errors
//
// Errors name the operation and the full key and wrap the cause, such as
// `etcd: put "/a/b": context deadline exceeded`. When the caller's context,
// or the operation timeout, ended the call, the error wraps the context
// error.
//
// # Concurrency
//
// The plugin, its brokers and watchers are safe for concurrent use. A
// kvdb.Txn is used by one goroutine.
package etcd
