package mem_test

import (
	"fmt"

	"github.com/plinth-go/plinth/idxmap"
	"github.com/plinth-go/plinth/idxmap/mem"
)

type Interface struct {
	Type  string
	Addrs []string
}

func ExampleNewMapping() {
	m := mem.NewMapping(idxmap.Indexers[*Interface]{
		"type": func(i *Interface) []string { return []string{i.Type} },
		"addr": func(i *Interface) []string { return i.Addrs },
	}, mem.WithName("interfaces"))
	m.Put("eth1", &Interface{Type: "ethernet", Addrs: []string{"10.0.0.1/24"}})
	m.Put("eth0", &Interface{Type: "ethernet", Addrs: []string{"10.0.0.2/24", "fd00::2/64"}})
	m.Put("lo", &Interface{Type: "loopback", Addrs: []string{"127.0.0.1/8"}})

	fmt.Println(m.ListAllNames())
	fmt.Println(m.ListNames("type", "ethernet"))
	fmt.Println(m.ListNames("addr", "fd00::2/64"))
	lo, found := m.GetValue("lo")
	fmt.Println(lo.Type, found)
	// Output:
	// [eth0 eth1 lo]
	// [eth0 eth1]
	// [eth0]
	// loopback true
}

func ExampleMapping_Watch() {
	m := mem.NewMapping[*Interface](nil)
	defer m.Close()
	m.Put("eth0", &Interface{Type: "ethernet"})

	done := make(chan struct{})
	reg, err := m.Watch("printer", func(ev idxmap.Event[*Interface]) {
		fmt.Println(ev.Kind, ev.Name, "snapshot:", ev.Snapshot)
		if ev.Kind == idxmap.EventDelete {
			close(done)
		}
	}, idxmap.WithSnapshot())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Unregister()
	m.Put("eth0", &Interface{Type: "ethernet", Addrs: []string{"10.0.0.1/24"}})
	m.Put("eth1", &Interface{Type: "ethernet"})
	m.Delete("eth0")
	<-done
	// Output:
	// create eth0 snapshot: true
	// update eth0 snapshot: false
	// create eth1 snapshot: false
	// delete eth0 snapshot: false
}

func ExampleMapping_Update() {
	m := mem.NewMapping[int](nil)
	increment := func(old int, found bool) (int, bool) { return old + 1, true }
	m.Update("hits", increment)
	m.Update("hits", increment)
	v, _ := m.GetValue("hits")
	fmt.Println(v)
	// Output:
	// 2
}
