package mem

import (
	"io"
	"reflect"
	"slices"
	"testing"

	"github.com/plinth-go/plinth/logging"
)

// TestCnInfraNamesBehaveAsTheirPlinthNames checks the names kept for code
// ported from cn-infra against the names they stand for.
func TestCnInfraNamesBehaveAsTheirPlinthNames(t *testing.T) {
	log := logging.NewRegistry(logging.WithOutput(io.Discard)).Get("routes")
	ported := NewNamedMapping(log, "routes", routeIndexers())
	plinth := NewMapping(routeIndexers(), WithName("routes"), WithLogger(log))
	for _, m := range []*Mapping[*route]{ported, plinth} {
		m.Put("10.0.0.0/8", &route{vrf: "red", nextHops: []string{"10.1.1.1", "10.1.1.2"}})
		m.Put("0.0.0.0/0", &route{vrf: "blue"})
	}

	if ported.log != log {
		t.Errorf("NewNamedMapping logs to %v, want %v", ported.log, log)
	}
	if got, want := ported.GetRegistryTitle(), plinth.String(); got != want || got != "routes" {
		t.Errorf("GetRegistryTitle() = %q, String() = %q, want routes", got, want)
	}
	if got, want := ported.Indexes(), plinth.Indexes(); !slices.Equal(got, want) {
		t.Errorf("indexes %q, want %q", got, want)
	}
	if got, want := ported.ListNames("nexthop", "10.1.1.2"), plinth.ListNames("nexthop", "10.1.1.2"); !slices.Equal(got, want) || len(got) != 1 {
		t.Errorf("ListNames(nexthop, 10.1.1.2) = %q, want %q", got, want)
	}
	for _, name := range []string{"10.0.0.0/8", "0.0.0.0/0", "unknown"} {
		got, want := ported.ListFields(name), plinth.IndexedValues(name)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ListFields(%q) = %v, IndexedValues = %v", name, got, want)
		}
	}
	if got := ported.ListFields("10.0.0.0/8"); !slices.Equal(got["nexthop"], []string{"10.1.1.1", "10.1.1.2"}) || !slices.Equal(got["vrf"], []string{"red"}) {
		t.Errorf("ListFields(10.0.0.0/8) = %v, want vrf [red] and nexthop [10.1.1.1 10.1.1.2]", got)
	}
	if got := ported.ListFields("unknown"); len(got) != 0 {
		t.Errorf("ListFields(unknown) = %v, want empty", got)
	}
}
