// Package config finds, reads and strictly decodes the configuration of an
// agent's plugins: one YAML file per plugin, plus command-line flags and
// environment variables.
//
// # Usage
//
// An agent creates one [Source] on its own [flag.FlagSet] and asks it for a
// [PluginConfig] per plugin before parsing the command line:
//
//	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
//	src := config.NewSource(fs, nil)   // registers -config-dir
//	cfg := src.ForPlugin("http")       // registers -http-config
//	_ = fs.Parse(os.Args[1:])
//
//	c := Config{Endpoint: "0.0.0.0:9191"} // built-in defaults
//	found, err := cfg.LoadValue(&c)       // the file overrides them
//
// # Choosing the file
//
// The file of plugin "http" is, in order of preference:
//
//  1. the value of the -http-config flag, when it is set on the command line;
//  2. the value of the HTTP_CONFIG environment variable, when it is not empty;
//  3. http.conf (see [Filename]).
//
// A relative path is taken relative to the config directory: the -config-dir
// flag, else the CONFIG_DIR environment variable, else ".". An absolute path
// is used as is. A file named by a flag or an environment variable must exist:
// [PluginConfig.LoadValue] returns an error wrapping [ErrNotFound] when it
// does not. Only the default file may be missing, in which case LoadValue
// reports found=false and leaves the defaults alone. A config directory
// named by flag or environment must exist too, so that a misspelt directory
// is not mistaken for missing default files. Setting the flag to the empty
// string (-http-config=) turns the file off.
//
// # Precedence
//
// From weakest to strongest: built-in defaults < config file < environment <
// command-line flag < options set in code. The package provides the steps and
// the plugin applies them in that order: fill a struct with defaults, call
// LoadValue on it, then override single settings with
// [PluginConfig.Lookup], and finally apply options given in code. See the
// example of [Source.ForPlugin].
//
// # Format
//
// Config structs use yaml struct tags with kebab-case keys
// (`yaml:"dial-timeout"`); see [gopkg.in/yaml.v3] for the tag options.
// Durations are strings with a unit, such as "5s", "250ms" or "1h30m"; a bare
// number is rejected because its unit would be a guess. An empty file is
// valid and keeps every default.
//
// # Errors
//
// Decoding is strict: an unknown key, a value of the wrong type, invalid YAML
// or a second YAML document in the file is an error. Each problem is an
// [*Error] naming the file, the line and the key, for example
//
//	http.conf:3: unknown key "endpiont" in http config
//	etcd.conf:2: key "dial-timeout": cannot parse "5x" as duration
//
// The line and the key come from the node tree of the document, not from
// the text of the YAML library's messages. A file with several problems
// yields an [errors.Join] of them, one per line; [errors.As] finds the
// first. A file with errors leaves the decoded value unchanged.
//
// A config struct whose settings need checks beyond their types (a string
// naming one of a few choices) implements [Checker]; its errors are placed
// at the line of the key they name.
//
// # Concurrency
//
// A Source and its PluginConfigs are safe for concurrent use once the
// FlagSet has been parsed; ForPlugin must be called before parsing. Nothing
// in this package uses global state: two agents in one process each have
// their own Source.
package config
