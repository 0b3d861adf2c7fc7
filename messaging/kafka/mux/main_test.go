package mux_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The meter arbiter of go-metrics, which sarama uses, is a process-wide
// goroutine started with the first meter and never stopped; it belongs to
// no client.
var ignoreMetrics = goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, ignoreMetrics)
}
