package fleetsim

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Root is the prefix under which every agent keeps its keys.
const Root = "/vnf-agent/"

// Status is what a status key says.
type Status struct {
	State int // 0 INIT, 1 OK, 2 ERROR
	Error string
}

// ParseKey splits a status key into the agent's label and "agent" or
// "plugin/<name>"; ok is false for any other key.
func ParseKey(key string) (label, what string, ok bool) {
	rest, ok := strings.CutPrefix(key, Root)
	if !ok {
		return "", "", false
	}
	label, what, ok = strings.Cut(rest, "/check/status/v1/")
	if !ok || label == "" || strings.Contains(label, "/") || what == "" {
		return "", "", false
	}
	return label, what, true
}

var stateNames = map[string]int{"INIT": 0, "OK": 1, "ERROR": 2}

// ParseStatus decodes a status value; the state is a number or its name.
func ParseStatus(value []byte) (Status, error) {
	var v struct {
		State json.RawMessage `json:"state"`
		Error string          `json:"error"`
	}
	if err := json.Unmarshal(value, &v); err != nil {
		return Status{}, fmt.Errorf("status %q: %w", value, err)
	}
	s := Status{Error: v.Error}
	if len(v.State) == 0 {
		return s, nil // INIT, left out by the encoder
	}
	if err := json.Unmarshal(v.State, &s.State); err == nil {
		return s, nil
	}
	var name string
	if err := json.Unmarshal(v.State, &name); err != nil {
		return Status{}, fmt.Errorf("status %q: state %s", value, v.State)
	}
	n, ok := stateNames[name]
	if !ok {
		return Status{}, fmt.Errorf("status %q: state %q", value, name)
	}
	s.State = n
	return s, nil
}

// Event is one change of a status key, as a fleet watcher reports it.
type Event struct {
	At     time.Time // when the watcher received it
	Label  string
	What   string // "agent" or "plugin/<name>"
	Delete bool
	Status Status
}

// String formats e as one line that ParseEvent reads back.
func (e Event) String() string {
	kind := "put"
	if e.Delete {
		kind = "delete"
	}
	return fmt.Sprintf("ev %d %s %s %s %d %s", e.At.UnixNano(), kind, e.Label, e.What, e.Status.State, strconv.Quote(e.Status.Error))
}

// ParseEvent reads a line written by Event.String.
func ParseEvent(line string) (Event, error) {
	f := strings.SplitN(line, " ", 7)
	if len(f) != 7 || f[0] != "ev" {
		return Event{}, fmt.Errorf("event line %q", line)
	}
	ns, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return Event{}, fmt.Errorf("event line %q: %w", line, err)
	}
	state, err := strconv.Atoi(f[5])
	if err != nil {
		return Event{}, fmt.Errorf("event line %q: %w", line, err)
	}
	text, err := strconv.Unquote(f[6])
	if err != nil {
		return Event{}, fmt.Errorf("event line %q: %w", line, err)
	}
	return Event{At: time.Unix(0, ns), Delete: f[2] == "delete", Label: f[3], What: f[4], Status: Status{State: state, Error: text}}, nil
}

// Watch follows every status key under Root with one etcd watch, from the
// current revision on, and calls fn for each change until ctx ends or the
// watch fails.
func Watch(ctx context.Context, cli *clientv3.Client, fn func(Event)) error {
	resp, err := cli.Get(ctx, Root, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return err
	}
	for wr := range cli.Watch(ctx, Root, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1)) {
		at := time.Now()
		if err := wr.Err(); err != nil {
			return err
		}
		for _, ev := range wr.Events {
			label, what, ok := ParseKey(string(ev.Kv.Key))
			if !ok {
				continue
			}
			e := Event{At: at, Label: label, What: what, Delete: ev.Type == clientv3.EventTypeDelete}
			if !e.Delete {
				if e.Status, err = ParseStatus(ev.Kv.Value); err != nil {
					return err
				}
			}
			fn(e)
		}
	}
	return ctx.Err()
}

// RunWatcher is the watcher process: it watches the cluster at endpoints
// and writes one line per event to out (see Event.String), after a first
// line "watching".
func RunWatcher(ctx context.Context, endpoints []string, out io.Writer) error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Context: ctx})
	if err != nil {
		return err
	}
	defer cli.Close()
	w := bufio.NewWriter(out)
	if _, err := fmt.Fprintln(w, "watching"); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return Watch(ctx, cli, func(e Event) {
		fmt.Fprintln(w, e.String())
		_ = w.Flush()
	})
}

// Metric returns the sum of the samples of a Prometheus counter or gauge
// named name in the text exposition at url.
func Metric(ctx context.Context, url, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest != "" && rest[0] != ' ' && rest[0] != '{' {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %q: %w", url, line, err)
		}
		sum += v
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("%s: no metric %s", url, name)
	}
	return sum, nil
}

// RSS returns the resident memory of process pid in bytes.
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("pid %d: no VmRSS", pid)
}
