package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
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
	n, err := yamlNode(v)
	if err != nil {
		return err
	}
	b, err := yaml.Marshal(n)
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

// yamlNode converts v to YAML through its JSON form, so that -o yaml shows
// the fields of -o json, in the same order (the order of the struct
// fields, not the alphabetical order of a map), and JSON values as nested
// YAML. Numbers keep their JSON text: a Unix time stays an integer.
func yamlNode(v any) (*yaml.Node, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return decodeYAMLNode(dec)
}

// decodeYAMLNode reads one JSON value from dec as a YAML node.
func decodeYAMLNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if t == '{' {
			n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		for dec.More() {
			if n.Kind == yaml.MappingNode {
				key, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, yamlString(key.(string)))
			}
			item, err := decodeYAMLNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, item)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return yamlString(t), nil
	case json.Number:
		if _, err := t.Int64(); err == nil {
			return yamlScalar("!!int", t.String()), nil
		}
		return yamlScalar("!!float", t.String()), nil
	case bool:
		return yamlScalar("!!bool", strconv.FormatBool(t)), nil
	default: // nil
		return yamlScalar("!!null", "null"), nil
	}
}

// yamlString returns s as yaml.Marshal writes a string: quoted where a
// YAML 1.1 reader would take it for something else ("yes", "1e3"),
// multi-line strings as literal blocks.
func yamlString(s string) *yaml.Node {
	var n yaml.Node
	if err := n.Encode(s); err != nil {
		return yamlScalar("!!str", s)
	}
	return &n
}

func yamlScalar(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
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
