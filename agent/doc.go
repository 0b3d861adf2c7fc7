// Package agent runs plugins: it finds them through struct fields, fills
// their dependencies, starts them dependencies first and stops them in
// reverse order.
//
// # Wiring
//
// [New] takes the plugins given to [AllPlugins] and follows their exported
// fields (embedded structs such as a plugin's Deps, pointers, interfaces and
// slices) to every plugin reachable from them. A plugin found twice is the
// same plugin. Then, for every plugin:
//
//   - infra.PluginDeps gets a logger named after the plugin and the plugin's
//     config file (see package infra/config);
//   - a nil exported field whose type is a non-empty interface or a pointer
//     to a plugin type is filled with the single plugin of the agent that
//     satisfies it, a field of type *logging.Registry with the agent's
//     registry, and a field of type *infra.AgentInfo with the agent's name,
//     build version and plugin list. A field tagged `plinth:"optional"`
//     stays nil when no plugin provides its type; a field tagged
//     `plinth:"-"` is ignored.
//
// Each filled or followed field is a dependency: its plugin starts first.
// Two kinds of fields are filled or followed like any other but are not
// start dependencies, which lets two plugins use each other without a cycle:
//
//   - a field whose type is an interface the plugin it holds may be called
//     through at any time, as that plugin declares by implementing
//     [UnorderedProvider] (a status check that collects reports, for one);
//   - a field tagged `plinth:"unordered"`, whose plugin is used only from
//     AfterInit on, or is safe to call before its Init.
//
// The tag `plinth:"ordered"` makes a field of the first kind a start
// dependency again. The start order puts dependencies first and is otherwise
// stable: roots in the order given, dependencies in field order.
// [Agent.Graph] and [Agent.DOT] show it, with the unordered fields.
//
// Wiring errors come from New and name the field involved: a dependency
// cycle ("a -> b -> a"), a field no plugin provides or that several provide
// ([InjectionError]), two plugins with one name, a flag defined twice.
//
// # Flags and environment
//
// The agent owns a [flag.FlagSet]; nothing is defined on the global one and
// flag.Parse is never called. New defines -config-dir, -<plugin>-config for
// every plugin that embeds infra.PluginDeps, and the flags of plugins that
// implement infra.FlagRegistrar, then parses os.Args[1:] (or [Args]). The
// environment variable INITIAL_LOGLVL sets the level of every logger.
//
// # Lifecycle
//
// [Agent.Start] calls Init on every plugin, then AfterInit on those that
// implement infra.PostInit, within the start timeout. With [ParallelInit], a
// plugin starts as soon as its dependencies have. If a call fails, panics or
// the timeout passes, the plugins already initialised are closed in reverse
// order (rollback) and Start returns an error naming the plugin
// ([PluginError]). [Agent.Stop] calls Close on every started plugin in
// reverse order, also when some fail, and joins their errors. [Agent.Run]
// starts, waits for SIGINT or SIGTERM (see [QuitSignals]), the [Context] or a
// Stop, and stops; a second signal during the stop makes it return at once.
// The package never calls os.Exit.
//
// Two agents can run in one process: an agent shares nothing with another.
package agent
