//go:build unix

package logmanager

import (
	"net"
	"syscall"
)

// peerClosed reports whether the peer of a stream connection closed or
// reset it, without waiting: it reads what is there without blocking. The
// hooks' protocols send nothing back, so anything read is discarded.
func peerClosed(conn net.Conn, scratch []byte) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	err = raw.Read(func(fd uintptr) bool {
		// Bounded, so that a peer that keeps sending cannot hold the hook.
		for range 16 {
			n, err := syscall.Read(int(fd), scratch)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
				return true
			case err != nil, n == 0:
				// A reset, or the end of the stream.
				closed = true
				return true
			}
		}
		return true
	})
	return closed || err != nil
}
