// Command plinth-kafka runs a Kafka-compatible broker cluster in one process,
// for development and for tests that stop and restart the brokers. It is
// franz-go's kfake, a faithful wire-protocol fake, not Apache Kafka.
//
//	plinth-kafka -ports 9092,9093,9094 -data-dir ./kafka-data -seed-topics events:6,commands
//
// It prints "ready <addr>,<addr>..." on stdout once every broker listens, and
// stops on SIGTERM or SIGINT, writing its state to -data-dir first, so that a
// restart with the same -data-dir and -ports finds every acknowledged
// message.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "plinth-kafka:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var kafkaLogLevels = map[string]kfake.LogLevel{
	"none": kfake.LogLevelNone, "error": kfake.LogLevelError, "warn": kfake.LogLevelWarn,
	"info": kfake.LogLevelInfo, "debug": kfake.LogLevelDebug,
}

// run starts the cluster, reports it ready on out and runs until ctx ends.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("plinth-kafka", flag.ContinueOnError)
	ports := fs.String("ports", "9092", "comma-separated `ports`, one broker per port, on 127.0.0.1 (0 picks a free port)")
	dataDir := fs.String("data-dir", "", "`directory` keeping the topics, offsets and groups across restarts; empty keeps them in memory")
	seed := fs.String("seed-topics", "", "comma-separated `topics` to create at start, each name or name:partitions")
	partitions := fs.Int("partitions", 3, "partitions of seeded topics without a count and of auto-created topics")
	syncWrites := fs.Bool("sync-writes", false, "fsync every produced batch to -data-dir before acknowledging it")
	logLevel := fs.String("log-level", "none", "what the brokers log to standard error: none, error, warn, info or debug")
	if err := fs.Parse(args); err != nil {
		return err
	}
	level, ok := kafkaLogLevels[*logLevel]
	if !ok {
		return fmt.Errorf("-log-level: %q is none of none, error, warn, info, debug", *logLevel)
	}
	if *partitions < 1 {
		return fmt.Errorf("-partitions %d: must be at least 1", *partitions)
	}
	opts := []kfake.Opt{kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(*partitions)}
	if level != kfake.LogLevelNone {
		opts = append(opts, kfake.WithLogger(kfake.BasicLogger(os.Stderr, level)))
	}
	var ps []int
	for _, s := range strings.Split(*ports, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || p < 0 || p > 65535 {
			return fmt.Errorf("-ports: %q is not a port", s)
		}
		ps = append(ps, p)
	}
	opts = append(opts, kfake.Ports(ps...))
	if *dataDir != "" {
		opts = append(opts, kfake.DataDir(*dataDir))
	}
	if *syncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	if *seed != "" {
		for _, t := range strings.Split(*seed, ",") {
			name, count, hasCount := strings.Cut(strings.TrimSpace(t), ":")
			n := *partitions
			if hasCount {
				var err error
				if n, err = strconv.Atoi(count); err != nil || n < 1 {
					return fmt.Errorf("-seed-topics: %q: bad partition count", t)
				}
			}
			if name == "" {
				return fmt.Errorf("-seed-topics: empty topic name in %q", *seed)
			}
			opts = append(opts, kfake.SeedTopics(int32(n), name))
		}
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintln(out, "ready", strings.Join(c.ListenAddrs(), ","))
	<-ctx.Done()
	return nil
}
