package logmanagertest_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/plinth-go/plinth/logging/logmanager/logmanagertest"
)

// A Lines collector keeps each line a client sends; killed and restarted,
// it listens on the same address again.
func ExampleCollector_Restart() {
	c, err := logmanagertest.New(logmanagertest.Lines)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	send := func(line string) {
		conn, err := net.Dial(c.Network(), c.Addr())
		if err != nil {
			fmt.Println(err)
			return
		}
		defer conn.Close()
		fmt.Fprintln(conn, line)
	}
	waitFor := func(n int) []logmanagertest.Record {
		recs, err := c.WaitFor(ctx, func(r []logmanagertest.Record) bool { return len(r) >= n })
		if err != nil {
			fmt.Println(err)
		}
		return recs
	}

	send(`{"message":"before"}`)
	waitFor(1)
	c.Kill()
	if _, err := net.Dial(c.Network(), c.Addr()); err != nil {
		fmt.Println("killed: connection refused")
	}
	if err := c.Restart(ctx); err != nil {
		fmt.Println(err)
		return
	}
	send(`{"message":"after"}`)
	for _, r := range waitFor(2) {
		fmt.Println(r.Text)
	}
	// Output:
	// killed: connection refused
	// {"message":"before"}
	// {"message":"after"}
}
