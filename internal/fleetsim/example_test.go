package fleetsim_test

import (
	"fmt"

	"github.com/plinth-go/plinth/internal/fleetsim"
)

func ExampleParseKey() {
	label, what, ok := fleetsim.ParseKey("/vnf-agent/node-7/check/status/v1/plugin/etcd")
	fmt.Println(label, what, ok)
	s, err := fleetsim.ParseStatus([]byte(`{"state":2,"error":"etcd unreachable"}`))
	fmt.Println(s.State, s.Error, err)
	// Output:
	// node-7 plugin/etcd true
	// 2 etcd unreachable <nil>
}
