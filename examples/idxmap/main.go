// Command idxmap shows the two uses of indexed maps: a plugin exposing its
// local data to another plugin (lookup by name and by secondary index, and
// a watch), and a plugin keeping an indexed local copy of an etcd prefix.
//
//	go run ./examples/idxmap                      # local data only
//	ETCD_ENDPOINTS=127.0.0.1:2379 go run ./examples/idxmap
//	etcdctl put /vnf-agent/vpp1/config/routes/default '{"vrf":"red","next_hop":"10.0.0.1"}'
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
)

func main() {
	a, err := agent.New(agent.AllPlugins(NewInterfaces(), NewMonitor(), NewRouteCache(), etcd.NewPlugin()))
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := a.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
