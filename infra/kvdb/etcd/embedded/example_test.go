package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
)

// An etcd server in the process, on free ports, with a client talking to
// it. The client closes before the server.
func Example() {
	dir, err := os.MkdirTemp("", "etcd-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	s, err := embedded.Start(ctx, embedded.Config{
		DataDir:    dir,
		ClientAddr: "127.0.0.1:0",
		PeerAddr:   "127.0.0.1:0",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   s.Endpoints(),
		DialTimeout: 2 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cli.Close()

	if _, err := cli.Put(ctx, "/vnf-agent/vpp1/greeting", "hello"); err != nil {
		fmt.Println(err)
		return
	}
	resp, err := cli.Get(ctx, "/vnf-agent/vpp1/greeting")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s = %s\n", resp.Kvs[0].Key, resp.Kvs[0].Value)
	// Output: /vnf-agent/vpp1/greeting = hello
}

// A second server on an address in use fails with ErrAddressInUse.
func ExampleStart_addressInUse() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()

	_, err = embedded.Start(context.Background(), embedded.Config{
		DataDir:    os.DevNull, // not reached: the address check comes first
		ClientAddr: l.Addr().String(),
	})
	fmt.Println(errors.Is(err, embedded.ErrAddressInUse))
	// Output: true
}
