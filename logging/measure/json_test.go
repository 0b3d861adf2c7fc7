package measure

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestStatJSONHasSnakeCaseKeysAndBothDurationForms(t *testing.T) {
	s := Stat{Entity: "etcd init", Count: 2, Total: 3 * time.Millisecond, Min: time.Millisecond,
		Max: 2 * time.Millisecond, Average: 1500 * time.Microsecond}
	want := `{"entity":"etcd init","count":2,"total_ns":3000000,"total":"3ms","min_ns":1000000,"min":"1ms",` +
		`"max_ns":2000000,"max":"2ms","average_ns":1500000,"average":"1.5ms"}`
	for _, v := range []any{s, &s} {
		got, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("json.Marshal(%T) =\n%s\nwant\n%s", v, got, want)
		}
	}
}

func TestTraceJSONFromATracer(t *testing.T) {
	tr := newFixedTracer(nil, WithMaxEntries(1))
	record(tr, "kafka", 90*time.Second)
	record(tr, "etcd", 250*time.Millisecond)
	got, err := json.Marshal(tr.Get())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"test",` +
		`"entries":[{"index":1,"entity":"etcd","start":"2026-01-02T03:04:04.75Z","duration_ns":250000000,"duration":"250ms"}],` +
		`"stats":[` +
		`{"entity":"etcd","count":1,"total_ns":250000000,"total":"250ms","min_ns":250000000,"min":"250ms","max_ns":250000000,"max":"250ms","average_ns":250000000,"average":"250ms"},` +
		`{"entity":"kafka","count":1,"total_ns":90000000000,"total":"1m30s","min_ns":90000000000,"min":"1m30s","max_ns":90000000000,"max":"1m30s","average_ns":90000000000,"average":"1m30s"}],` +
		`"overall_ns":90250000000,"dropped":1,"overall":"1m30.25s"}`
	if string(got) != want {
		t.Errorf("json.Marshal(Trace) =\n%s\nwant\n%s", got, want)
	}
}

func TestTraceJSONRoundTrips(t *testing.T) {
	tr := newFixedTracer(nil)
	record(tr, "kafka", 30*time.Millisecond)
	record(tr, "kafka", 1)
	record(tr, "etcd", 0)
	want := tr.Get()
	data, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var got Trace
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("json.Unmarshal(%s): %v", data, err)
	}
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("round trip = %+v, want %+v", got, *want)
	}
}
