//go:build !windows && !plan9

package logmanager

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/plinth-go/plinth/logging"
)

func checkSyslog(hc HookConfig) error {
	network := hc.network(defaultSyslogNetwork(hc))
	if hc.address() == "" {
		if network != "" && hc.Network+hc.Protocol != "" {
			return fmt.Errorf("network %q needs an address; leave both empty for the local syslog", network)
		}
		return nil
	}
	return checkNetwork(network, "udp", "tcp", "unix", "unixgram")
}

// defaultSyslogNetwork is udp for a remote syslog, the transport of RFC
// 3164, and "" (the local daemon's socket) without an address.
func defaultSyslogNetwork(hc HookConfig) string {
	if hc.address() == "" {
		return ""
	}
	return "udp"
}

// localSyslogPaths are where syslog daemons listen on Linux, macOS and the
// BSDs; the hook tries them in order, datagram socket first.
var localSyslogPaths = []string{"/dev/log", "/var/run/syslog", "/var/run/log"}

// Syslog priorities are the facility times 8 plus a severity; the hook
// writes as facility user (1).
const (
	facilityUser  = 1 << 3
	severityCrit  = 2
	severityErr   = 3
	severityWarn  = 4
	severityInfo  = 6
	severityDebug = 7
)

// syslogHook writes records to the local or a remote syslog daemon, in the
// format of the standard library's log/syslog: "<PRI>stamp tag[pid]: text"
// to a local socket, "<PRI>stamp hostname tag[pid]: text" over the network,
// each record ending with a newline (which also frames it over tcp).
type syslogHook struct {
	tag    string
	local  bool   // the daemon is on this host: the local format
	host   string // written in the remote format
	pid    int
	levels []logging.Level

	mu   sync.Mutex // guards conn
	conn collectorConn
}

func newSyslogHook(hc HookConfig) (*syslogHook, error) {
	if err := checkSyslog(hc); err != nil {
		return nil, err
	}
	network, address := hc.network(defaultSyslogNetwork(hc)), hc.address()
	h := &syslogHook{tag: hc.Tag, pid: os.Getpid(), levels: hc.Levels}
	switch network {
	case "":
		h.local = true
		h.conn.dial = dialLocalSyslog
	case "unix", "unixgram":
		h.local = true
		h.conn.dial = dialTo(network, address)
	default:
		h.host, _ = os.Hostname()
		h.conn.dial = dialTo(network, address)
	}
	return h, nil
}

// dialLocalSyslog connects to the first local syslog socket that answers.
func dialLocalSyslog(d *net.Dialer) (net.Conn, string, error) {
	var errs []error
	for _, path := range localSyslogPaths {
		for _, network := range []string{"unixgram", "unix"} {
			conn, err := d.Dial(network, path)
			if err == nil {
				return conn, network, nil
			}
			errs = append(errs, err)
		}
	}
	return nil, "", fmt.Errorf("no local syslog daemon: %w", errors.Join(errs...))
}

func (h *syslogHook) Levels() []logging.Level { return h.levels }

// Fire writes r with the syslog severity of its level, as
// "[logger] message key=value …", within ioTimeout. A failed dial or write
// returns the error and closes the connection, so the next Fire (the
// AsyncHook's retry) dials again.
func (h *syslogHook) Fire(r *logging.Record) error {
	msg := h.format(r)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.conn.write(msg); err != nil {
		return fmt.Errorf("syslog: %w", err)
	}
	return nil
}

func severity(l logging.Level) int {
	switch l {
	case logging.PanicLevel, logging.FatalLevel:
		return severityCrit
	case logging.ErrorLevel:
		return severityErr
	case logging.WarnLevel:
		return severityWarn
	case logging.InfoLevel:
		return severityInfo
	}
	return severityDebug
}

// format returns the syslog message of r, newline included.
func (h *syslogHook) format(r *logging.Record) []byte {
	var b []byte
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(facilityUser|severity(r.Level)), 10)
	b = append(b, '>')
	if h.local {
		// What local daemons expect (RFC 3164): "Jan _2 15:04:05".
		b = r.Time.AppendFormat(b, time.Stamp)
	} else {
		b = r.Time.AppendFormat(b, time.RFC3339)
		b = append(b, ' ')
		b = append(b, h.host...)
	}
	b = append(b, ' ')
	b = append(b, h.tag...)
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(h.pid), 10)
	b = append(b, "]: "...)
	text := syslogText(r)
	b = append(b, text...)
	if !strings.HasSuffix(text, "\n") {
		b = append(b, '\n')
	}
	return b
}

func syslogText(r *logging.Record) string {
	var b strings.Builder
	b.WriteString("[")
	b.WriteString(r.Logger)
	b.WriteString("] ")
	b.WriteString(r.Message)
	for _, k := range slices.Sorted(maps.Keys(r.Fields)) {
		fmt.Fprintf(&b, " %s=%v", k, plainValue(r.Fields[k]))
	}
	return b.String()
}

func (h *syslogHook) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conn.close()
}
