package logmanager

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/plinth-go/plinth/logging"
)

// FuzzParseSetLevel checks the parsing of /log/{logger}/{level}: it never
// panics, accepts exactly the levels logging.ParseLevel accepts, returns
// the logger name unchanged, and never accepts a name the registry could
// not list cleanly (empty, not UTF-8, with spaces or control characters).
// Seeds are under testdata/fuzz/FuzzParseSetLevel.
func FuzzParseSetLevel(f *testing.F) {
	f.Add("etcd", "debug")
	f.Fuzz(func(t *testing.T, logger, level string) {
		name, lvl, err := parseSetLevel(logger, level)
		want, levelErr := logging.ParseLevel(level)
		if levelErr != nil {
			if err == nil {
				t.Fatalf("parseSetLevel(%q, %q) accepted a level ParseLevel rejects", logger, level)
			}
			return
		}
		if err != nil {
			if plainASCII(logger) {
				t.Fatalf("parseSetLevel(%q, %q) rejected a plain name: %v", logger, level, err)
			}
			return
		}
		if name != logger || lvl != want {
			t.Fatalf("parseSetLevel(%q, %q) = %q, %v; want %q, %v", logger, level, name, lvl, logger, want)
		}
		if name == "" || !utf8.ValidString(name) || strings.ContainsAny(name, " \t\r\n\x00") {
			t.Fatalf("parseSetLevel accepted the name %q", name)
		}
		// The level written back in the response parses to itself.
		if back, err := logging.ParseLevel(lvl.String()); err != nil || back != lvl {
			t.Fatalf("level %v does not round-trip: %v, %v", lvl, back, err)
		}
	})
}

// plainASCII reports whether name is a short, non-empty run of printable
// ASCII without spaces: a name every check must accept.
func plainASCII(name string) bool {
	if name == "" || len(name) > maxLoggerName {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] <= ' ' || name[i] >= 0x7f {
			return false
		}
	}
	return true
}
