// Command plinth-etcd runs one etcd member as a separate process: a
// one-binary etcd for development, and the etcd that tests kill and restart
// (see package etcdtest).
//
// Usage:
//
//	plinth-etcd [-name plinth] [-data-dir ./.plinth/etcd]
//	            [-listen-client 127.0.0.1:2379] [-listen-peer 127.0.0.1:2380]
//	            [-initial-cluster a=http://h:p,...] [-cluster-state new|existing]
//	            [-unsafe-no-fsync] [-start-timeout 30s]
//
// When the member serves clients, plinth-etcd prints one line on stdout,
// "ready <client endpoint>", for example "ready 127.0.0.1:2379". Port 0
// picks a free port, which the line tells. SIGINT or SIGTERM stop it;
// the exit status is 0 after a clean stop, 1 when the member failed and 2
// for a bad command line. etcd's errors are logged to stderr as warnings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
	"github.com/plinth-go/plinth/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run starts the member, prints the ready line and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plinth-etcd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg embedded.Config
	fs.StringVar(&cfg.Name, "name", embedded.DefaultName, "member `name`, unique in the cluster")
	fs.StringVar(&cfg.DataDir, "data-dir", embedded.DefaultDataDir, "`directory` holding the member's data")
	fs.StringVar(&cfg.ClientAddr, "listen-client", embedded.DefaultClientAddr, "`host:port` serving clients; port 0 picks a free port")
	fs.StringVar(&cfg.PeerAddr, "listen-peer", embedded.DefaultPeerAddr, "`host:port` serving the other members; port 0 picks a free port")
	fs.StringVar(&cfg.InitialCluster, "initial-cluster", "", "members of a new cluster, `name=http://host:port,...`; empty: a single member")
	fs.StringVar(&cfg.ClusterState, "cluster-state", embedded.ClusterStateNew, "`state` of the cluster: new or existing")
	fs.BoolVar(&cfg.UnsafeNoFsync, "unsafe-no-fsync", false, "skip fsync (faster; loses data when the machine crashes)")
	fs.DurationVar(&cfg.StartTimeout, "start-timeout", embedded.DefaultStartTimeout, "how long to wait until the member is ready")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "plinth-etcd: unexpected arguments %q\n", fs.Args())
		return 2
	}

	log := logging.NewRegistry(logging.WithOutput(stderr)).Get("plinth-etcd")
	s, err := embedded.Start(ctx, cfg, embedded.WithLogger(log))
	if err != nil {
		fmt.Fprintf(stderr, "plinth-etcd: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "ready %s\n", s.Endpoints()[0])
	<-ctx.Done()
	if err := s.Close(); err != nil {
		fmt.Fprintf(stderr, "plinth-etcd: %v\n", err)
		return 1
	}
	return 0
}
