package main

import (
	"context"
	"errors"
	"net"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"syscall"
)

// wsaConnRefused is WSAECONNREFUSED, the error Windows gives for a refused
// connection; syscall.ECONNREFUSED does not match it there.
const wsaConnRefused = syscall.Errno(10061)

// isConnRefused reports whether err says that nothing listens at the
// address: the peer's host answered, and refused the connection.
func isConnRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || runtime.GOOS == "windows" && errors.Is(err, wsaConnRefused)
}

// etcdRefuses dials every etcd endpoint at once and reports whether each
// of them refused the connection. The etcd client retries a refused
// endpoint until --timeout and then reports a timeout; a refusal is a
// complete answer, to be given at once. Any other outcome (a connection, a
// timeout, an endpoint this check does not dial) leaves the verdict to the
// etcd client.
func (g *globalOptions) etcdRefuses(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	refused := make(chan bool, len(g.endpoints))
	for _, ep := range g.endpoints {
		addr, ok := endpointAddr(ep)
		if !ok {
			refused <- false
			continue
		}
		wg.Go(func() {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err == nil {
				conn.Close()
			}
			refused <- err != nil && isConnRefused(err)
		})
	}
	for range g.endpoints {
		if !<-refused {
			return false
		}
	}
	return len(g.endpoints) > 0
}

// endpointAddr returns the TCP address of an etcd endpoint given as
// host:port or as an http(s) URL; ok is false for other forms (unix
// sockets), which etcdRefuses leaves to the etcd client.
func endpointAddr(ep string) (addr string, ok bool) {
	if !strings.Contains(ep, "://") {
		_, _, err := net.SplitHostPort(ep)
		return ep, err == nil
	}
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Port() == "" {
		return "", false
	}
	return u.Host, true
}
