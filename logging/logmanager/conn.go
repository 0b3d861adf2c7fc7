package logmanager

import (
	"net"
	"time"
)

// collectorConn is the connection of a logstash or syslog hook to its
// collector. It dials on the first write and again after a failure, and
// gives each write, dial included, one deadline of ioTimeout. It is not
// safe for concurrent use; hooks guard it with their mutex.
type collectorConn struct {
	// dial opens a connection with d, whose Deadline is set, and returns
	// it with its network.
	dial func(d *net.Dialer) (net.Conn, string, error)

	conn    net.Conn // nil until the first write and after a failure
	stream  bool     // conn is tcp or unix: its peer's close can be seen
	scratch []byte   // for peerClosed
}

// dialTo returns a dial function for one network and address.
func dialTo(network, address string) func(d *net.Dialer) (net.Conn, string, error) {
	return func(d *net.Dialer) (net.Conn, string, error) {
		conn, err := d.Dial(network, address)
		return conn, network, err
	}
}

// write sends p, one record, within ioTimeout. A failed write closes the
// connection and returns the error, so the next write dials again.
//
// Before writing on a stream connection it checks whether the collector
// closed it, as a collector that stopped or restarted did: TCP would accept
// the first write into such a connection and lose it without an error, so
// write dials again instead. A collector that dies between that check and
// the write, or whose host vanishes without closing the connection, still
// loses the record, which the hook then counts as sent.
func (c *collectorConn) write(p []byte) error {
	deadline := time.Now().Add(ioTimeout)
	if c.conn != nil && c.stream {
		if c.scratch == nil {
			c.scratch = make([]byte, 256)
		}
		if peerClosed(c.conn, c.scratch) {
			c.close()
		}
	}
	if c.conn == nil {
		conn, network, err := c.dial(&net.Dialer{Deadline: deadline})
		if err != nil {
			return err
		}
		c.conn = conn
		switch network {
		case "tcp", "tcp4", "tcp6", "unix":
			c.stream = true
		default:
			c.stream = false
		}
	}
	err := c.conn.SetWriteDeadline(deadline)
	if err == nil {
		_, err = c.conn.Write(p)
	}
	if err != nil {
		c.close()
		return err
	}
	return nil
}

// close closes the connection, if any.
func (c *collectorConn) close() error {
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}
