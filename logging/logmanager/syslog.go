//go:build !windows && !plan9

package logmanager

import (
	"fmt"
	"log/syslog"
	"maps"
	"slices"
	"strings"
	"sync"

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

// syslogHook writes records to the local or a remote syslog daemon.
// log/syslog reconnects by itself after a failed write.
type syslogHook struct {
	network, address, tag string
	levels                []logging.Level

	mu sync.Mutex     // guards w
	w  *syslog.Writer // nil until the first record connects
}

func newSyslogHook(hc HookConfig) (*syslogHook, error) {
	if err := checkSyslog(hc); err != nil {
		return nil, err
	}
	return &syslogHook{
		network: hc.network(defaultSyslogNetwork(hc)),
		address: hc.address(),
		tag:     hc.Tag,
		levels:  hc.Levels,
	}, nil
}

func (h *syslogHook) Levels() []logging.Level { return h.levels }

// Fire writes r with the syslog severity of its level, as
// "[logger] message key=value …".
func (h *syslogHook) Fire(r *logging.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.w == nil {
		w, err := syslog.Dial(h.network, h.address, syslog.LOG_INFO|syslog.LOG_USER, h.tag)
		if err != nil {
			return fmt.Errorf("syslog: %w", err)
		}
		h.w = w
	}
	msg := syslogText(r)
	var err error
	switch r.Level {
	case logging.PanicLevel, logging.FatalLevel:
		err = h.w.Crit(msg)
	case logging.ErrorLevel:
		err = h.w.Err(msg)
	case logging.WarnLevel:
		err = h.w.Warning(msg)
	case logging.InfoLevel:
		err = h.w.Info(msg)
	default:
		err = h.w.Debug(msg)
	}
	if err != nil {
		return fmt.Errorf("syslog: %w", err)
	}
	return nil
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
	if h.w == nil {
		return nil
	}
	err := h.w.Close()
	h.w = nil
	return err
}
