package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes of agentctl. They are part of its interface: scripts test them
// (docs/agentctl.md, "Errors and exit codes").
const (
	exitOK = 0
	// exitError: the command failed (a missing key, an error from etcd or
	// the agent).
	exitError = 1
	// exitUsage: wrong arguments or flags, or a bad flag value from the
	// environment.
	exitUsage = 2
	// exitUnavailable: etcd or the agent did not answer within --timeout.
	exitUnavailable = 4
)

// Exit codes of commands that give a verdict (agentctl status), instead of
// the ones above. Their codes follow the usual health-check convention, so
// that `agentctl status && deploy` and probes scripted around it read
// naturally: 0 healthy, 1 unhealthy, 2 no verdict. "No verdict" covers every
// way of not getting one (a usage error, an unreachable agent, an answer
// that is not a status), so 1 always means the agent itself said it is not
// ready.
const (
	// exitVerdictOK: the agent answered that it is ready.
	exitVerdictOK = 0
	// exitVerdictNotOK: the agent answered that it is not ready.
	exitVerdictNotOK = 1
	// exitVerdictUnknown: there is no verdict; stderr says why.
	exitVerdictUnknown = 2
	// exitVerdictNoAgents: agentctl status --all found no agent status in
	// etcd. It is not 1, so that a script can tell an empty fleet (wrong
	// endpoints, agents not started yet) from one that reports a problem.
	exitVerdictNoAgents = 3
)

// verdictAnnotation marks a command whose exit codes are the verdict codes.
const verdictAnnotation = "agentctl/exit-codes"

// usageError is a mistake in the command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// unavailableError is returned when etcd or the agent cannot be reached
// within the timeout.
type unavailableError struct{ err error }

func (e unavailableError) Error() string { return e.err.Error() }
func (e unavailableError) Unwrap() error { return e.err }

// notReadyError is returned by a command that gives a verdict when the
// agent answered that it is not ready.
type notReadyError struct{ err error }

func (e notReadyError) Error() string { return e.err.Error() }
func (e notReadyError) Unwrap() error { return e.err }

// noAgentsError is returned by agentctl status --all when etcd holds no
// agent status.
type noAgentsError struct{ err error }

func (e noAgentsError) Error() string { return e.err.Error() }
func (e noAgentsError) Unwrap() error { return e.err }

// commandExitCode maps an error returned by cmd to the exit code: the
// verdict codes for commands annotated with verdictAnnotation, exitCode
// otherwise. It is the only place that chooses exit codes.
func commandExitCode(cmd *cobra.Command, err error) int {
	if cmd == nil || cmd.Annotations[verdictAnnotation] == "" {
		return exitCode(err)
	}
	var (
		notReady notReadyError
		noAgents noAgentsError
	)
	switch {
	case err == nil:
		return exitVerdictOK
	case errors.As(err, &notReady):
		return exitVerdictNotOK
	case errors.As(err, &noAgents):
		return exitVerdictNoAgents
	default:
		return exitVerdictUnknown
	}
}

// exitCode maps an error returned by a command to the exit code of the
// common scheme.
func exitCode(err error) int {
	var (
		usage       usageError
		unavailable unavailableError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &unavailable):
		return exitUnavailable
	default:
		return exitError
	}
}

// globalOptions holds the flags every command shares, and the streams of
// the process.
type globalOptions struct {
	endpoints []string
	label     string
	host      string
	httpPort  int
	timeout   time.Duration
	output    string
	basicAuth string
	// httpTLS, httpCAFile, httpCertFile and httpKeyFile configure HTTPS to
	// the agent; tlsConfig is built from them by complete (nil: plain HTTP).
	httpTLS      bool
	httpCAFile   string
	httpCertFile string
	httpKeyFile  string
	tlsConfig    *tls.Config

	// now is the clock of the commands that show ages (status), and
	// location the time zone they show times in (nil: the local one).
	now      func() time.Time
	location *time.Location
	// buildInfo reads what the Go tool recorded in the binary (agentctl
	// version); nil means runtime/debug.ReadBuildInfo.
	buildInfo func() (*debug.BuildInfo, bool)
	// fleetPageSize overrides defaultFleetPageSize, for tests.
	fleetPageSize int
	// noted holds the deprecated environment variables already reported,
	// so that each is reported once per run.
	noted  map[string]bool
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// Output formats for -o.
const (
	outputTable = "table"
	outputJSON  = "json"
	outputYAML  = "yaml"
)

// envFlags names the environment variable of each global flag: AGENTCTL_
// and the flag's name in upper case, with _ for -. A variable applies when
// the flag is not on the command line. deprecated is the name an earlier
// agentctl read; it still applies when the new variable is not set, with a
// note on stderr.
var envFlags = []struct{ flag, env, deprecated string }{
	{"etcd-endpoints", "AGENTCTL_ETCD_ENDPOINTS", "ETCD_ENDPOINTS"},
	{"service-label", "AGENTCTL_SERVICE_LABEL", "MICROSERVICE_LABEL"},
	{"host", "AGENTCTL_HOST", "AGENT_HOST"},
	{"http-port", "AGENTCTL_HTTP_PORT", ""},
	{"http-basic-auth", "AGENTCTL_HTTP_BASIC_AUTH", ""},
	{"http-tls", "AGENTCTL_HTTP_TLS", ""},
	{"http-ca-file", "AGENTCTL_HTTP_CA_FILE", ""},
	{"http-cert-file", "AGENTCTL_HTTP_CERT_FILE", ""},
	{"http-key-file", "AGENTCTL_HTTP_KEY_FILE", ""},
	{"timeout", "AGENTCTL_TIMEOUT", ""},
	{"output", "AGENTCTL_OUTPUT", ""},
}

// run executes agentctl with args and returns the exit code. It never
// exits the process, so tests run commands in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globalOptions{now: time.Now, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	return g.execute(ctx, args)
}

// execute runs the command line args with g's streams, environment and
// clock, and returns the exit code.
func (g *globalOptions) execute(ctx context.Context, args []string) int {
	stdin, stdout, stderr := g.stdin, g.stdout, g.stderr
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "agentctl: %v\n", err)
	code := commandExitCode(cmd, err)
	var usage usageError
	if errors.As(err, &usage) && cmd != nil {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// commandName is the path of cmd without the program's name ("kvdb put"),
// for error messages, which main already prefixes with "agentctl: ". The
// root command is named by the program's name.
func commandName(cmd *cobra.Command) string {
	if !cmd.HasParent() {
		return cmd.Name()
	}
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

func newRootCmd(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "agentctl",
		Short: "Operate Plinth agents: their keys in etcd and their HTTP API",
		Long: `agentctl reads and writes the keys of Plinth agents in etcd, and talks
to a running agent over its HTTP API.

Keys that do not start with "/" are relative to the agent prefix
/vnf-agent/<service-label>/.

Exit codes: 0 success, 1 error, 2 usage, 4 etcd or the agent could not
be reached or did not answer within --timeout. agentctl status instead
exits 0 when the agent is ready, 1 when it is not, and 2 when it cannot
tell; agentctl status --all exits 3 when it finds no agent.`,
		Version:       g.version().String(),
		SilenceErrors: true,
		SilenceUsage:  true,
		// Suggest commands at most two edits away ("statu": "status").
		SuggestionsMinimumDistance: 2,
		Args:                       noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Name() == cobra.ShellCompRequestCmd || cmd.Name() == cobra.ShellCompNoDescRequestCmd {
				// The completion functions apply the options themselves,
				// after cobra parsed the command line they complete.
				return nil
			}
			return g.complete(cmd.Root().PersistentFlags())
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetVersionTemplate("{{.Version}}")
	// Declared here so that cobra adds no -v shorthand.
	root.Flags().Bool("version", false, "print the version of agentctl and exit")

	f := root.PersistentFlags()
	f.StringSliceVarP(&g.endpoints, "etcd-endpoints", "e", []string{"127.0.0.1:2379"},
		"etcd endpoints, comma-separated host:port (env AGENTCTL_ETCD_ENDPOINTS)")
	f.StringVar(&g.label, "service-label", "vpp1",
		"microservice label of the agent; relative keys live under /vnf-agent/<label>/ (env AGENTCTL_SERVICE_LABEL)")
	f.StringVarP(&g.host, "host", "H", "127.0.0.1", "host of the agent's HTTP API (env AGENTCTL_HOST)")
	f.IntVar(&g.httpPort, "http-port", 9191, "port of the agent's HTTP API (env AGENTCTL_HTTP_PORT)")
	f.StringVar(&g.basicAuth, "http-basic-auth", "",
		"credentials for the agent's HTTP API as user:pass (env AGENTCTL_HTTP_BASIC_AUTH)")
	f.BoolVar(&g.httpTLS, "http-tls", false,
		"talk HTTPS to the agent, TLS 1.2 or newer; implied by the --http-*-file flags (env AGENTCTL_HTTP_TLS)")
	f.StringVar(&g.httpCAFile, "http-ca-file", "",
		"PEM authorities that sign the agent's certificate; system roots if empty (env AGENTCTL_HTTP_CA_FILE)")
	f.StringVar(&g.httpCertFile, "http-cert-file", "",
		"PEM client certificate for agents that verify clients (env AGENTCTL_HTTP_CERT_FILE)")
	f.StringVar(&g.httpKeyFile, "http-key-file", "",
		"PEM private key of --http-cert-file (env AGENTCTL_HTTP_KEY_FILE)")
	f.DurationVar(&g.timeout, "timeout", 5*time.Second,
		"bound of every connection attempt, etcd operation and HTTP request (env AGENTCTL_TIMEOUT)")
	f.StringVarP(&g.output, "output", "o", outputTable, "output format: table, json or yaml (env AGENTCTL_OUTPUT)")

	root.AddGroup(
		&cobra.Group{ID: "agent", Title: "Running agent (HTTP API):"},
		&cobra.Group{ID: "kv", Title: "Key-value store (etcd):"},
	)
	_ = root.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return []cobra.Completion{outputTable, outputJSON, outputYAML}, cobra.ShellCompDirectiveNoFileComp
	})
	for _, c := range []*cobra.Command{newStatusCmd(g), newLogCmd(g), newProcessCmd(g), newSupervisorCmd(g), newKvdbCmd(g), newVersionCmd(g)} {
		root.AddCommand(c)
	}
	g.registerCompletions(root)
	return root
}

// complete applies the environment to flags not set on the command line
// and validates the result.
func (g *globalOptions) complete(fs *pflag.FlagSet) error {
	for _, ef := range envFlags {
		f := fs.Lookup(ef.flag)
		if f == nil || f.Changed {
			continue
		}
		name, v := ef.env, g.getenv(ef.env)
		if v == "" && ef.deprecated != "" {
			if v = g.getenv(ef.deprecated); v != "" {
				name = ef.deprecated
				g.noteDeprecated(ef.deprecated, ef.env)
			}
		}
		if v == "" {
			continue
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			// Set would append to the default of a slice flag.
			if err := sv.Replace(splitList(v)); err != nil {
				return usagef("env %s=%q: %v", name, v, err)
			}
			continue
		}
		if err := f.Value.Set(v); err != nil {
			return usagef("env %s=%q: %v", name, v, err)
		}
	}
	g.endpoints = splitList(strings.Join(g.endpoints, ","))
	if len(g.endpoints) == 0 {
		return usagef("--etcd-endpoints is empty")
	}
	if g.timeout <= 0 {
		return usagef("--timeout must be positive, got %v", g.timeout)
	}
	switch g.output {
	case outputTable, outputJSON, outputYAML:
	default:
		return usagef("--output %q: want table, json or yaml", g.output)
	}
	if g.httpPort <= 0 || g.httpPort > 65535 {
		return usagef("--http-port %d: want 1-65535", g.httpPort)
	}
	if g.basicAuth != "" && !strings.Contains(g.basicAuth, ":") {
		return usagef("--http-basic-auth: want user:pass")
	}
	if (g.httpCertFile == "") != (g.httpKeyFile == "") {
		return usagef("--http-cert-file and --http-key-file must be set together")
	}
	if g.httpTLS || g.httpCAFile != "" || g.httpCertFile != "" {
		tc, err := g.loadTLS()
		if err != nil {
			return err
		}
		g.tlsConfig = tc
	}
	return nil
}

// noteDeprecated says on stderr, once per run, that the environment
// variable old was read and is to be renamed.
func (g *globalOptions) noteDeprecated(old, replacement string) {
	if g.noted[old] {
		return
	}
	if g.noted == nil {
		g.noted = make(map[string]bool)
	}
	g.noted[old] = true
	fmt.Fprintf(g.stderr, "agentctl: %s is deprecated, set %s instead\n", old, replacement)
}

// loadTLS builds the client side of HTTPS to the agent from the --http-*
// flags.
func (g *globalOptions) loadTLS() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if g.httpCertFile != "" {
		cert, err := tls.LoadX509KeyPair(g.httpCertFile, g.httpKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--http-cert-file %q, --http-key-file %q: %w", g.httpCertFile, g.httpKeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if g.httpCAFile != "" {
		pem, err := os.ReadFile(g.httpCAFile)
		if err != nil {
			return nil, fmt.Errorf("--http-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--http-ca-file %q: no PEM certificate found", g.httpCAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// noArgs rejects any argument; used by commands that only group others, so
// that a misspelt subcommand is a usage error rather than silence. The
// error suggests the subcommands whose names are close to the argument.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	where := ""
	if cmd.HasParent() {
		where = commandName(cmd) + ": "
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	suggestions := cmd.SuggestionsFor(args[0])
	if len(suggestions) == 0 {
		return usagef("%sunknown command %q", where, args[0])
	}
	for i, s := range suggestions {
		suggestions[i] = strconv.Quote(s)
	}
	alternatives := strings.Join(suggestions, " or ")
	if len(suggestions) > 2 {
		alternatives = strings.Join(suggestions[:len(suggestions)-1], ", ") + " or " + suggestions[len(suggestions)-1]
	}
	return usagef("%sunknown command %q (did you mean %s?)", where, args[0], alternatives)
}

// argsRange accepts between min and max arguments; the error shows the
// usage line of the command.
func argsRange(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= lo && len(args) <= hi {
			return nil
		}
		want := fmt.Sprintf("%d", lo)
		switch {
		case hi > lo+1:
			want = fmt.Sprintf("%d to %d", lo, hi)
		case hi == lo+1:
			want = fmt.Sprintf("%d or %d", lo, hi)
		}
		return usagef("%s: want %s argument(s), got %d (usage: %s)", commandName(cmd), want, len(args), cmd.UseLine())
	}
}
