package measure_test

import (
	"encoding/json"
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

func ExampleStat_MarshalJSON() {
	s := measure.Stat{Entity: "etcd init", Count: 2, Total: 3 * time.Millisecond,
		Min: time.Millisecond, Max: 2 * time.Millisecond, Average: 1500 * time.Microsecond}
	b, _ := json.Marshal(s)
	fmt.Println(string(b))
	// Output:
	// {"entity":"etcd init","count":2,"total_ns":3000000,"total":"3ms","min_ns":1000000,"min":"1ms","max_ns":2000000,"max":"2ms","average_ns":1500000,"average":"1.5ms"}
}
