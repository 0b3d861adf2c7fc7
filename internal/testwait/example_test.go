package testwait_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/plinth-go/plinth/internal/testwait"
)

// A test waits for a flag that a background goroutine sets. Had the flag
// stayed false for 10s, the test would fail with
//
//	the plugin to connect: not after 10s: Connected() = false
func ExampleFor() {
	t := &fakeT{ctx: context.Background()} // in a test: its *testing.T
	var connected atomic.Bool
	go func() {
		time.Sleep(10 * time.Millisecond)
		connected.Store(true)
	}()
	testwait.For(t, 10*time.Second, "the plugin to connect", func() (bool, string) {
		ok := connected.Load()
		return ok, fmt.Sprintf("Connected() = %v", ok)
	})
	fmt.Println("connected")
	// Output: connected
}
