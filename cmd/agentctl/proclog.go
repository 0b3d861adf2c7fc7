package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// supervisorLogPathFmt is served by the supervisor plugin: the last lines
// of a program's log (GET, text/plain), or with follow=1 those lines and
// then every new one, as a text/event-stream of one data event per line.
const supervisorLogPathFmt = "/supervisor/programs/%s/log?tail=%d&stream=%s" // name (path-escaped), lines, stream

// Bounds of agentctl process log -n, those of the agent.
const (
	defaultLogLines = 100
	maxLogLines     = 10000
)

// processLogOptions are the flags of agentctl process log.
type processLogOptions struct {
	lines  int
	follow bool
	stderr bool
}

// logJSON is what agentctl process log -o json prints; with --follow, one
// logLineJSON per line instead.
type logJSON struct {
	Program string   `json:"program"`
	Stream  string   `json:"stream"`
	Lines   []string `json:"lines"`
}

type logLineJSON struct {
	Program string `json:"program"`
	Stream  string `json:"stream"`
	Line    string `json:"line"`
}

func newProcessLogCmd(g *globalOptions) *cobra.Command {
	o := &processLogOptions{}
	cmd := &cobra.Command{
		Use:   "log PROGRAM",
		Short: "Print the last lines of a supervised program's log, and follow it with -f",
		Long: `Print the last lines of the log file of a program of the agent's supervisor
(its logfile-path in supervisor.conf): its standard output, or with
--stderr its standard error. With -f, print them and then every new line
as the program writes it, until interrupted (Ctrl-C), which ends it with
exit 0; --timeout then bounds only the connection to the agent.`,
		Example: `  agentctl process log vpp
  agentctl process log vpp -n 500 --stderr
  agentctl process log vpp -f`,
		Args: argsRange(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.processLog(cmd, args[0], o)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.lines, "lines", "n", defaultLogLines, fmt.Sprintf("how many of the last lines to print, 1 to %d", maxLogLines))
	f.BoolVarP(&o.follow, "follow", "f", false, "print the new lines as they come, until interrupted")
	f.BoolVar(&o.stderr, "stderr", false, "the log of the program's standard error instead of its standard output")
	return cmd
}

func (g *globalOptions) processLog(cmd *cobra.Command, name string, o *processLogOptions) error {
	if strings.TrimSpace(name) == "" {
		return usagef("%s: PROGRAM is empty (usage: %s)", commandName(cmd), cmd.UseLine())
	}
	if o.lines < 1 || o.lines > maxLogLines {
		return usagef("%s: -n %d: want 1 to %d", commandName(cmd), o.lines, maxLogLines)
	}
	stream := "stdout"
	if o.stderr {
		stream = "stderr"
	}
	path := fmt.Sprintf(supervisorLogPathFmt, url.PathEscape(name), o.lines, stream)
	ctx := cmd.Context()
	c := g.agentClient()
	if o.follow {
		return g.followLog(ctx, c, name, stream, path+"&follow=1")
	}
	resp, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if resp.Status != http.StatusOK {
		return logError(ctx, c, name, stream, path, resp)
	}
	text := string(resp.Body)
	lines := []string{}
	if text != "" {
		lines = strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	}
	return g.printer().print(logJSON{Program: name, Stream: stream, Lines: lines}, func(w io.Writer) error {
		return writeValue(w, resp.Body)
	})
}

// followLog prints the lines of the log stream at path as they come, until
// ctx ends (an interrupt: no error) or the agent ends the stream (an error).
func (g *globalOptions) followLog(ctx context.Context, c *agentClient, name, stream, path string) error {
	s, resp, err := c.stream(ctx, path, "text/event-stream")
	if err != nil {
		return err
	}
	if resp != nil {
		return logError(ctx, c, name, stream, path, resp)
	}
	defer s.Close()
	p := g.printer()
	err = readEvents(s.Body, func(line string) error {
		return p.printEvent(logLineJSON{Program: name, Stream: stream, Line: line}, func(w io.Writer) error {
			_, err := io.WriteString(w, line+"\n")
			return err
		})
	})
	switch {
	case ctx.Err() != nil:
		// An interrupt is the normal end.
		return nil
	case err == nil:
		return fmt.Errorf("agent: the %s log stream of program %q ended (the agent stopped, or the program was removed)", stream, name)
	case errors.Is(err, errWrite):
		return err
	default:
		return unavailableError{fmt.Errorf("agent: the %s log stream of program %q broke: %v", stream, name, rootCause(err))}
	}
}

// errWrite marks a failure to print, which ends a stream as much as a
// failure to read it does, but is not the agent's.
var errWrite = errors.New("print")

// readEvents reads a text/event-stream and calls each with the data of
// every event, its data lines joined by "\n". Comments, ids, event types
// and retry fields are skipped. It returns nil at the end of the stream,
// the error of each wrapped with errWrite, or the error of reading.
func readEvents(r io.Reader, each func(data string) error) error {
	br := bufio.NewReader(r)
	var (
		data    strings.Builder
		hasData bool
	)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			// An event is dispatched only by its blank line: a stream that
			// ends amid one loses it, as browsers do.
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			if hasData {
				if err := each(data.String()); err != nil {
					return fmt.Errorf("%w: %w", errWrite, err)
				}
			}
			data.Reset()
			hasData = false
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		if field != "data" {
			continue // a comment (empty field), event, id or retry
		}
		if hasData {
			data.WriteByte('\n')
		}
		data.WriteString(strings.TrimPrefix(value, " "))
		hasData = true
	}
}

// logError explains an answer other than 200 to a request for the log of
// program name: an unknown program, a program without a log file, or an
// agent whose supervisor does not serve logs.
func logError(ctx context.Context, c *agentClient, name, stream, path string, resp *agentResponse) error {
	msg, isJSON := resp.message()
	switch resp.Status {
	case http.StatusNotFound:
		if !isJSON && msg == "404 page not found" {
			// The router's answer, not the supervisor's.
			return fmt.Errorf("%w (does the agent have the supervisor plugin, in a version that serves program logs?)",
				resp.error(http.MethodGet, path))
		}
		// The supervisor says why; whether it knows the program tells
		// which of the two reasons it is.
		var programs []programJSON
		if c.getJSON(ctx, supervisorProgramsPath, &programs) == nil {
			if !slices.ContainsFunc(programs, func(p programJSON) bool { return p.Name == name }) {
				return fmt.Errorf("unknown program %q (agentctl process list shows the programs)", name)
			}
			// The supervisor's message may say what to set already.
			if strings.Contains(msg, "set logfile-path") {
				return fmt.Errorf("program %q has no %s log: %s", name, stream, msg)
			}
			return fmt.Errorf("program %q has no %s log: %s (set its logfile-path in supervisor.conf)", name, stream, msg)
		}
		return fmt.Errorf("no %s log of program %q: %s", stream, name, msg)
	case http.StatusMethodNotAllowed:
		return fmt.Errorf("%w (the agent's supervisor does not serve program logs: an older version?)",
			resp.error(http.MethodGet, path))
	default:
		return resp.error(http.MethodGet, path)
	}
}
