package model_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/plinth-go/plinth/health/statuscheck/model"
)

// The reference below is the hand-written encoder the package used before it
// switched to encoding/json, kept as the definition of the stored bytes:
// the new encoder must write the same, and the benchmark compares the two.

func refAppendPlugin(b []byte, s *model.PluginStatus) []byte {
	b = append(b, '{')
	if s.GetName() != "" {
		b = append(b, `"name":`...)
		b = refAppendString(b, s.GetName())
		b = append(b, ',')
	}
	b = append(b, `"state":`...)
	b = strconv.AppendInt(b, int64(s.GetState()), 10)
	b = append(b, `,"last_change":`...)
	b = strconv.AppendInt(b, s.GetLastChange(), 10)
	b = append(b, `,"last_update":`...)
	b = strconv.AppendInt(b, s.GetLastUpdate(), 10)
	if s.GetError() != "" {
		b = append(b, `,"error":`...)
		b = refAppendString(b, s.GetError())
	}
	return append(b, '}')
}

func refAppendAgent(b []byte, s *model.AgentStatus) []byte {
	b = append(b, `{"state":`...)
	b = strconv.AppendInt(b, int64(s.GetState()), 10)
	b = append(b, `,"last_change":`...)
	b = strconv.AppendInt(b, s.GetLastChange(), 10)
	b = append(b, `,"last_update":`...)
	b = strconv.AppendInt(b, s.GetLastUpdate(), 10)
	b = append(b, `,"start_time":`...)
	b = strconv.AppendInt(b, s.GetStartTime(), 10)
	for _, f := range [...]struct{ key, val string }{
		{"build_version", s.GetBuildVersion()},
		{"build_date", s.GetBuildDate()},
		{"commit_hash", s.GetCommitHash()},
	} {
		if f.val != "" {
			b = append(b, ',', '"')
			b = append(b, f.key...)
			b = append(b, '"', ':')
			b = refAppendString(b, f.val)
		}
	}
	b = append(b, `,"plugins":[`...)
	for i, p := range s.GetPlugins() {
		if i > 0 {
			b = append(b, ',')
		}
		b = refAppendPlugin(b, p)
	}
	return append(b, ']', '}')
}

func refAppendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// differsFromReference reports whether s holds a character that encoding/json
// writes differently from the reference: U+2028, U+2029, backspace, form feed.
func differsFromReference(s string) bool {
	return strings.ContainsAny(s, "\u2028\u2029\b\f")
}

func benchAgent(n int) *model.AgentStatus {
	s := &model.AgentStatus{State: model.OperationalState_ERROR, LastChange: 1496322205, LastUpdate: 1496322361,
		StartTime: 1496322000, BuildVersion: "v1.4.0", CommitHash: "0f3c2a9"}
	for i := range n {
		p := &model.PluginStatus{Name: fmt.Sprintf("plugin-%02d", i), State: model.OperationalState_OK,
			LastChange: 1496322205, LastUpdate: 1496322361}
		if i == 0 {
			p.State, p.Error = model.OperationalState_ERROR, `VPP disconnected: dial "/run/vpp/api.sock": connection refused`
		}
		s.Plugins = append(s.Plugins, p)
	}
	return s
}

// BenchmarkStatusJSON encodes what the publisher writes: a plugin key (an
// error status) and the agent key of a small agent and of one with many
// plugins, into a reused buffer, with AppendJSON (encoding/json) and with the
// hand-written reference.
func BenchmarkStatusJSON(b *testing.B) {
	plugin := benchAgent(1).Plugins[0]
	plugin.Name = "" // as stored under a plugin key
	for _, n := range []int{-1, 5, 50} {
		name := fmt.Sprintf("agent/plugins=%d", n)
		agent := benchAgent(max(n, 0))
		if n < 0 {
			name = "plugin"
		}
		for _, enc := range []struct {
			name   string
			plugin func([]byte, *model.PluginStatus) []byte
			agent  func([]byte, *model.AgentStatus) []byte
		}{
			{"encoding-json",
				func(b []byte, s *model.PluginStatus) []byte { return s.AppendJSON(b) },
				func(b []byte, s *model.AgentStatus) []byte { return s.AppendJSON(b) }},
			{"hand-written", refAppendPlugin, refAppendAgent},
		} {
			b.Run(name+"/"+enc.name, func(b *testing.B) {
				var buf []byte
				b.ReportAllocs()
				for b.Loop() {
					if n < 0 {
						buf = enc.plugin(buf[:0], plugin)
					} else {
						buf = enc.agent(buf[:0], agent)
					}
				}
				b.SetBytes(int64(len(buf)))
			})
		}
	}
}

func TestEncodingMatchesTheHandWrittenBytes(t *testing.T) {
	for _, errText := range []string{
		"", "VPP disconnected", `dial "/run/vpp/api.sock": connection refused`,
		"a \"b\"\n\r\t<c> & \x00\x01\x1f \\ \x7f é 日本 🙂", "bad utf-8: \xff\xfe", "a\u2027\u202a",
	} {
		for _, name := range []string{"", "etcd", "<x&y>"} {
			p := &model.PluginStatus{Name: name, State: model.OperationalState_ERROR, LastChange: -1, LastUpdate: 1 << 62, Error: errText}
			if got, want := string(p.AppendJSON(nil)), string(refAppendPlugin(nil, p)); got != want {
				t.Errorf("PluginStatus %v:\nAppendJSON %s\nreference  %s", p, got, want)
			}
		}
	}
	for _, n := range []int{0, 1, 50} {
		a := benchAgent(n)
		a.BuildDate = "2026-01-02 <nightly>"
		if got, want := string(a.AppendJSON(nil)), string(refAppendAgent(nil, a)); got != want {
			t.Errorf("AgentStatus with %d plugins:\nAppendJSON %s\nreference  %s", n, got, want)
		}
	}
}

// TestEncodingDiffersOnlyInFourCharacters pins the documented difference:
// each side's text decodes to the same string.
func TestEncodingDiffersOnlyInFourCharacters(t *testing.T) {
	for _, tt := range []struct{ errText, want string }{
		{"a\u2028b", `"a\u2028b"`},
		{"a\u2029b", `"a\u2029b"`},
		{"a\bb", `"a\bb"`},
		{"a\fb", `"a\fb"`},
	} {
		p := &model.PluginStatus{Error: tt.errText}
		want := `{"state":0,"last_change":0,"last_update":0,"error":` + tt.want + `}`
		if got := string(p.AppendJSON(nil)); got != want {
			t.Errorf("AppendJSON(error %q) = %s, want %s", tt.errText, got, want)
		}
		if !differsFromReference(tt.errText) {
			t.Errorf("differsFromReference(%q) = false", tt.errText)
		}
	}
}

func TestAppendJSONAllocatesNothingWithRoom(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops sync.Pool items on purpose; run without -race")
	}
	a := benchAgent(50)
	buf := make([]byte, 0, 16<<10)
	a.AppendJSON(buf) // warm the pool
	if n := testing.AllocsPerRun(100, func() { buf = a.AppendJSON(buf[:0]) }); n != 0 {
		t.Errorf("AgentStatus.AppendJSON allocates %v times, want 0", n)
	}
	p := a.Plugins[0]
	if n := testing.AllocsPerRun(100, func() { buf = p.AppendJSON(buf[:0]) }); n != 0 {
		t.Errorf("PluginStatus.AppendJSON allocates %v times, want 0", n)
	}
}
