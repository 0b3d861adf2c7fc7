package logmanager

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fluent/fluent-logger-golang/fluent"

	"github.com/plinth-go/plinth/logging"
)

// Names of the built-in hooks, as keys of hooks: in logs.conf.
const (
	HookSyslog   = "syslog"
	HookLogstash = "logstash"
	HookFluentd  = "fluentd"
	// HookFluent is the name cn-infra used for the Fluentd hook.
	HookFluent = "fluent"
)

// ioTimeout bounds the network I/O of one attempt to send a record: the
// dial (when needed) and the write of the syslog and logstash hooks
// together, and each step (dial, write, wait for the acknowledgement) of
// the fluentd hook. A hung collector so delays its own queue, and Close,
// by at most this much per step.
const ioTimeout = 2 * time.Second

// defaultFluentdAddress is where a Fluentd forward input listens by default.
const defaultFluentdAddress = "127.0.0.1:24224"

func isBuiltin(name string) bool {
	switch name {
	case HookSyslog, HookLogstash, HookFluentd, HookFluent:
		return true
	}
	return false
}

// checkHook validates a hook entry without building or connecting it.
func (p *Plugin) checkHook(name string, hc HookConfig) error {
	switch name {
	case HookSyslog:
		return checkSyslog(hc)
	case HookLogstash:
		if hc.address() == "" {
			return errors.New("logstash needs an address (host:port)")
		}
		return checkNetwork(hc.network("tcp"), "tcp", "udp")
	case HookFluentd, HookFluent:
		return checkNetwork(hc.network("tcp"), "tcp", "unix")
	}
	if _, ok := p.custom[name]; ok {
		return nil
	}
	known := []string{HookSyslog, HookLogstash, HookFluentd}
	known = append(known, slices.Sorted(maps.Keys(p.custom))...)
	return fmt.Errorf("unknown hook %q (known: %s; register others with logmanager.WithHook)", name, strings.Join(known, ", "))
}

func checkNetwork(network string, valid ...string) error {
	if slices.Contains(valid, network) {
		return nil
	}
	return fmt.Errorf("network %q not supported (valid: %s)", network, strings.Join(valid, ", "))
}

// newHook builds the hook named name; hc has its tag and levels set.
func (p *Plugin) newHook(name string, hc HookConfig) (logging.Hook, error) {
	switch name {
	case HookSyslog:
		return newSyslogHook(hc)
	case HookLogstash:
		return newLogstashHook(hc), nil
	case HookFluentd, HookFluent:
		return newFluentdHook(hc)
	}
	return p.custom[name](hc)
}

// plainValue turns a field value into something every encoder writes
// legibly: errors become their message, and types JSON or msgpack would
// write as {} or reject become their fmt form.
func plainValue(v any) any {
	switch v := v.(type) {
	case nil, string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return v
	case error:
		return v.Error()
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case time.Duration:
		return v.String()
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprint(v)
}

// logstashHook writes one JSON object per line to Logstash's tcp or udp
// input with the json_lines codec (one datagram per record over udp).
type logstashHook struct {
	address, tag string
	levels       []logging.Level

	mu   sync.Mutex // guards conn
	conn collectorConn
}

func newLogstashHook(hc HookConfig) *logstashHook {
	return &logstashHook{
		address: hc.address(),
		tag:     hc.Tag,
		levels:  hc.Levels,
		conn:    collectorConn{dial: dialTo(hc.network("tcp"), hc.address())},
	}
}

func (h *logstashHook) Levels() []logging.Level { return h.levels }

// logstashReserved are the keys of the record itself; a field with one of
// these names is written as "fields.<name>".
var logstashReserved = map[string]bool{
	"@timestamp": true, "@version": true, "message": true, "level": true, "logger": true, "type": true,
}

func (h *logstashHook) encode(r *logging.Record) ([]byte, error) {
	doc := make(map[string]any, len(r.Fields)+6)
	for k, v := range r.Fields {
		if logstashReserved[k] {
			k = "fields." + k
		}
		doc[k] = plainValue(v)
	}
	doc["@timestamp"] = r.Time.UTC().Format(time.RFC3339Nano)
	doc["@version"] = "1"
	doc["message"] = r.Message
	doc["level"] = r.Level.String()
	doc["logger"] = r.Logger
	doc["type"] = h.tag
	line, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("logstash: encode record: %w", err)
	}
	return append(line, '\n'), nil
}

// Fire sends r, dialling first if needed, within ioTimeout. A failed dial
// or write returns the error and closes the connection, so the next Fire
// (the AsyncHook's retry) dials again.
func (h *logstashHook) Fire(r *logging.Record) error {
	line, err := h.encode(r)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.conn.write(line); err != nil {
		return fmt.Errorf("logstash: send to %s: %w", h.address, err)
	}
	return nil
}

func (h *logstashHook) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conn.close()
}

// fluentdHook sends records with the Fluentd forward protocol, using the
// client in synchronous mode: the AsyncHook it runs behind provides the
// queue and the retries, so the client makes one attempt per record. With
// RequestAck, an attempt succeeds only once Fluentd acknowledged the
// record.
type fluentdHook struct {
	cfg    fluent.Config
	tag    string
	levels []logging.Level

	mu     sync.Mutex     // guards client
	client *fluent.Fluent // nil until the first record connects
}

func newFluentdHook(hc HookConfig) (*fluentdHook, error) {
	cfg := fluent.Config{
		Timeout:      ioTimeout,
		WriteTimeout: ioTimeout,
		// Only acknowledgements are read; without a deadline a Fluentd
		// that accepts a record and never answers would hold the hook.
		ReadTimeout: ioTimeout,
		RequestAck:  hc.RequireAckResponse,
		MaxRetry:    1,
	}
	network := hc.network("tcp")
	addr := hc.address()
	switch network {
	case "unix":
		if addr == "" {
			return nil, errors.New("fluentd over unix needs the socket path as address")
		}
		cfg.FluentNetwork, cfg.FluentSocketPath = "unix", addr
	default:
		if addr == "" {
			addr = defaultFluentdAddress
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("fluentd address %q: %w", addr, err)
		}
		n, err := strconv.Atoi(port)
		if err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("fluentd address %q: bad port", addr)
		}
		cfg.FluentNetwork, cfg.FluentHost, cfg.FluentPort = "tcp", host, n
	}
	return &fluentdHook{cfg: cfg, tag: hc.Tag, levels: hc.Levels}, nil
}

func (h *fluentdHook) Levels() []logging.Level { return h.levels }

// Fire sends r as the event {message, level, logger, fields…} under the
// hook's tag. After a failed write or acknowledgement the client closes
// its connection and dials again on the next Fire.
func (h *fluentdHook) Fire(r *logging.Record) error {
	event := make(map[string]any, len(r.Fields)+3)
	for k, v := range r.Fields {
		event[k] = plainValue(v)
	}
	event["message"] = r.Message
	event["level"] = r.Level.String()
	event["logger"] = r.Logger

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.client == nil {
		c, err := fluent.New(h.cfg)
		if err != nil {
			return fmt.Errorf("fluentd: %w", err)
		}
		h.client = c
	}
	if err := h.client.PostWithTime(h.tag, r.Time, event); err != nil {
		return fmt.Errorf("fluentd: %w", err)
	}
	return nil
}

func (h *fluentdHook) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.client == nil {
		return nil
	}
	err := h.client.Close()
	h.client = nil
	return err
}
