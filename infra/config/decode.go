package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

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
// type, so data with errors leaves v unchanged too.
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
	t := rv.Elem().Type()
	if err := strictDecode(data, reflect.New(t).Interface()); err != nil {
		return explain(file, what, doc, t, err)
	}
	if err := strictDecode(data, v); err != nil {
		return explain(file, what, doc, t, err)
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

var lineRE = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)

// splitLine splits yaml.v3's "yaml: line 3: problem" into 3 and "problem".
func splitLine(msg string) (int, string) {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n, m[2]
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
	e := &Error{File: file, Line: line, Msg: "invalid YAML: " + msg}
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
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	lo, hi := 1, len(lines)
	if yamlLine > 0 {
		lo, hi = max(1, yamlLine-scanWindow), min(hi, yamlLine+1)
	}
	end := 0
	for _, l := range lines[:lo-1] {
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

var keyRE = regexp.MustCompile(`^\s*(?:-\s+)*("(?:[^"\\]|\\.)*"|'[^']*'|[^\s#'"\[\]{},:-][^#:]*?)\s*:(?:\s|$)`)

// keyNear returns the key on line, or on the nearest line above it.
func keyNear(data []byte, line int) string {
	lines := strings.Split(string(data), "\n")
	for i := min(line, len(lines)) - 1; i >= 0; i-- {
		if m := keyRE.FindStringSubmatch(lines[i]); m != nil {
			k := m[1]
			if uq, err := strconv.Unquote(k); err == nil {
				return uq
			}
			return strings.Trim(k, "'")
		}
	}
	return ""
}

var (
	unknownFieldRE = regexp.MustCompile(`(?s)^field (.+) not found in type \S+$`)
	duplicateKeyRE = regexp.MustCompile(`^mapping key ("(?:[^"\\]|\\.)*") already defined at line (\d+)$`)
	cannotDecodeRE = regexp.MustCompile("(?s)^cannot unmarshal (\\S+)(?: `(.*)`)? into (.+)$")
)

// explain turns the errors of yaml.v3 into *Error values that name the key.
func explain(file, what string, doc *yaml.Node, t reflect.Type, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		line, msg := splitLine(err.Error())
		return &Error{File: file, Line: line, Msg: msg}
	}
	idx := indexNodes(doc)
	errs := make([]error, 0, len(te.Errors))
	for _, s := range te.Errors {
		line, msg := splitLine(s)
		errs = append(errs, explainOne(file, what, idx, t, line, msg))
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

func explainOne(file, what string, idx nodeIndex, t reflect.Type, line int, msg string) *Error {
	e := &Error{File: file, Line: line}
	if m := unknownFieldRE.FindStringSubmatch(msg); m != nil {
		e.Key = m[1]
		if n := idx.find(line, true, func(n *yaml.Node) bool { return n.Value == m[1] }); n != nil {
			e.Key = n.key()
		}
		e.Msg = fmt.Sprintf("unknown key %q in %s config", e.Key, what)
		return e
	}
	if m := duplicateKeyRE.FindStringSubmatch(msg); m != nil {
		name, _ := strconv.Unquote(m[1])
		e.Key = name
		if n := idx.find(line, true, func(n *yaml.Node) bool { return n.Value == name }); n != nil {
			e.Key = n.key()
		}
		e.Msg = fmt.Sprintf("duplicate key %q, first set at line %s", e.Key, m[2])
		return e
	}
	if m := cannotDecodeRE.FindStringSubmatch(msg); m != nil {
		tag, short, into := m[1], m[2], m[3]
		match := func(n *yaml.Node) bool {
			if n.ShortTag() != tag {
				return false
			}
			if tag == "!!seq" || tag == "!!map" {
				return true
			}
			if p, ok := strings.CutSuffix(short, "..."); ok && len(n.Value) > 10 {
				return strings.HasPrefix(n.Value, p)
			}
			return n.Value == short
		}
		n := idx.find(line, false, match)
		if n == nil {
			n = idx.find(line, true, match)
		}
		got := describeShort(tag, short)
		target, ok := targetType(t, n)
		if n != nil {
			e.Key = n.key()
			got = describeNode(n.node)
		}
		e.Msg = withKey(e.Key, mismatch(target, ok, into, got, n))
		return e
	}
	if n := idx.find(line, true, func(*yaml.Node) bool { return true }); n != nil {
		e.Key = n.key()
	}
	e.Msg = withKey(e.Key, msg)
	return e
}

func withKey(key, msg string) string {
	if key == "" {
		return msg
	}
	return fmt.Sprintf("key %q: %s", key, msg)
}

var durationType = reflect.TypeFor[time.Duration]()

// mismatch describes a value that does not fit its field. target is the
// field's type when known (ok), else into, the type yaml.v3 named.
func mismatch(target reflect.Type, ok bool, into, got string, n *indexed) string {
	want, collection := describeTypeName(into)
	if ok {
		want, collection = describeType(target)
	}
	scalar := n == nil || n.node.Kind == yaml.ScalarNode
	switch {
	case collection || !scalar:
		return fmt.Sprintf("expected %s, got %s", want, got)
	case want == "duration" && n != nil && isNumber(n.node.Value):
		// The unit of a bare number would be a guess (nanoseconds in
		// Go, seconds to most people), so it is refused.
		return fmt.Sprintf("cannot parse %s as duration: a duration needs a unit, e.g. \"5s\"", got)
	case ok && n != nil && n.node.ShortTag() == "!!int" && isIntKind(target.Kind()):
		return fmt.Sprintf("cannot parse %s as %s: out of range", got, want)
	default:
		return fmt.Sprintf("cannot parse %s as %s", got, want)
	}
}

func isIntKind(k reflect.Kind) bool {
	return reflect.Int <= k && k <= reflect.Uintptr
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil
}

// describeType names what a value of type t must look like in YAML, and
// whether that is a collection.
func describeType(t reflect.Type) (string, bool) {
	if t == durationType {
		return "duration", false
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a mapping", true
	case reflect.Slice, reflect.Array:
		return "a list", true
	}
	return t.String(), false
}

// describeTypeName is describeType for a type known only by name.
func describeTypeName(name string) (string, bool) {
	switch {
	case name == durationType.String():
		return "duration", false
	case strings.HasPrefix(name, "map["):
		return "a mapping", true
	case strings.HasPrefix(name, "["):
		return "a list", true
	}
	return name, false
}

// maxShown bounds the part of a value quoted in a message.
const maxShown = 40

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	v := n.Value
	if len(v) > maxShown {
		v = v[:maxShown] + "..."
	}
	if n.ShortTag() == "!!str" {
		return strconv.Quote(v)
	}
	return v
}

func describeShort(tag, short string) string {
	switch tag {
	case "!!map":
		return "a mapping"
	case "!!seq":
		return "a list"
	case "!!str":
		return strconv.Quote(short)
	}
	return short
}

// pathElem is one step of a key path: a mapping key or a list index.
type pathElem struct {
	key     string
	index   int
	isIndex bool
}

// indexed is a node of the document with the path leading to it.
type indexed struct {
	node  *yaml.Node
	path  []pathElem
	isKey bool // node is a mapping key; path ends with it
}

func (n *indexed) key() string {
	var b strings.Builder
	for i, p := range n.path {
		switch {
		case p.isIndex:
			fmt.Fprintf(&b, "[%d]", p.index)
		case i > 0:
			b.WriteString("." + p.key)
		default:
			b.WriteString(p.key)
		}
	}
	return b.String()
}

type nodeIndex []indexed

// find returns the first key (isKey) or value node on line for which match
// holds, or nil.
func (idx nodeIndex) find(line int, isKey bool, match func(*yaml.Node) bool) *indexed {
	for i := range idx {
		n := &idx[i]
		if n.isKey == isKey && n.node.Line == line && match(n.node) {
			return n
		}
	}
	return nil
}

// indexNodes lists the nodes of doc in document order. Aliases are not
// followed: yaml.v3 reports errors in aliased values at the anchor.
func indexNodes(doc *yaml.Node) nodeIndex {
	var idx nodeIndex
	var walk func(n *yaml.Node, path []pathElem)
	walk = func(n *yaml.Node, path []pathElem) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
			return
		case yaml.MappingNode:
			idx = append(idx, indexed{node: n, path: path})
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := append(path[:len(path):len(path)], pathElem{key: n.Content[i].Value})
				idx = append(idx, indexed{node: n.Content[i], path: p, isKey: true})
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			idx = append(idx, indexed{node: n, path: path})
			for i, c := range n.Content {
				walk(c, append(path[:len(path):len(path)], pathElem{index: i, isIndex: true}))
			}
		default:
			idx = append(idx, indexed{node: n, path: path})
		}
	}
	walk(doc, nil)
	return idx
}

// targetType returns the Go type that the value at n decodes into, following
// yaml.v3's rules for field names, or false when it cannot tell.
func targetType(t reflect.Type, n *indexed) (reflect.Type, bool) {
	if n == nil {
		return nil, false
	}
	path := n.path
	if n.isKey {
		// A key that does not fit the map's key type.
		path = path[:len(path)-1]
	}
	for _, p := range path {
		t = deref(t)
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldType(t, p.key)
			if !ok || p.isIndex {
				return nil, false
			}
			t = f
		case reflect.Map:
			if p.isIndex {
				return nil, false
			}
			t = t.Elem()
		case reflect.Slice, reflect.Array:
			if !p.isIndex {
				return nil, false
			}
			t = t.Elem()
		default:
			return nil, false
		}
	}
	t = deref(t)
	if n.isKey {
		if t.Kind() != reflect.Map {
			return nil, false
		}
		t = deref(t.Key())
	}
	return t, true
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// fieldType finds the field of struct t that YAML key decodes into: the name
// in its yaml tag, else its name in lower case, looking into ",inline"
// fields.
func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if hasOpt(opts, "inline") {
			ft := deref(f.Type)
			switch ft.Kind() {
			case reflect.Struct:
				if inner, ok := fieldType(ft, key); ok {
					return inner, true
				}
			case reflect.Map:
				return ft.Elem(), true
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name == key {
			return f.Type, true
		}
	}
	return nil, false
}

func hasOpt(opts, opt string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == opt {
			return true
		}
	}
	return false
}
