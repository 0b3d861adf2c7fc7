package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
)

var (
	encoder = protojson.MarshalOptions{Multiline: true, Indent: "  ", UseProtoNames: true}
	decoder = protojson.UnmarshalOptions{}
)

// EncodeTemplate returns the JSON of t as stored in a template file, ending
// with a newline.
func EncodeTemplate(t *Template) ([]byte, error) {
	b, err := encoder.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("template %q: %w", t.GetName(), err)
	}
	// protojson varies its white space on purpose; re-indent so that the
	// same template always gives the same file.
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, fmt.Errorf("template %q: %w", t.GetName(), err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// DecodeTemplate decodes the JSON of a template file strictly: unknown keys,
// values of the wrong type and invalid durations are errors. It does not
// check the name or the command; see Validate.
func DecodeTemplate(data []byte) (*Template, error) {
	t := &Template{}
	if err := decoder.Unmarshal(data, t); err != nil {
		return nil, err
	}
	if err := t.checkDurations(); err != nil {
		return nil, err
	}
	return t, nil
}

// Validate reports whether t can define a process: it has a name usable as
// a file name, a command, and valid durations.
func (t *Template) Validate() error {
	switch name := t.GetName(); {
	case name == "":
		return fmt.Errorf("template has no name")
	case name == "." || name == "..":
		return fmt.Errorf("template name %q is not a file name", name)
	default:
		for _, r := range name {
			if r == '/' || r == 0 {
				return fmt.Errorf("template name %q contains %q", name, r)
			}
		}
	}
	if t.GetCmd() == "" {
		return fmt.Errorf("template %q has no cmd", t.GetName())
	}
	return t.checkDurations()
}

func (t *Template) checkDurations() error {
	o := t.GetPOptions()
	for _, f := range []struct{ key, val string }{
		{"cpu_affinity_delay", o.GetCpuAffinityDelay()},
		{"stop_timeout", o.GetStopTimeout()},
	} {
		if _, err := ParseDuration(f.val); err != nil {
			return fmt.Errorf("%s: %w", f.key, err)
		}
	}
	return nil
}

// ParseDuration parses a duration of a template: "" is zero, anything else
// goes through time.ParseDuration and must not be negative.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	return d, nil
}
