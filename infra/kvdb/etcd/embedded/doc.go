// Package embedded runs a real etcd server inside the process, for
// development, for the demo agent and for tests.
//
// # Usage
//
// [Start] starts one etcd member and returns when it serves clients;
// [Server.Endpoints] gives the addresses to dial:
//
//	s, err := embedded.Start(ctx, embedded.Config{
//		DataDir:    dir,
//		ClientAddr: "127.0.0.1:0", // port 0: pick a free port
//		PeerAddr:   "127.0.0.1:0",
//	})
//	...
//	defer s.Close()
//	cli, err := clientv3.New(clientv3.Config{Endpoints: s.Endpoints()})
//
// In an agent, the [Plugin] ("etcd-server", config file etcd-server.conf)
// does the same in Init and stops the server in Close. The command
// cmd/plinth-etcd runs the same server as a separate process, and package
// etcdtest starts either kind from tests.
//
// # Clusters
//
// With [Config].InitialCluster, several members (in one process or in
// several) form one cluster. Each waits in Start until a majority of the
// listed members runs, so start them concurrently.
//
// # Lifecycle
//
// Data persists in the data directory: starting again on it keeps every key
// and revision. [Server.Close] cuts open client streams instead of waiting
// for them, so it takes milliseconds; clients should still be closed first,
// or they will spend the time reconnecting to a server that is gone.
//
// # Security
//
// Clients are served in plain text unless Config.ClientTLS names a server
// certificate; then TLS 1.2 or newer is required, and with a client CA every
// client must present a certificate. Peers always talk in plain text, so
// members of one cluster belong on one trusted network. Users, passwords and
// roles are etcd's own: enable them with the clientv3 Auth API (there is no
// default user).
//
// # Logging
//
// etcd logs nothing unless [WithLogger] (or the plugin's logger) is given;
// then etcd errors are logged as warnings and etcd warnings at debug level.
//
// # Concurrency
//
// Servers and the plugin are safe for concurrent use.
package embedded
