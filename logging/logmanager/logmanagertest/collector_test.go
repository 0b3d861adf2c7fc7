package logmanagertest_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/fluent/fluent-logger-golang/fluent"
	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/logging/logmanager/logmanagertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func waitForN(t *testing.T, c *logmanagertest.Collector, n int) []logmanagertest.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	recs, err := c.WaitFor(ctx, func(r []logmanagertest.Record) bool { return len(r) >= n })
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestLogCollectorForwardAcknowledgesTheFluentClient checks the Forward
// collector against a client we did not write: fluent-logger-golang with
// RequestAck returns from Post only once the collector acknowledged.
func TestLogCollectorForwardAcknowledgesTheFluentClient(t *testing.T) {
	c := logmanagertest.Start(t, logmanagertest.Forward)
	host, port, _ := net.SplitHostPort(c.Addr())
	p, err := net.LookupPort("tcp", port)
	if err != nil {
		t.Fatal(err)
	}
	client, err := fluent.New(fluent.Config{
		FluentHost: host, FluentPort: p, RequestAck: true,
		Timeout: 5 * time.Second, WriteTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, MaxRetry: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.Post("app.tag", map[string]any{"message": "hello", "n": 7}); err != nil {
		t.Fatalf("Post with RequestAck = %v, want the collector's acknowledgement", err)
	}
	r := waitForN(t, c, 1)[0]
	if r.Tag != "app.tag" || r.Fields["message"] != "hello" {
		t.Errorf("record = %+v, want tag app.tag and message hello", r)
	}
}

// TestLogCollectorKilledLosesItsConnections: after Kill nothing is read on
// the old connections, and a restarted collector takes new ones on the
// same address.
func TestLogCollectorKilledLosesItsConnections(t *testing.T) {
	c := logmanagertest.Start(t, logmanagertest.Lines)
	conn, err := net.Dial("tcp", c.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("one\n")); err != nil {
		t.Fatal(err)
	}
	waitForN(t, c, 1)
	c.Kill()
	_, _ = conn.Write([]byte("lost\n")) // may succeed: TCP does not know yet
	if err := c.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	again, err := net.Dial("tcp", c.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if _, err := again.Write([]byte("two\n")); err != nil {
		t.Fatal(err)
	}
	recs := waitForN(t, c, 2)
	if recs[0].Text != "one" || recs[1].Text != "two" || len(recs) != 2 {
		t.Errorf("records = %+v, want one and two", recs)
	}
	if n := c.Accepted(); n != 2 {
		t.Errorf("Accepted = %d, want 2", n)
	}
}

// TestLogCollectorDatagramsStripTheNewline: a datagram's final newline is
// not part of the record.
func TestLogCollectorDatagramsStripTheNewline(t *testing.T) {
	c := logmanagertest.Start(t, logmanagertest.Datagrams)
	conn, err := net.Dial(c.Network(), c.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("<11>text\n")); err != nil {
		t.Fatal(err)
	}
	if r := waitForN(t, c, 1)[0]; r.Text != "<11>text" {
		t.Errorf("Text = %q, want <11>text", r.Text)
	}
}
