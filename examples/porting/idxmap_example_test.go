package porting_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/idxmap"
	"github.com/plinth-go/plinth/idxmap/mem"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/servicelabel"
)

// Route is a value of the map; the store holds it as JSON.
type Route struct {
	VRF     string `json:"vrf"`
	NextHop string `json:"next_hop"`
}

// Routes keeps an indexed copy of the routes stored under the agent prefix,
// for other plugins to look up by name or by VRF.
type Routes struct {
	infra.PluginDeps
	KV    kvdb.Store
	Label servicelabel.ReaderAPI

	IDX   *mem.Mapping[*Route]
	cache *idxmap.CacheHelper[*Route]
}

func (r *Routes) Init() error {
	r.IDX = mem.NewMapping(idxmap.Indexers[*Route]{
		"vrf": func(rt *Route) []string { return []string{rt.VRF} },
	}, mem.WithName("routes"), mem.WithLogger(r.Log))
	r.cache = &idxmap.CacheHelper[*Route]{
		IDX:     r.IDX,
		Watcher: r.KV.NewWatcher(r.Label.GetAgentPrefix()),
		Prefix:  "config/routes/", // names are the keys without it
		Log:     r.Log,
	}
	return r.cache.Start()
}

func (r *Routes) Close() error {
	return errors.Join(r.cache.Close(), r.IDX.Close())
}

// Lookups and watches go through the read-only view, idxmap.NamedMapping.
func PrintRed(m idxmap.NamedMapping[*Route]) {
	for _, rt := range m.GetValuesByIndex("vrf", "red") {
		fmt.Println("red via", rt.NextHop)
	}
}

func Example_idxmap() {
	const label = "porting-idxmap" // a prefix of its own in the shared etcd
	kv := etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: shared.Endpoints()}))
	routes := &Routes{}
	routes.SetName("routes")
	a := newAgent(agent.AllPlugins(kv, servicelabel.NewPlugin(servicelabel.UseLabel(label)), routes))
	if err := a.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer a.Stop()

	events := make(chan idxmap.Event[*Route], 4)
	reg, err := routes.IDX.Watch("example", func(ev idxmap.Event[*Route]) { events <- ev })
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Unregister()

	ctx := context.Background()
	b := kv.NewBroker(servicelabel.AgentPrefix(label) + "config/routes/")
	for name, value := range map[string]string{
		"10.0.0.0/8":     `{"vrf":"red","next_hop":"192.168.1.1"}`,
		"172.16.0.0/12":  `{"vrf":"blue","next_hop":"192.168.2.1"}`,
		"192.168.0.0/16": `{"vrf":"red","next_hop":"192.168.1.2"}`,
	} {
		if err := b.Put(ctx, name, []byte(value)); err != nil {
			fmt.Println(err)
			return
		}
	}
	for range 3 {
		<-events
	}
	fmt.Println(routes.IDX.ListAllNames())
	fmt.Println(routes.IDX.ListNames("vrf", "red"))
	PrintRed(routes.IDX)

	if _, err := b.Delete(ctx, "10.0.0.0/8"); err != nil {
		fmt.Println(err)
		return
	}
	ev := <-events
	fmt.Println(ev.Kind, ev.Name, ev.Old.NextHop)
	// Output:
	// [10.0.0.0/8 172.16.0.0/12 192.168.0.0/16]
	// [10.0.0.0/8 192.168.0.0/16]
	// red via 192.168.1.1
	// red via 192.168.1.2
	// delete 10.0.0.0/8 192.168.1.1
}
