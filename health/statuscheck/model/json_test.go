package model_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/plinth-go/plinth/health/statuscheck/model"
)

func TestPluginStatusJSONIsTheContract(t *testing.T) {
	tests := []struct {
		name string
		in   *model.PluginStatus
		want string
	}{
		{"the documented example",
			&model.PluginStatus{State: model.OperationalState_ERROR, LastChange: 1496322205, LastUpdate: 1496322361, Error: "VPP disconnected"},
			`{"state":2,"last_change":1496322205,"last_update":1496322361,"error":"VPP disconnected"}`},
		{"INIT is a number, not left out",
			&model.PluginStatus{},
			`{"state":0,"last_change":0,"last_update":0}`},
		{"OK without error",
			&model.PluginStatus{State: model.OperationalState_OK, LastChange: 1, LastUpdate: 2},
			`{"state":1,"last_change":1,"last_update":2}`},
		{"name when set (inside the agent status)",
			&model.PluginStatus{Name: "etcd", State: model.OperationalState_OK},
			`{"name":"etcd","state":1,"last_change":0,"last_update":0}`},
		{"escapes quotes and control characters, keeps <>&",
			&model.PluginStatus{State: model.OperationalState_ERROR, Error: "a \"b\"\n\t<c> & \x01 é"},
			`{"state":2,"last_change":0,"last_update":0,"error":"a \"b\"\n\t<c> & \u0001 é"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// AppendJSON is what is stored; json.Marshal calls it too, but
			// escapes <, > and & on top.
			got := tt.in.AppendJSON(nil)
			if string(got) != tt.want {
				t.Errorf("AppendJSON = %s\nwant        %s", got, tt.want)
			}
			if _, err := json.Marshal(tt.in); err != nil {
				t.Fatal(err)
			}
			var back model.PluginStatus
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(&back, tt.in) {
				t.Errorf("round trip = %v, want %v", &back, tt.in)
			}
		})
	}
}

func TestAgentStatusJSONIsTheContract(t *testing.T) {
	s := &model.AgentStatus{
		BuildVersion: "v1.0.0", State: model.OperationalState_OK, StartTime: 10, LastChange: 11, LastUpdate: 12,
		Plugins: []*model.PluginStatus{{Name: "etcd", State: model.OperationalState_OK, LastChange: 11, LastUpdate: 11}},
	}
	want := `{"state":1,"last_change":11,"last_update":12,"start_time":10,"build_version":"v1.0.0",` +
		`"plugins":[{"name":"etcd","state":1,"last_change":11,"last_update":11}]}`
	if got := string(s.AppendJSON(nil)); got != want {
		t.Errorf("AppendJSON = %s\nwant        %s", got, want)
	}
	if got := string((&model.AgentStatus{}).AppendJSON(nil)); got != `{"state":0,"last_change":0,"last_update":0,"start_time":0,"plugins":[]}` {
		t.Errorf("zero AgentStatus = %s", got)
	}
}

func TestDecoderAcceptsProtojsonAndOlderValues(t *testing.T) {
	tests := []struct {
		name, in string
		want     *model.PluginStatus
	}{
		{"protojson: enum names and quoted int64",
			`{"state":"ERROR","last_change":"5","last_update":"6","error":"x"}`,
			&model.PluginStatus{State: model.OperationalState_ERROR, LastChange: 5, LastUpdate: 6, Error: "x"}},
		{"protojson omits INIT", `{"last_change":"5"}`, &model.PluginStatus{LastChange: 5}},
		{"unknown keys are ignored", `{"state":1,"future":{"a":[1]}}`, &model.PluginStatus{State: model.OperationalState_OK}},
		{"exponent notation", `{"state":1,"last_change":1.5e9}`, &model.PluginStatus{State: model.OperationalState_OK, LastChange: 1500000000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got model.PluginStatus
			if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(&got, tt.want) {
				t.Errorf("Unmarshal(%s) = %v, want %v", tt.in, &got, tt.want)
			}
		})
	}
	// What an agent with protojson wrote, read back, with the field names
	// of the .proto file and with protojson's default lowerCamelCase.
	old := &model.AgentStatus{
		State: model.OperationalState_OK, StartTime: 3, LastChange: 4, LastUpdate: 5,
		BuildVersion: "v1", BuildDate: "today", CommitHash: "abc",
		Plugins: []*model.PluginStatus{{Name: "a", LastChange: 6, LastUpdate: 7}},
	}
	for _, protoNames := range []bool{true, false} {
		data, err := protojson.MarshalOptions{UseProtoNames: protoNames}.Marshal(old)
		if err != nil {
			t.Fatal(err)
		}
		var got model.AgentStatus
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatalf("Unmarshal(%s): %v", data, err)
		}
		if !proto.Equal(&got, old) {
			t.Errorf("Unmarshal(%s) = %v, want %v", data, &got, old)
		}
	}
}

func TestDecoderRejectsInvalidValues(t *testing.T) {
	for _, in := range []string{
		``, `[]`, `null`, `{"state":3}`, `{"state":"BAD"}`, `{"state":1.5}`, `{"last_change":"x"}`,
		`{"last_change":1.5}`, `{"state":1} {}`, `{"error":5}`, "{\"error\":\"\xff\"}",
		`{"last_change":1,"lastChange":2}`, `{"lastUpdate":"x"}`,
	} {
		var s model.PluginStatus
		if err := json.Unmarshal([]byte(in), &s); err == nil && in != "null" {
			t.Errorf("Unmarshal(%q) = %v, want an error", in, &s)
		}
	}
	var a model.AgentStatus
	for _, in := range []string{`{"plugins":[null]}`, `{"start_time":1,"startTime":1}`, `{"commit_hash":"a","commitHash":"b"}`} {
		if err := json.Unmarshal([]byte(in), &a); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", in, &a)
		}
	}
}

func TestKeys(t *testing.T) {
	if got := model.AgentStatusKey(); got != "check/status/v1/agent" {
		t.Errorf("AgentStatusKey() = %q", got)
	}
	if got := model.PluginStatusKey("GOVPP"); got != "check/status/v1/plugin/GOVPP" {
		t.Errorf("PluginStatusKey(GOVPP) = %q", got)
	}
}

// FuzzPluginStatusJSON checks that every status survives a round trip and
// that whatever the decoder accepts encodes to a value that decodes to the
// same status.
func FuzzPluginStatusJSON(f *testing.F) {
	// Seeds: the documented example, INIT, control characters, non-ASCII.
	f.Add("", int32(2), int64(1496322205), int64(1496322361), "VPP disconnected")
	f.Add("", int32(0), int64(0), int64(0), "")
	f.Add("etcd", int32(1), int64(-1), int64(1<<62), "a\"\\\n\x00\u2028é")
	f.Fuzz(func(t *testing.T, name string, state int32, lastChange, lastUpdate int64, errText string) {
		if !utf8.ValidString(name) || !utf8.ValidString(errText) {
			t.Skip("proto strings are UTF-8; the plugin makes error texts valid before storing them")
		}
		in := &model.PluginStatus{
			Name: name, State: model.OperationalState(((state % 3) + 3) % 3),
			LastChange: lastChange, LastUpdate: lastUpdate, Error: errText,
		}
		data := in.AppendJSON(nil)
		if !json.Valid(data) {
			t.Fatalf("invalid JSON %s", data)
		}
		var out model.PluginStatus
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("Unmarshal(%s): %v", data, err)
		}
		if !proto.Equal(&out, in) {
			t.Fatalf("round trip of %v = %v", in, &out)
		}
		// The stored bytes are the hand-written encoder's.
		if !differsFromReference(name) && !differsFromReference(errText) {
			if want := refAppendPlugin(nil, in); string(data) != string(want) {
				t.Fatalf("AppendJSON = %s, reference %s", data, want)
			}
		}
		// Differential: encoding/json reads the same strings back.
		var ref map[string]any
		if err := json.Unmarshal(data, &ref); err != nil {
			t.Fatal(err)
		}
		if errText != "" && ref["error"] != errText {
			t.Fatalf("encoding/json reads error %q, want %q", ref["error"], errText)
		}
	})
}

// FuzzDecodePluginStatus feeds arbitrary input to the decoder.
func FuzzDecodePluginStatus(f *testing.F) {
	f.Add(`{"state":2,"last_change":1496322205,"last_update":1496322361,"error":"VPP disconnected"}`)
	f.Add(`{"state":"OK","last_change":"1"}`)
	f.Add(`{"name":"x","unknown":[1,2]}`)
	f.Fuzz(func(t *testing.T, in string) {
		var s model.PluginStatus
		if err := json.Unmarshal([]byte(in), &s); err != nil {
			return
		}
		var again model.PluginStatus
		data := s.AppendJSON(nil)
		if err := json.Unmarshal(data, &again); err != nil {
			t.Fatalf("re-decoding %s (from %q): %v", data, in, err)
		}
		if !proto.Equal(&s, &again) {
			t.Fatalf("%q: decode, encode, decode = %v, want %v", in, &again, &s)
		}
		if strings.Contains(string(data), "\n") {
			t.Fatalf("encoded value spans lines: %q", data)
		}
	})
}
