package model

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"unicode/utf8"
)

// The values are encoded by encoding/json through the mirror structs below
// rather than by a hand-written encoder. BenchmarkStatusJSON (json_bench_test.go)
// compares the two on the values the publisher writes, into a reused buffer
// (go test -run=^$ -bench=. -benchmem -count=5; medians on a 2-core VM shared
// with other work, so the times are rough):
//
//	                     hand-written            encoding/json
//	plugin key            1.9 µs, 0 allocs        3.0 µs, 0 allocs
//	agent, 5 plugins      3.6 µs, 0 allocs        8.8 µs, 0 allocs
//	agent, 50 plugins    20.8 µs, 0 allocs       37.3 µs, 0 allocs
//
// encoding/json allocates nothing either once its encoder and mirrors are
// pooled, so publishing stays allocation-free apart from the value it keeps;
// it is slower, but a status is encoded only when it changed. The bytes are
// the same as the hand-written encoder's (TestEncodingMatchesTheHandWrittenBytes)
// except in four characters no status text is expected to hold: encoding/json
// writes U+2028 and U+2029 as \u2028 and \u2029, and backspace and form feed
// as \b and \f; readers decode either form to the same string.

type pluginJSON struct {
	Name       string `json:"name,omitempty"`
	State      int32  `json:"state"`
	LastChange int64  `json:"last_change"`
	LastUpdate int64  `json:"last_update"`
	Error      string `json:"error,omitempty"`
}

type agentJSON struct {
	State        int32        `json:"state"`
	LastChange   int64        `json:"last_change"`
	LastUpdate   int64        `json:"last_update"`
	StartTime    int64        `json:"start_time"`
	BuildVersion string       `json:"build_version,omitempty"`
	BuildDate    string       `json:"build_date,omitempty"`
	CommitHash   string       `json:"commit_hash,omitempty"`
	Plugins      []pluginJSON `json:"plugins"`
}

func (m *pluginJSON) set(s *PluginStatus) {
	*m = pluginJSON{s.GetName(), int32(s.GetState()), s.GetLastChange(), s.GetLastUpdate(), s.GetError()}
}

// encoder is an encoding/json Encoder with its buffer and mirrors, pooled so
// that encoding allocates nothing. HTML escaping is off: <, > and & in
// errors are stored as written.
type encoder struct {
	buf    bytes.Buffer
	enc    *json.Encoder
	plugin pluginJSON
	agent  agentJSON
}

// maxPooledBuffer keeps the buffer of an unusually large status (thousands
// of plugins) out of the pool.
const maxPooledBuffer = 64 << 10

var encoders = sync.Pool{New: func() any {
	e := &encoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

// encode appends the JSON of v, a mirror inside e, to b.
func (e *encoder) encode(b []byte, v any) []byte {
	e.buf.Reset()
	// Strings and integers cannot fail to encode: invalid UTF-8 becomes
	// U+FFFD.
	_ = e.enc.Encode(v)
	b = append(b, bytes.TrimSuffix(e.buf.Bytes(), []byte("\n"))...)
	// Drop the strings and plugins, so that the pool keeps no status alive.
	clear(e.agent.Plugins)
	e.plugin, e.agent = pluginJSON{}, agentJSON{Plugins: e.agent.Plugins[:0]}
	if e.buf.Cap() <= maxPooledBuffer {
		encoders.Put(e)
	}
	return b
}

// MarshalJSON returns the JSON of s as stored under a plugin status key:
// state, last_change and last_update always, name and error when set.
func (s *PluginStatus) MarshalJSON() ([]byte, error) {
	return s.AppendJSON(make([]byte, 0, 96)), nil
}

// AppendJSON appends the JSON of s (see MarshalJSON) to b. It allocates
// nothing when b has room.
func (s *PluginStatus) AppendJSON(b []byte) []byte {
	e := encoders.Get().(*encoder)
	e.plugin.set(s)
	return e.encode(b, &e.plugin)
}

// MarshalJSON returns the JSON of s as stored under the agent status key:
// state, last_change, last_update, start_time and plugins (an array, empty
// when there is none) always, the build fields when set.
func (s *AgentStatus) MarshalJSON() ([]byte, error) {
	return s.AppendJSON(make([]byte, 0, 160+96*len(s.GetPlugins()))), nil
}

// AppendJSON appends the JSON of s (see MarshalJSON) to b. It allocates
// nothing when b has room.
func (s *AgentStatus) AppendJSON(b []byte) []byte {
	e := encoders.Get().(*encoder)
	plugins := e.agent.Plugins[:0]
	if plugins == nil {
		plugins = []pluginJSON{} // "plugins":[] rather than null
	}
	for _, p := range s.GetPlugins() {
		var m pluginJSON
		m.set(p)
		plugins = append(plugins, m)
	}
	e.agent = agentJSON{int32(s.GetState()), s.GetLastChange(), s.GetLastUpdate(), s.GetStartTime(),
		s.GetBuildVersion(), s.GetBuildDate(), s.GetCommitHash(), plugins}
	return e.encode(b, &e.agent)
}

// UnmarshalJSON decodes the JSON of a plugin status into s, replacing its
// content. It accepts the form MarshalJSON writes and the protojson forms,
// with field names as in the .proto file or in lowerCamelCase.
func (s *PluginStatus) UnmarshalJSON(data []byte) error {
	var raw struct {
		Name            *string         `json:"name"`
		State           json.RawMessage `json:"state"`
		LastChange      json.RawMessage `json:"last_change"`
		LastUpdate      json.RawMessage `json:"last_update"`
		LastChangeCamel json.RawMessage `json:"lastChange"`
		LastUpdateCamel json.RawMessage `json:"lastUpdate"`
		Error           *string         `json:"error"`
	}
	if err := decodeObject(data, &raw); err != nil {
		return fmt.Errorf("plugin status: %w", err)
	}
	var out PluginStatus
	var err error
	if out.State, err = parseState(raw.State); err != nil {
		return fmt.Errorf("plugin status: state: %w", err)
	}
	for _, f := range []struct {
		key          string
		snake, camel json.RawMessage
		to           *int64
	}{
		{"last_change", raw.LastChange, raw.LastChangeCamel, &out.LastChange},
		{"last_update", raw.LastUpdate, raw.LastUpdateCamel, &out.LastUpdate},
	} {
		if *f.to, err = parseEitherInt64(f.snake, f.camel); err != nil {
			return fmt.Errorf("plugin status: %s: %w", f.key, err)
		}
	}
	if raw.Name != nil {
		out.Name = *raw.Name
	}
	if raw.Error != nil {
		out.Error = *raw.Error
	}
	s.Reset()
	s.Name, s.State, s.LastChange, s.LastUpdate, s.Error = out.Name, out.State, out.LastChange, out.LastUpdate, out.Error
	return nil
}

// UnmarshalJSON decodes the JSON of an agent status into s, replacing its
// content. It accepts the form MarshalJSON writes and the protojson forms,
// with field names as in the .proto file or in lowerCamelCase.
func (s *AgentStatus) UnmarshalJSON(data []byte) error {
	var raw struct {
		State             json.RawMessage `json:"state"`
		LastChange        json.RawMessage `json:"last_change"`
		LastUpdate        json.RawMessage `json:"last_update"`
		StartTime         json.RawMessage `json:"start_time"`
		LastChangeCamel   json.RawMessage `json:"lastChange"`
		LastUpdateCamel   json.RawMessage `json:"lastUpdate"`
		StartTimeCamel    json.RawMessage `json:"startTime"`
		BuildVersion      *string         `json:"build_version"`
		BuildDate         *string         `json:"build_date"`
		CommitHash        *string         `json:"commit_hash"`
		BuildVersionCamel *string         `json:"buildVersion"`
		BuildDateCamel    *string         `json:"buildDate"`
		CommitHashCamel   *string         `json:"commitHash"`
		Plugins           []*PluginStatus `json:"plugins"`
	}
	if err := decodeObject(data, &raw); err != nil {
		return fmt.Errorf("agent status: %w", err)
	}
	state, err := parseState(raw.State)
	if err != nil {
		return fmt.Errorf("agent status: state: %w", err)
	}
	var times [3]int64
	for i, f := range []struct {
		key          string
		snake, camel json.RawMessage
	}{
		{"last_change", raw.LastChange, raw.LastChangeCamel},
		{"last_update", raw.LastUpdate, raw.LastUpdateCamel},
		{"start_time", raw.StartTime, raw.StartTimeCamel},
	} {
		if times[i], err = parseEitherInt64(f.snake, f.camel); err != nil {
			return fmt.Errorf("agent status: %s: %w", f.key, err)
		}
	}
	var strs [3]*string
	for i, f := range []struct {
		key          string
		snake, camel *string
	}{
		{"build_version", raw.BuildVersion, raw.BuildVersionCamel},
		{"build_date", raw.BuildDate, raw.BuildDateCamel},
		{"commit_hash", raw.CommitHash, raw.CommitHashCamel},
	} {
		if f.snake != nil && f.camel != nil {
			return fmt.Errorf("agent status: %s: set twice, also in lowerCamelCase", f.key)
		}
		strs[i] = cmp.Or(f.snake, f.camel)
	}
	for i, p := range raw.Plugins {
		if p == nil {
			return fmt.Errorf("agent status: plugins[%d]: null", i)
		}
	}
	s.Reset()
	s.State, s.LastChange, s.LastUpdate, s.StartTime = state, times[0], times[1], times[2]
	s.BuildVersion, s.BuildDate, s.CommitHash = deref(strs[0]), deref(strs[1]), deref(strs[2])
	s.Plugins = raw.Plugins
	return nil
}

// parseEitherInt64 parses the value of a field given under its .proto name
// (snake) or its lowerCamelCase name; both at once is an error, as in
// protojson.
func parseEitherInt64(snake, camel json.RawMessage) (int64, error) {
	if snake != nil && camel != nil {
		return 0, errors.New("set twice, also in lowerCamelCase")
	}
	if snake == nil {
		return parseInt64(camel)
	}
	return parseInt64(snake)
}

// decodeObject decodes one JSON object into v; trailing data is an error.
func decodeObject(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return fmt.Errorf("want a JSON object, got %.20q", data)
	}
	if !utf8.Valid(data) {
		return fmt.Errorf("invalid UTF-8")
	}
	d := json.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("data after the JSON object")
	}
	return nil
}

// parseState accepts a number (the contract), an enum name (protojson) and
// absence or null (protojson omits INIT).
func parseState(raw json.RawMessage) (OperationalState, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return OperationalState_INIT, nil
	}
	if raw[0] == '"' {
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return 0, err
		}
		if v, ok := OperationalState_value[name]; ok {
			return OperationalState(v), nil
		}
		return 0, fmt.Errorf("unknown state %q", name)
	}
	n, err := strconv.ParseInt(string(raw), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("want an integer, got %s", raw)
	}
	if _, ok := OperationalState_name[int32(n)]; !ok {
		return 0, fmt.Errorf("unknown state %d", n)
	}
	return OperationalState(n), nil
}

// parseInt64 accepts a number and a quoted number (protojson writes int64 as
// a string); absence or null is 0.
func parseInt64(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Integral floats such as 1.5e9 are valid JSON numbers for the
		// same value.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return 0, fmt.Errorf("want an integer, got %s", raw)
		}
		return int64(f), nil
	}
	return n, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
