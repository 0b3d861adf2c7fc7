package etcd_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
)

func ExamplePlugin_NewBroker() {
	p := etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: shared.Endpoints()}))
	if err := p.Init(); err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	ctx := context.Background()
	b := p.NewBroker("/example/broker/")
	_ = b.Put(ctx, "config/eth0", []byte(`{"mtu":1500}`))
	existed, _ := b.Delete(ctx, "config/eth0")
	_, found, _, _ := b.Get(ctx, "config/eth0")
	fmt.Println(existed, found)
	// Output: true false
}

func ExamplePlugin_NewWatcher() {
	p := etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: shared.Endpoints()}))
	if err := p.Init(); err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	ctx := context.Background()
	b := p.NewBroker("/example/watch/")
	_, _ = b.Delete(ctx, "", kvdb.WithPrefix())
	_ = b.Put(ctx, "a", []byte("1"))

	ch, w, _ := kvdb.WatchChan(ctx, p.NewWatcher("/example/watch/"), "")
	defer w.Stop()
	ev := <-ch // the first event is always the resync
	fmt.Println(ev.Kind, len(ev.Snapshot), ev.Snapshot[0].Key)
	_ = b.Put(ctx, "b", []byte("2"))
	ev = <-ch
	fmt.Println(ev.Kind, ev.Key, string(ev.Value))
	// Output:
	// resync 1 a
	// put b 2
}

func ExamplePlugin_Disabled() {
	p := etcd.NewPlugin() // no endpoints anywhere
	_ = p.Init()
	defer p.Close()
	err := p.NewBroker("/x/").Put(context.Background(), "k", nil)
	fmt.Println(p.Disabled(), errors.Is(err, kvdb.ErrDisabled))
	// Output: true true
}
