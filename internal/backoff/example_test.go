package backoff_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plinth-go/plinth/internal/backoff"
)

// A reconnect loop: wait longer after each failure, start again from the
// first wait after a success, and stop waiting when the context ends.
func ExampleBackoff() {
	ctx := context.Background()
	bo := backoff.Backoff{Min: time.Millisecond, Max: 4 * time.Millisecond}
	attempts := 0
	connect := func() error {
		if attempts++; attempts < 5 {
			return errors.New("connection refused")
		}
		return nil
	}
	for {
		err := connect()
		if err == nil {
			bo.Reset()
			break
		}
		d := bo.Next()
		fmt.Printf("attempt %d: %v; next in %v\n", attempts, err, d)
		if !backoff.Sleep(ctx.Done(), d) {
			return
		}
	}
	fmt.Println("connected after", attempts, "attempts; next wait", bo.Next())
	// Output:
	// attempt 1: connection refused; next in 1ms
	// attempt 2: connection refused; next in 2ms
	// attempt 3: connection refused; next in 4ms
	// attempt 4: connection refused; next in 4ms
	// connected after 5 attempts; next wait 1ms
}

// With Jitter, each wait is shortened at random, never lengthened.
func ExampleBackoff_jitter() {
	bo := backoff.Backoff{Min: 100 * time.Millisecond, Max: time.Second, Jitter: 0.2}
	for range 3 {
		d := bo.Next()
		fmt.Println(d > 0 && d <= time.Second)
	}
	d := bo.Next() // 800ms before jitter
	fmt.Println(d >= 640*time.Millisecond && d <= 800*time.Millisecond)
	// Output:
	// true
	// true
	// true
	// true
}
