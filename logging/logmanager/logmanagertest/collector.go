package logmanagertest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// Protocol is how a [Collector] receives records.
type Protocol int

const (
	// Lines reads records that end with a newline over TCP: Logstash's tcp
	// input with the json_lines codec, or syslog over TCP.
	Lines Protocol = iota
	// Datagrams reads one record per UDP datagram: Logstash's or syslog's
	// udp input.
	Datagrams
	// Forward speaks the Fluentd forward protocol over TCP: it reads
	// messages [tag, time, record, option] (and [tag, [[time, record]…],
	// option]) and acknowledges each one whose option holds a chunk id,
	// after keeping it, as Fluentd does for require_ack_response.
	Forward
)

func (p Protocol) String() string {
	switch p {
	case Lines:
		return "lines"
	case Datagrams:
		return "datagrams"
	case Forward:
		return "forward"
	}
	return fmt.Sprintf("Protocol(%d)", int(p))
}

// Record is one record a [Collector] received.
type Record struct {
	// Text is a line without its newline, or a datagram without a final
	// newline. Empty for Forward.
	Text string
	// Tag and Fields are the tag and the record of a Forward message.
	Tag    string
	Fields map[string]any
	// Received is when the collector read the record.
	Received time.Time
}

// ackWriteTimeout bounds the write of one acknowledgement, so that a client
// that stops reading cannot hold a collector's goroutine.
const ackWriteTimeout = 5 * time.Second

// Collector receives records on a loopback port; see the package doc.
type Collector struct {
	proto Protocol
	addr  string

	mu sync.Mutex // guards the fields below
	// ln (Lines, Forward) or pc (Datagrams) is the socket of the running
	// collector; both are nil while it is killed.
	ln    net.Listener
	pc    net.PacketConn
	conns map[net.Conn]bool
	// killed is closed by Kill and Close; readers parked by StopReading
	// wait for it. Replaced by Restart.
	killed    chan struct{}
	reading   bool
	closed    bool
	accepted  int
	records   []Record
	changed   chan struct{} // closed and replaced when a record arrives
	goroutine sync.WaitGroup
}

// New starts a collector of records sent with protocol p, on a loopback
// port of its own. Close stops it.
func New(p Protocol) (*Collector, error) {
	if p < Lines || p > Forward {
		return nil, fmt.Errorf("logmanagertest: unknown protocol %v", p)
	}
	c := &Collector{proto: p, conns: map[net.Conn]bool{}, changed: make(chan struct{})}
	var err error
	c.addr, err = listenOnNewPort(func(addr string) error { return c.listen(addr) }, c.Network())
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Start is New for a test: it fails the test if the collector cannot start
// and closes the collector when the test ends.
func Start(tb testing.TB, p Protocol) *Collector {
	tb.Helper()
	c, err := New(p)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// Addr returns the collector's address, "127.0.0.1:<port>"; it stays the
// same across restarts.
func (c *Collector) Addr() string { return c.addr }

// Network returns "udp" for Datagrams, else "tcp".
func (c *Collector) Network() string {
	if c.proto == Datagrams {
		return "udp"
	}
	return "tcp"
}

// Accepted returns how many connections the collector accepted, over all
// its runs; 0 for Datagrams.
func (c *Collector) Accepted() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.accepted
}

// Records returns the records received so far, in the order they were
// read. The caller must not modify the returned slice.
func (c *Collector) Records() []Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.records[:len(c.records):len(c.records)]
}

// WaitFor calls cond with the records received so far, first at once and
// then each time a record arrives, until it returns true, and then returns
// those records. When ctx ends first, it returns the records and an error
// wrapping ctx.Err(). cond must not modify the records or call methods of
// c.
func (c *Collector) WaitFor(ctx context.Context, cond func([]Record) bool) ([]Record, error) {
	for {
		c.mu.Lock()
		recs, changed := c.records[:len(c.records):len(c.records)], c.changed
		c.mu.Unlock()
		if cond(recs) {
			return recs, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return recs, fmt.Errorf("logmanagertest: %s collector at %s, %d records: %w", c.proto, c.addr, len(recs), ctx.Err())
		}
	}
}

// Kill stops the collector as a crash of its process would: it closes its
// socket and every connection at once, so that data it had not read yet is
// lost and a client writing on gets an error (or, for a TCP write made just
// after the close, no error and a lost record). Kill waits for the
// collector's goroutines: no record arrives after it returns. Killing a
// killed collector does nothing.
func (c *Collector) Kill() {
	c.mu.Lock()
	c.killLocked()
	c.mu.Unlock()
	c.goroutine.Wait()
}

func (c *Collector) killLocked() {
	if c.ln == nil && c.pc == nil {
		return
	}
	if c.ln != nil {
		c.ln.Close()
		c.ln = nil
	}
	if c.pc != nil {
		c.pc.Close()
		c.pc = nil
	}
	for conn := range c.conns {
		conn.Close()
	}
	clear(c.conns)
	close(c.killed)
}

// Restart starts a killed collector again on the same address, reading as
// it did at first. While another socket holds the port it retries until
// ctx ends. Restarting a running collector does nothing.
func (c *Collector) Restart(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := c.listen(c.addr)
		if err == nil {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("logmanagertest: restart %s collector at %s: %w (last: %v)", c.proto, c.addr, ctx.Err(), err)
		}
	}
}

// StopReading makes the collector read nothing more until it is killed:
// its connections stay open and new ones are accepted, but their data stays
// in the socket buffers, which it makes small, so that a TCP client soon
// blocks in write. A Forward collector sends no more acknowledgements.
func (c *Collector) StopReading() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reading = false
	for conn := range c.conns {
		shrinkReadBuffer(conn)
	}
}

// Close kills the collector for good and waits for its goroutines.
func (c *Collector) Close() {
	c.mu.Lock()
	c.closed = true
	c.killLocked()
	c.mu.Unlock()
	c.goroutine.Wait()
}

// listen opens the collector's socket on addr and starts serving it.
func (c *Collector) listen(addr string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("logmanagertest: collector closed")
	}
	if c.ln != nil || c.pc != nil {
		return nil
	}
	killed := make(chan struct{})
	if c.proto == Datagrams {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		c.pc = pc
		c.goroutine.Go(func() { c.readDatagrams(pc, killed) })
	} else {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		c.ln = ln
		c.goroutine.Go(func() { c.accept(ln, killed) })
	}
	c.killed, c.reading = killed, true
	return nil
}

func (c *Collector) accept(ln net.Listener, killed chan struct{}) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		if c.ln != ln {
			// Killed between Accept and here.
			c.mu.Unlock()
			conn.Close()
			return
		}
		c.conns[conn] = true
		c.accepted++
		if !c.reading {
			shrinkReadBuffer(conn)
		}
		c.mu.Unlock()
		c.goroutine.Go(func() {
			defer conn.Close()
			if c.proto == Forward {
				c.readForward(conn, killed)
			} else {
				c.readLines(conn, killed)
			}
		})
	}
}

// shrinkReadBuffer makes the kernel keep little unread data for conn, so
// that a writer blocks soon once nobody reads.
func shrinkReadBuffer(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
}

// keepReading reports whether to read on; after StopReading it waits
// until the collector is killed and reports false.
func (c *Collector) keepReading(killed chan struct{}) bool {
	c.mu.Lock()
	reading := c.reading
	c.mu.Unlock()
	if reading {
		return true
	}
	<-killed
	return false
}

func (c *Collector) add(r Record) {
	r.Received = time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records = append(c.records, r)
	close(c.changed)
	c.changed = make(chan struct{})
}

// readLines keeps every complete line; a line cut off by the end of the
// connection was not sent whole and is not a record.
func (c *Collector) readLines(conn net.Conn, killed chan struct{}) {
	br := bufio.NewReaderSize(conn, 64<<10)
	for c.keepReading(killed) {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		c.add(Record{Text: strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")})
	}
}

func (c *Collector) readDatagrams(pc net.PacketConn, killed chan struct{}) {
	buf := make([]byte, 64<<10)
	for c.keepReading(killed) {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		c.add(Record{Text: strings.TrimSuffix(string(buf[:n]), "\n")})
	}
}

// readForward decodes forward-protocol messages; it ends the connection on
// anything it does not understand, as Fluentd does.
func (c *Collector) readForward(conn net.Conn, killed chan struct{}) {
	dec := msgpack.NewDecoder(bufio.NewReader(conn))
	for c.keepReading(killed) {
		var msg []any
		if err := dec.Decode(&msg); err != nil {
			return
		}
		entries, option, ok := forwardEntries(msg)
		if !ok {
			return
		}
		for _, e := range entries {
			c.add(e)
		}
		chunk, _ := option["chunk"].(string)
		if chunk == "" {
			continue
		}
		ack, err := msgpack.Marshal(map[string]string{"ack": chunk})
		if err != nil {
			return
		}
		_ = conn.SetWriteDeadline(time.Now().Add(ackWriteTimeout))
		if _, err := conn.Write(ack); err != nil {
			return
		}
	}
}

// forwardEntries returns the records of a message in Message mode [tag,
// time, record, option?] or Forward mode [tag, [[time, record]…], option?].
func forwardEntries(msg []any) ([]Record, map[string]any, bool) {
	if len(msg) < 2 {
		return nil, nil, false
	}
	tag, ok := msg[0].(string)
	if !ok {
		return nil, nil, false
	}
	var option map[string]any
	if entries, isForward := msg[1].([]any); isForward {
		if len(msg) > 2 {
			option, _ = msg[2].(map[string]any)
		}
		var recs []Record
		for _, e := range entries {
			pair, ok := e.([]any)
			if !ok || len(pair) != 2 {
				return nil, nil, false
			}
			fields, ok := pair[1].(map[string]any)
			if !ok {
				return nil, nil, false
			}
			recs = append(recs, Record{Tag: tag, Fields: fields})
		}
		return recs, option, true
	}
	if len(msg) < 3 {
		return nil, nil, false
	}
	fields, ok := msg[2].(map[string]any)
	if !ok {
		return nil, nil, false
	}
	if len(msg) > 3 {
		option, _ = msg[3].(map[string]any)
	}
	return []Record{{Tag: tag, Fields: fields}}, option, true
}
