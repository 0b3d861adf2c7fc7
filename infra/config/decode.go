package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a config file. Several problems in one file are
// returned as an errors.Join of *Error values.
type Error struct {
	// File is the path or name of the file, as given to the decoder.
	File string
	// Line is the 1-based line of the problem, or 0 when unknown.
	Line int
	// Key is the dotted path of the offending key ("server.tls.cert-file",
	// "peers[1].port"), or "" when the problem is not tied to a key.
	Key string
	// Msg describes the problem; it mentions Key when there is one.
	Msg string
}

// Error returns "file:line: msg", or "file: msg" when the line is unknown,
// on one line: newlines in Msg are escaped so that joined errors show one
// problem per line.
func (e *Error) Error() string {
	msg := strings.ReplaceAll(e.Msg, "\n", `\n`)
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, msg)
	}
	return e.File + ": " + msg
}

// Checker is implemented by config structs with settings that their types
// cannot check, such as a string that must name one of a few choices.
// After a file decodes without errors, Decode, LoadFile and
// PluginConfig.LoadValue call CheckConfig on the decoded value (defaults
// overwritten by the file) and return its problems as *Error values: an
// error in CheckConfig's result, or joined into it, that has a method
//
//	ConfigKey() string
//
// names the dotted key path ("tls.cert-file", "peers[1].port") of the
// setting, relative to the checked value, and gets the file and the line of
// that key when the file sets it. CheckConfig runs before environment
// variables, flags and options in code are applied, so it must only refuse
// what no later step can fix. When it fails, the value holds what the file
// set.
type Checker interface {
	CheckConfig() error
}

// LoadFile strictly decodes the YAML file at path into v, a non-nil pointer,
// as Decode does. A missing file is an error wrapping ErrNotFound.
func LoadFile(path string, v any) error {
	data, err := ReadFile(path, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return &notFoundError{what: "config file " + path, err: err}
		}
		return fmt.Errorf("config: %w", err)
	}
	return decode(path, label(path), data, v)
}

// Decode strictly decodes the YAML document data into v, a non-nil pointer,
// typically to a struct holding defaults: keys present in data overwrite
// fields, other fields keep their values. name identifies the data in
// errors, usually the file it came from.
//
// An unknown key, a value that does not fit its field, invalid YAML and a
// second document are errors; each problem is an *Error whose text starts
// with name and carries the line and the key. Durations must carry a unit
// ("5s"). Empty data, or data holding only comments, is valid and leaves v
// unchanged. The document is first checked against a fresh value of v's
// type, so data with errors leaves v unchanged too. If v implements
// [Checker], its CheckConfig is called last.
func Decode(name string, data []byte, v any) error {
	return decode(name, label(name), data, v)
}

// Save writes v as YAML to the file at path, creating it with perm (0644 is
// recommended) or truncating it.
func Save(path string, v any, perm os.FileMode) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("config: save %s: %w", path, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("config: save %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), perm); err != nil {
		return fmt.Errorf("config: save %s: %w", path, err)
	}
	return nil
}

// label names a config in messages: the file name without directory and
// extension, so "/etc/agent/http.conf" is the "http config".
func label(name string) string {
	base := filepath.Base(name)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// decode implements Decode; what names the config in unknown-key messages.
func decode(file, what string, data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &Error{File: file, Msg: fmt.Sprintf("cannot decode into %T: need a non-nil pointer", v)}
	}
	doc, err := parse(data)
	if err != nil {
		return syntaxError(file, data, err)
	}
	if doc == nil {
		return nil
	}
	// yaml.v3 decides what is an error; the node tree says where it is.
	t := rv.Elem().Type()
	if err := strictDecode(data, reflect.New(t).Interface()); err != nil {
		return explain(file, what, doc, t, err)
	}
	if err := strictDecode(data, v); err != nil {
		return explain(file, what, doc, t, err)
	}
	if c, ok := v.(Checker); ok {
		if err := c.CheckConfig(); err != nil {
			return placeCheckErrors(file, doc, err)
		}
	}
	return nil
}

// secondDocError reports a file holding more than one YAML document, which
// would otherwise be ignored silently.
type secondDocError struct{ line int }

func (e *secondDocError) Error() string {
	return "found a second YAML document; a config file holds one"
}

// parse returns the node tree of the only document in data, or nil when data
// holds no document.
func parse(data []byte) (*yaml.Node, error) {
	var doc, next yaml.Node
	err := guard(func() error {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(&doc); err != nil {
			return err
		}
		if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
			if err != nil {
				return err
			}
			return &secondDocError{line: next.Line}
		}
		return nil
	})
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &doc, nil
}

func strictDecode(data []byte, v any) error {
	return guard(func() error {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		return dec.Decode(v)
	})
}

// guard turns a panic of the YAML library into an error: config files are
// runtime input and must never crash the agent.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml decoder failed: %v", r)
		}
	}()
	return f()
}

// splitLine splits the "yaml: line 3: problem" of yaml.v3's parser into 3
// and "problem". A syntax error leaves no node tree, so its text is all
// there is.
func splitLine(msg string) (int, string) {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, problem, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil && n > 0 {
				return n, problem
			}
		}
	}
	return 0, msg
}

// scanWindow and scanBudget bound the search for the line of a syntax error,
// which parses prefixes of the file: the true line lies at most a little
// after the one yaml.v3 reports, and rarely far before it. The budget (bytes
// parsed in total) keeps a large file with an error from costing more than
// tens of milliseconds.
const (
	scanWindow = 100
	scanBudget = 256 << 10
)

func syntaxError(file string, data []byte, err error) error {
	var sd *secondDocError
	if errors.As(err, &sd) {
		return &Error{File: file, Line: sd.line, Msg: sd.Error()}
	}
	yamlLine, msg := splitLine(err.Error())
	line := syntaxErrorLine(data, msg, yamlLine)
	e := &Error{File: file, Line: max(line, 1), Msg: "invalid YAML: " + msg}
	if key := keyNear(data, line); key != "" {
		e.Key = key
		e.Msg = fmt.Sprintf("invalid YAML near key %q: %s", key, msg)
	}
	return e
}

// syntaxErrorLine finds the line of a syntax error. The line yaml.v3 reports
// is often off by one or missing (an error on the first line has none), so
// the first line at which a prefix of the file fails with the same problem
// wins; yaml.v3's line, kept within the file, is the fallback.
func syntaxErrorLine(data []byte, msg string, yamlLine int) int {
	lines := splitLines(data)
	lo, hi := 1, len(lines)
	if yamlLine > 0 {
		lo, hi = max(1, yamlLine-scanWindow), min(hi, yamlLine+1)
	}
	end := 0
	for _, l := range lines[:min(lo-1, len(lines))] {
		end += len(l)
	}
	budget := scanBudget
	for k := lo; k <= hi; k++ {
		end += len(lines[k-1])
		if budget -= end; budget < 0 {
			break
		}
		if _, err := parse(data[:end]); err != nil {
			if _, m := splitLine(err.Error()); m == msg {
				return k
			}
		}
	}
	return min(yamlLine, len(lines))
}

// splitLines splits data after each newline, without an empty last line.
func splitLines(data []byte) [][]byte {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// keyLookback bounds how far above a syntax error keyNear looks for a key;
// keyScan bounds the part of a line it parses, and keyColons the number of
// parses per line, so that one long line cannot make it quadratic.
const (
	keyLookback = 100
	keyScan     = 256
	keyColons   = 8
)

// keyNear returns the key on line, or on the nearest line above it that
// holds one.
func keyNear(data []byte, line int) string {
	lines := splitLines(data)
	for i := min(line, len(lines)); i >= 1 && i > line-keyLookback; i-- {
		if k := keyOnLine(string(lines[i-1])); k != "" {
			return k
		}
	}
	return ""
}

// keyOnLine returns the mapping key that line starts with, or "". The line
// as a whole may not parse (it holds the syntax error), so its text up to
// each colon in turn is parsed as a document of its own, and the first
// mapping key found there wins: "tls:", "- name:", "\"a:b\":".
func keyOnLine(line string) string {
	text := strings.TrimLeft(line, " \t")
	text = text[:min(len(text), keyScan)]
	colons := 0
	for i := 0; i < len(text) && colons < keyColons; i++ {
		if text[i] != ':' {
			continue
		}
		colons++
		doc, err := parse([]byte(text[:i+1]))
		if err != nil || doc == nil {
			continue
		}
		if k := firstKey(doc); k != "" {
			return k
		}
	}
	return ""
}

// firstKey returns the first scalar mapping key of n, looking into the first
// item of lists.
func firstKey(n *yaml.Node) string {
	for {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			if len(n.Content) == 0 {
				return ""
			}
			n = n.Content[0]
		case yaml.MappingNode:
			if len(n.Content) == 0 || n.Content[0].Kind != yaml.ScalarNode {
				return ""
			}
			return n.Content[0].Value
		default:
			return ""
		}
	}
}
