package measure_test

import (
	"fmt"
	"time"

	"github.com/plinth-go/plinth/logging/measure"
)

func ExampleNewTracer_aggregate() {
	t := measure.NewTracer("agent-start", nil, measure.WithMaxEntries(2))
	for _, plugin := range []string{"etcd", "kafka", "etcd"} {
		start := time.Now()
		// ... start the plugin ...
		t.LogTime(plugin, start)
	}

	trace := t.Get()
	fmt.Println("kept", len(trace.Entries), "dropped", trace.Dropped)
	for _, s := range trace.Stats {
		fmt.Println(s.Entity, s.Count)
	}
	// Output:
	// kept 2 dropped 1
	// etcd 2
	// kafka 1
}
