package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// errNotFound is wrapped by the error of get and del for a missing key.
var errNotFound = errors.New("not found")

func newKvdbCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "kvdb",
		Aliases: []string{"kv"},
		GroupID: "kv",
		Short:   "Read, write and watch keys in etcd",
		Long: `Read, write and watch keys in etcd.

A KEY or PREFIX that does not start with "/" is relative to the agent
prefix /vnf-agent/<service-label>/: with the default label, "config/x"
is /vnf-agent/vpp1/config/x.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		newKvdbGetCmd(g),
		newKvdbPutCmd(g),
		newKvdbDelCmd(g),
		newKvdbListCmd(g),
		newKvdbWatchCmd(g),
	)
	return cmd
}

// withEtcd connects, runs fn and closes the connection.
func (g *globalOptions) withEtcd(ctx context.Context, fn func(c *etcdClient) error) error {
	c, err := g.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(c)
}

func newKvdbGetCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "get KEY",
		Aliases: []string{"g"},
		Short:   "Print the value of a key",
		Example: `  agentctl kvdb get check/status/v1/agent
  agentctl kvdb get /vnf-agent/vpp1/check/status/v1/agent -o json`,
		Args: argsRange(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := expandKey(g.label, args[0])
			if err != nil {
				return err
			}
			return g.withEtcd(cmd.Context(), func(c *etcdClient) error {
				ctx, cancel := c.opContext(cmd.Context())
				defer cancel()
				resp, err := c.cli.Get(ctx, key)
				if err != nil {
					return c.wrap(cmd.Context(), "get", key, err)
				}
				if len(resp.Kvs) == 0 {
					return fmt.Errorf("key %q %w", key, errNotFound)
				}
				kv := resp.Kvs[0]
				return g.printer().print(newKV(string(kv.Key), kv.Value, kv.ModRevision), func(w io.Writer) error {
					return writeValue(w, kv.Value)
				})
			})
		},
	}
}

// putResult is the -o json output of put and del.
type putResult struct {
	Key      string `json:"key"`
	Revision int64  `json:"revision"`
	Deleted  int64  `json:"deleted,omitempty"`
}

func newKvdbPutCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "put KEY VALUE",
		Aliases: []string{"p"},
		Short:   "Set a key to a value (VALUE - reads it from stdin)",
		Long: `Set a key to a value. A VALUE of "-" reads the value from stdin, as is
(a trailing newline is kept). Use -- before a VALUE starting with "-".`,
		Example: `  agentctl kvdb put config/x '{"enabled":true}'
  agentctl kvdb put config/x - < x.json
  agentctl kvdb put config/n -- -1`,
		Args: argsRange(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := expandKey(g.label, args[0])
			if err != nil {
				return err
			}
			value := []byte(args[1])
			if args[1] == "-" {
				if value, err = io.ReadAll(g.stdin); err != nil {
					return fmt.Errorf("read the value from stdin: %w", err)
				}
			}
			return g.withEtcd(cmd.Context(), func(c *etcdClient) error {
				ctx, cancel := c.opContext(cmd.Context())
				defer cancel()
				resp, err := c.cli.Put(ctx, key, string(value))
				if err != nil {
					return c.wrap(cmd.Context(), "put", key, err)
				}
				return g.printer().print(putResult{Key: key, Revision: resp.Header.Revision}, func(w io.Writer) error {
					_, err := fmt.Fprintln(w, "OK")
					return err
				})
			})
		},
	}
}

func newKvdbDelCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "del KEY",
		Aliases: []string{"d", "delete", "rm"},
		Short:   "Delete a key; it is an error if the key does not exist",
		Args:    argsRange(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := expandKey(g.label, args[0])
			if err != nil {
				return err
			}
			return g.withEtcd(cmd.Context(), func(c *etcdClient) error {
				ctx, cancel := c.opContext(cmd.Context())
				defer cancel()
				resp, err := c.cli.Delete(ctx, key)
				if err != nil {
					return c.wrap(cmd.Context(), "del", key, err)
				}
				if resp.Deleted == 0 {
					return fmt.Errorf("key %q %w", key, errNotFound)
				}
				return g.printer().print(putResult{Key: key, Revision: resp.Header.Revision, Deleted: resp.Deleted}, func(w io.Writer) error {
					_, err := fmt.Fprintln(w, "OK")
					return err
				})
			})
		},
	}
}

type listOptions struct {
	keysOnly bool
}

func newKvdbListCmd(g *globalOptions) *cobra.Command {
	var o listOptions
	cmd := &cobra.Command{
		Use:     "list [PREFIX]",
		Aliases: []string{"ls", "l"},
		Short:   "List the keys and values under a prefix (default: the agent prefix)",
		Long: `List the keys and values under a prefix, sorted by key. Without PREFIX,
the agent prefix /vnf-agent/<service-label>/ is listed. The text output
is one line with the key followed by one with the value.`,
		Example: `  agentctl kvdb list
  agentctl kvdb list check/ --keys-only
  agentctl kvdb list /vnf-agent/ -o json`,
		Args: argsRange(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := ""
			if len(args) == 1 {
				arg = args[0]
			}
			prefix, err := expandKey(g.label, arg)
			if err != nil {
				return err
			}
			return g.withEtcd(cmd.Context(), func(c *etcdClient) error {
				ctx, cancel := c.opContext(cmd.Context())
				defer cancel()
				opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend)}
				if o.keysOnly {
					opts = append(opts, clientv3.WithKeysOnly())
				}
				resp, err := c.cli.Get(ctx, prefix, opts...)
				if err != nil {
					return c.wrap(cmd.Context(), "list", prefix, err)
				}
				items := make([]kvJSON, 0, len(resp.Kvs))
				for _, kv := range resp.Kvs {
					item := kvJSON{Key: string(kv.Key), Revision: kv.ModRevision}
					if !o.keysOnly {
						item.setValue(kv.Value)
					}
					items = append(items, item)
				}
				return g.printer().print(items, func(w io.Writer) error {
					for _, kv := range resp.Kvs {
						if _, err := fmt.Fprintf(w, "%s\n", kv.Key); err != nil {
							return err
						}
						if !o.keysOnly {
							if err := writeValue(w, kv.Value); err != nil {
								return err
							}
						}
					}
					return nil
				})
			})
		},
	}
	cmd.Flags().BoolVar(&o.keysOnly, "keys-only", false, "print only the keys")
	return cmd
}

func newKvdbWatchCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "watch [PREFIX]",
		Aliases: []string{"w"},
		Short:   "Print changes under a prefix as they happen, until interrupted",
		Long: `Print changes under a prefix (default: the agent prefix) as they happen:
"PUT key value" and "DELETE key", or one JSON object per line with -o json.
It runs until interrupted (Ctrl-C). Changes are printed from the moment the
watch starts; --timeout bounds only the first contact with etcd.`,
		Example: `  agentctl kvdb watch config/
  agentctl kvdb watch /vnf-agent/ -o json`,
		Args: argsRange(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := ""
			if len(args) == 1 {
				arg = args[0]
			}
			prefix, err := expandKey(g.label, arg)
			if err != nil {
				return err
			}
			return g.withEtcd(cmd.Context(), func(c *etcdClient) error {
				return g.watch(cmd.Context(), c, prefix)
			})
		},
	}
}

// watch prints events under prefix until ctx ends. The current revision is
// read first, within the timeout, so that an unreachable etcd is reported
// instead of waited for, and the watch starts right after it.
func (g *globalOptions) watch(ctx context.Context, c *etcdClient, prefix string) error {
	octx, cancel := c.opContext(ctx)
	resp, err := c.cli.Get(octx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	cancel()
	if err != nil {
		return c.wrap(ctx, "watch", prefix, err)
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	p := g.printer()
	wch := c.cli.Watch(clientv3.WithRequireLeader(wctx), prefix,
		clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
	for wr := range wch {
		if err := wr.Err(); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("etcd: watch %q: %w", prefix, err)
		}
		for _, ev := range wr.Events {
			if err := printEvent(p, ev); err != nil {
				return err
			}
		}
	}
	// The channel closes when ctx ends: an interrupt is the normal end.
	return nil
}

func printEvent(p printer, ev *clientv3.Event) error {
	kv := ev.Kv
	if ev.Type == clientv3.EventTypeDelete {
		return p.printEvent(kvJSON{Type: "DELETE", Key: string(kv.Key), Revision: kv.ModRevision}, func(w io.Writer) error {
			_, err := fmt.Fprintf(w, "DELETE %s\n", kv.Key)
			return err
		})
	}
	item := newKV(string(kv.Key), kv.Value, kv.ModRevision)
	item.Type = "PUT"
	return p.printEvent(item, func(w io.Writer) error {
		if _, err := fmt.Fprintf(w, "PUT %s ", kv.Key); err != nil {
			return err
		}
		return writeValue(w, kv.Value)
	})
}
