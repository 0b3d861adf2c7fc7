package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// printer writes the result of a command in the format chosen with -o.
type printer interface {
	// print writes v (json, yaml) or calls text (table).
	print(v any, text func(w io.Writer) error) error
	// printEvent writes one element of a stream (watch): one JSON object
	// per line, one YAML document, or text.
	printEvent(v any, text func(w io.Writer) error) error
}

func (g *globalOptions) printer() printer {
	switch g.output {
	case outputJSON:
		return jsonPrinter{g.stdout}
	case outputYAML:
		return yamlPrinter{g.stdout}
	default:
		return textPrinter{g.stdout}
	}
}

type textPrinter struct{ w io.Writer }

func (p textPrinter) print(_ any, text func(io.Writer) error) error      { return text(p.w) }
func (p textPrinter) printEvent(_ any, text func(io.Writer) error) error { return text(p.w) }

type jsonPrinter struct{ w io.Writer }

func (p jsonPrinter) print(v any, _ func(io.Writer) error) error {
	enc := json.NewEncoder(p.w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func (p jsonPrinter) printEvent(v any, _ func(io.Writer) error) error {
	enc := json.NewEncoder(p.w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

type yamlPrinter struct{ w io.Writer }

func (p yamlPrinter) print(v any, _ func(io.Writer) error) error {
	b, err := yaml.Marshal(toYAML(v))
	if err != nil {
		return err
	}
	_, err = p.w.Write(b)
	return err
}

func (p yamlPrinter) printEvent(v any, text func(io.Writer) error) error {
	if _, err := io.WriteString(p.w, "---\n"); err != nil {
		return err
	}
	return p.print(v, text)
}

// toYAML converts v to plain maps and slices through its JSON form, so that
// YAML shows the same fields as JSON, with JSON values as nested YAML.
func toYAML(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return out
}

// kvJSON is a key-value pair as -o json and -o yaml show it. The value is
// embedded as JSON when it is valid JSON, as a string when it is valid
// UTF-8, and otherwise as base64 under value_base64.
type kvJSON struct {
	Type        string          `json:"type,omitempty"` // watch events only
	Key         string          `json:"key"`
	Value       json.RawMessage `json:"value,omitempty"`
	ValueBase64 string          `json:"value_base64,omitempty"`
	Revision    int64           `json:"revision"`
}

// setValue fills Value or ValueBase64.
func (kv *kvJSON) setValue(v []byte) {
	switch {
	case json.Valid(v):
		kv.Value = json.RawMessage(v)
	case utf8.Valid(v):
		b, _ := json.Marshal(string(v)) // a string always marshals
		kv.Value = b
	default:
		kv.ValueBase64 = base64.StdEncoding.EncodeToString(v)
	}
}

func newKV(key string, value []byte, rev int64) kvJSON {
	kv := kvJSON{Key: key, Revision: rev}
	kv.setValue(value)
	return kv
}

// writeValue prints a value as text: the bytes as they are, and a newline
// unless the value ends with one.
func writeValue(w io.Writer, v []byte) error {
	if _, err := w.Write(v); err != nil {
		return err
	}
	if len(v) == 0 || v[len(v)-1] != '\n' {
		_, err := fmt.Fprintln(w)
		return err
	}
	return nil
}
