package kafka_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The meter arbiter of go-metrics, which sarama uses, is a process-wide
	// goroutine started with the first meter and never stopped.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"),
		// sarama's producers open a circuit breaker after failed partition
		// lookups (see client.Producer, Renewal); it sleeps its 10 s in a
		// goroutine of its own, which nothing can stop and which ends by
		// itself.
		goleak.IgnoreAnyFunction("github.com/eapache/go-resiliency/breaker.(*Breaker).timer"))
}
