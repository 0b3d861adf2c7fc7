// Package securitytest holds the end-to-end security tests of Plinth: TLS
// and credentials between the etcd plugin and an etcd server with TLS and
// auth, between the Kafka client and a broker with TLS and SASL, and the
// HTTP server's basic authentication; that no password reaches a log at any
// level; and that no file is written with a mode wider than 0644 (0755 for
// directories and executables).
//
// The package has no API: it is only its tests. docs/security.md describes
// the threat model they check.
package securitytest
