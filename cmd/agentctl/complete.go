package main

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// completionTimeout bounds what a completion asks etcd or the agent (or
// --timeout, when shorter): the shell waits for the answer, and the user
// for the shell.
const completionTimeout = time.Second

// completionKeyLimit bounds the keys a key completion reads from etcd.
const completionKeyLimit = 2000

// completionFunc completes the arguments of a command, or the value of a
// flag.
type completionFunc = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective)

// completionContext applies the environment and checks the options, as a
// command does before it runs, and returns a context bounded by
// completionTimeout. ok is false when the options are wrong: the
// completion then offers nothing, and explains nothing either, since the
// shell would print it amid the command line.
func (g *globalOptions) completionContext(cmd *cobra.Command) (ctx context.Context, cancel context.CancelFunc, ok bool) {
	stderr := g.stderr
	g.stderr = discard{} // no deprecation note in the middle of a prompt
	err := g.complete(cmd.Root().PersistentFlags())
	g.stderr = stderr
	if err != nil {
		return nil, nil, false
	}
	g.timeout = min(g.timeout, completionTimeout)
	parent := cmd.Context()
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel = context.WithTimeout(parent, g.timeout)
	return ctx, cancel, true
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// completeFirstArg completes the first argument with names and nothing
// after it.
func completeFirstArg(names func(cmd *cobra.Command, toComplete string) []cobra.Completion) completionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return names(cmd, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// programNames lists the programs of the agent's supervisor, or, for an
// agent without one, the processes of its process manager. It returns
// nothing when the agent does not answer in time.
func (g *globalOptions) programNames(cmd *cobra.Command, _ string) []cobra.Completion {
	ctx, cancel, ok := g.completionContext(cmd)
	if !ok {
		return nil
	}
	defer cancel()
	c := g.agentClient()
	var named []struct {
		Name string `json:"name"`
	}
	if err := c.getJSON(ctx, supervisorProgramsPath, &named); err != nil {
		named = nil
		if c.getJSON(ctx, processListPath, &named) != nil {
			return nil
		}
	}
	var out []cobra.Completion
	for _, n := range named {
		if n.Name != "" {
			out = append(out, n.Name)
		}
	}
	return out
}

// loggerNames lists the agent's loggers, each with its level as the
// description. It returns nothing when the agent does not answer in time.
func (g *globalOptions) loggerNames(cmd *cobra.Command, _ string) []cobra.Completion {
	ctx, cancel, ok := g.completionContext(cmd)
	if !ok {
		return nil
	}
	defer cancel()
	var loggers []loggerLevel
	if g.agentClient().getJSON(ctx, logListPath, &loggers) != nil {
		return nil
	}
	slices.SortFunc(loggers, func(a, b loggerLevel) int { return strings.Compare(a.Logger, b.Logger) })
	out := make([]cobra.Completion, 0, len(loggers))
	for _, l := range loggers {
		out = append(out, cobra.CompletionWithDesc(l.Logger, l.Level))
	}
	return out
}

// completeKey completes a KEY or PREFIX argument from the keys in etcd, one
// path segment at a time: "che" becomes "check/", and a relative key stays
// relative. It offers nothing when etcd does not answer in time.
func (g *globalOptions) completeKey(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	const directive = cobra.ShellCompDirectiveNoFileComp
	if len(args) > 0 {
		return nil, directive
	}
	ctx, cancel, ok := g.completionContext(cmd)
	if !ok {
		return nil, directive
	}
	defer cancel()
	full, err := expandKey(g.label, toComplete)
	if err != nil {
		return nil, directive
	}
	c, err := g.connect(ctx)
	if err != nil {
		return nil, directive
	}
	defer c.Close()
	octx, ocancel := c.opContext(ctx)
	defer ocancel()
	resp, err := c.cli.Get(octx, full, clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithLimit(completionKeyLimit), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, directive
	}
	var out []cobra.Completion
	partial := false
	for _, kv := range resp.Kvs {
		rest := string(kv.Key[len(full):])
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i+1]
			partial = true
		}
		if cand := toComplete + rest; len(out) == 0 || out[len(out)-1] != cand {
			out = append(out, cand) // sorted, so duplicates are adjacent
		}
	}
	if partial {
		// A segment ending with "/" is not a whole key: let the user go on
		// typing after it.
		return out, directive | cobra.ShellCompDirectiveNoSpace
	}
	return out, directive
}

// completeLogSet completes the LOGGER, then the LEVEL of agentctl log set.
func (g *globalOptions) completeLogSet(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
		return g.loggerNames(cmd, toComplete), cobra.ShellCompDirectiveNoFileComp
	case 1:
		return logLevels, cobra.ShellCompDirectiveNoFileComp
	default:
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// registerCompletions sets the completion of the arguments of every
// command under root that takes some.
func (g *globalOptions) registerCompletions(root *cobra.Command) {
	keys := g.completeKey
	programs := completeFirstArg(g.programNames)
	byPath := map[string]completionFunc{
		"kvdb get":        keys,
		"kvdb put":        keys,
		"kvdb del":        keys,
		"kvdb list":       keys,
		"kvdb watch":      keys,
		"log list":        completeFirstArg(g.loggerNames),
		"log set":         g.completeLogSet,
		"process start":   programs,
		"process stop":    programs,
		"process restart": programs,
		"process log":     programs,
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if f, ok := byPath[commandName(c)]; ok {
			c.ValidArgsFunction = f
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
