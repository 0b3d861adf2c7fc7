package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// This file places the problems that yaml.v3 finds when it decodes a
// document into a Go value. yaml.v3 reports them as text without the key; so
// the node tree of the document is walked alongside the Go type, following
// yaml.v3's rules, and each problem is reported at the node that causes it:
// its line and its key path come from the tree. Whether there is a problem
// at all is still yaml.v3's decision (decode calls explain only when
// yaml.v3 failed), so a rule mirrored imperfectly here can only cost a
// problem its line, never accept or refuse a file.

// explain turns the error of yaml.v3 decoding doc into t into *Error values.
func explain(file, what string, doc *yaml.Node, t reflect.Type, err error) error {
	l := &locator{what: what, seen: map[visit]bool{}, following: map[*yaml.Node]bool{}, structs: map[reflect.Type]*structInfo{}}
	l.node(doc, t, nil, nil)
	if len(l.errs) == 0 {
		// A problem of the whole document, such as excessive aliasing, or
		// one the walk does not model: report yaml.v3's words at the top.
		return &Error{File: file, Line: rootLine(doc), Msg: yamlMessage(err)}
	}
	errs := make([]error, len(l.errs))
	for i, e := range l.errs {
		e.File = file
		errs[i] = e
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// rootLine is the line of the document's content, at least 1.
func rootLine(doc *yaml.Node) int {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	return max(doc.Line, 1)
}

// yamlMessage is the text of a yaml.v3 decoding error without its "yaml: "
// and "line N: " prefixes, which the caller replaces with its own.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msgs := make([]string, len(te.Errors))
		for i, s := range te.Errors {
			_, msgs[i] = splitLine(s)
		}
		return strings.Join(msgs, "; ")
	}
	_, msg := splitLine(err.Error())
	return msg
}

// path is the key path of a node: mapping keys and list indexes.
type path []pathElem

type pathElem struct {
	key   string
	index int // when key is "" and isIndex
	isIdx bool
}

func (p path) key(k string) path {
	return append(p[:len(p):len(p)], pathElem{key: k})
}

func (p path) index(i int) path {
	return append(p[:len(p):len(p)], pathElem{index: i, isIdx: true})
}

// String renders p as "server.tls.cert-file" or "peers[1].port".
func (p path) String() string {
	var b strings.Builder
	for i, e := range p {
		switch {
		case e.isIdx:
			fmt.Fprintf(&b, "[%d]", e.index)
		case i > 0:
			b.WriteString("." + e.key)
		default:
			b.WriteString(e.key)
		}
	}
	return b.String()
}

// visit is a node checked as a type; each is checked once, so that a
// document aliasing an anchor many times costs no more than its size.
type visit struct {
	node *yaml.Node
	typ  reflect.Type
}

// locator walks a document alongside a Go type and collects the problems.
type locator struct {
	what      string
	errs      []*Error
	seen      map[visit]bool
	following map[*yaml.Node]bool // aliases being followed, to catch an anchor inside itself
	structs   map[reflect.Type]*structInfo
}

func (l *locator) add(n *yaml.Node, p path, msg string) {
	key := p.String()
	l.errs = append(l.errs, &Error{Line: max(n.Line, 1), Key: key, Msg: withKey(key, msg)})
}

var (
	nodeType             = reflect.TypeFor[yaml.Node]()
	durationType         = reflect.TypeFor[time.Duration]()
	anyType              = reflect.TypeFor[any]()
	unmarshalerType      = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshalerType  = reflect.TypeFor[encoding.TextUnmarshaler]()
	obsoleteUnmarshalerT = reflect.TypeFor[interface {
		UnmarshalYAML(unmarshal func(any) error) error
	}]()
)

// node checks n decoded into a value of type t at path p. merged is not nil
// while n is a mapping merged into another with "<<": it holds the keys
// already set, which the merge skips.
func (l *locator) node(n *yaml.Node, t reflect.Type, p path, merged map[string]bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 1 {
			l.node(n.Content[0], t, p, merged)
		}
		return
	case yaml.AliasNode:
		l.alias(n, t, p, merged)
		return
	}
	if t == nodeType {
		return
	}
	if n.ShortTag() == "!!null" && n.Kind == yaml.ScalarNode {
		return // a null leaves the value alone
	}
	t, custom := target(t)
	if custom {
		l.custom(n, t, p)
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		l.scalar(n, t, p)
	case yaml.MappingNode:
		l.mapping(n, t, p, merged)
	case yaml.SequenceNode:
		l.sequence(n, t, p)
	}
}

func (l *locator) alias(n *yaml.Node, t reflect.Type, p path, merged map[string]bool) {
	if n.Alias == nil {
		return
	}
	if l.following[n] {
		l.add(n, p, fmt.Sprintf("anchor %q contains itself", n.Value))
		return
	}
	v := visit{n.Alias, t}
	if l.seen[v] {
		return
	}
	l.seen[v] = true
	l.following[n] = true
	l.node(n.Alias, t, p, merged)
	delete(l.following, n)
}

// target dereferences t as yaml.v3 does and reports whether a level of it
// decodes itself (UnmarshalYAML).
func target(t reflect.Type) (reflect.Type, bool) {
	for {
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		pt := reflect.PointerTo(t)
		if pt.Implements(unmarshalerType) || pt.Implements(obsoleteUnmarshalerT) {
			return t, true
		}
		if t.Kind() != reflect.Pointer {
			return t, false
		}
	}
}

// custom checks a value whose type decodes itself. Its message is the
// type's own, which names the offending value, so the problem is reported
// under the key that holds it rather than an index into a list of values.
func (l *locator) custom(n *yaml.Node, t reflect.Type, p path) {
	err := guard(func() error { return n.Decode(reflect.New(t).Interface()) })
	if err != nil {
		l.add(n, trimIndexes(p), yamlMessage(err))
	}
}

func trimIndexes(p path) path {
	for len(p) > 0 && p[len(p)-1].isIdx {
		p = p[:len(p)-1]
	}
	return p
}

// scalar checks a scalar by decoding it alone: a scalar holds nothing that
// strict decoding could refuse, so yaml.v3's verdict on it is exact.
func (l *locator) scalar(n *yaml.Node, t reflect.Type, p path) {
	err := guard(func() error { return n.Decode(reflect.New(t).Interface()) })
	if err == nil {
		return
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		// UnmarshalText failed: its message is the type's own.
		l.add(n, trimIndexes(p), yamlMessage(err))
		return
	}
	l.add(n, p, mismatch(t, n))
}

func (l *locator) sequence(n *yaml.Node, t reflect.Type, p path) {
	elem := anyType
	switch t.Kind() {
	case reflect.Interface:
	case reflect.Slice:
		elem = t.Elem()
	case reflect.Array:
		if len(n.Content) != t.Len() {
			l.add(n, p, fmt.Sprintf("expected a list of %d items, got %d", t.Len(), len(n.Content)))
			return
		}
		elem = t.Elem()
	default:
		l.add(n, p, mismatch(t, n))
		return
	}
	for i, c := range n.Content {
		l.node(c, elem, p.index(i), nil)
	}
}

func (l *locator) mapping(n *yaml.Node, t reflect.Type, p path, merged map[string]bool) {
	if l.duplicates(n, p) {
		return // yaml.v3 decodes nothing of a mapping with a key given twice
	}
	switch t.Kind() {
	case reflect.Struct:
		l.mappingStruct(n, t, p, merged)
	case reflect.Map:
		l.mappingMap(n, t, t.Key(), t.Elem(), p, merged)
	case reflect.Interface:
		l.mappingMap(n, t, anyType, anyType, p, merged)
	default:
		l.add(n, p, mismatch(t, n))
	}
}

// duplicates reports every key of n that an earlier key of n repeats (the
// same kind and text, as yaml.v3 compares them).
func (l *locator) duplicates(n *yaml.Node, p path) bool {
	type keyID struct {
		kind  yaml.Kind
		value string
	}
	first := make(map[keyID]*yaml.Node, len(n.Content)/2)
	found := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		id := keyID{k.Kind, k.Value}
		f, ok := first[id]
		if !ok {
			first[id] = k
			continue
		}
		found = true
		kp := p
		if k.Kind == yaml.ScalarNode {
			kp = p.key(k.Value)
		}
		l.errs = append(l.errs, &Error{Line: max(k.Line, 1), Key: kp.String(),
			Msg: fmt.Sprintf("duplicate key %q, first set at line %d", kp.String(), f.Line)})
	}
	return found
}

func (l *locator) mappingStruct(n *yaml.Node, t reflect.Type, p path, merged map[string]bool) {
	info, err := l.structInfo(t)
	if err != nil {
		l.add(n, p, err.Error())
		return
	}
	for _, it := range info.inlineCustom {
		l.custom(n, it, p)
	}
	var mergeNode *yaml.Node
	setAt := make(map[int]int) // field id → line of the key that set it
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			mergeNode = v
			continue
		}
		name, ok := l.stringKey(k, p)
		if !ok {
			continue
		}
		if merged != nil {
			if merged[name] {
				continue
			}
			merged[name] = true
		}
		kp := p.key(name)
		f, known := info.fields[name]
		switch {
		case known:
			if line, dup := setAt[f.id]; dup {
				l.add(k, kp, fmt.Sprintf("duplicate key %q, first set at line %d", kp.String(), line))
				continue
			}
			setAt[f.id] = k.Line
			l.node(v, f.typ, kp, nil)
		case info.inlineMap != nil:
			l.node(v, info.inlineMap, kp, nil)
		default:
			l.errs = append(l.errs, &Error{Line: max(k.Line, 1), Key: kp.String(),
				Msg: fmt.Sprintf("unknown key %q in %s config", kp.String(), l.what)})
		}
	}
	if mergeNode != nil {
		l.merge(n, mergeNode, t, p, merged)
	}
}

// stringKey returns the text of a key decoded into a struct field name; ok
// is false when yaml.v3 skips the key (a null) or refuses it (reported).
func (l *locator) stringKey(k *yaml.Node, p path) (string, bool) {
	r := resolve(k)
	if r == nil || r.ShortTag() == "!!null" {
		return "", false
	}
	var s string
	if err := guard(func() error { return k.Decode(&s) }); err != nil {
		l.add(k, p, "a key must be a string, got "+describeNode(r))
		return "", false
	}
	return s, true
}

// mappingMap checks a mapping decoded into t, a map or an interface, with
// keys of type kt and values of type et.
func (l *locator) mappingMap(n *yaml.Node, t, kt, et reflect.Type, p path, merged map[string]bool) {
	var mergeNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			mergeNode = v
			continue
		}
		r := resolve(k)
		if r == nil {
			continue
		}
		if r.Kind != yaml.ScalarNode {
			// A list or mapping as a key fits no Go map key.
			l.add(k, p, "a key must be a scalar, got "+describeNode(r))
			continue
		}
		if r.ShortTag() == "!!null" && !nullable(kt) {
			continue // yaml.v3 skips the entry
		}
		before := len(l.errs)
		l.node(k, kt, p.key(r.Value), nil)
		if len(l.errs) > before {
			continue
		}
		if merged != nil {
			if merged[r.Value] {
				continue
			}
			merged[r.Value] = true
		}
		l.node(v, et, p.key(r.Value), nil)
	}
	if mergeNode != nil {
		l.merge(n, mergeNode, t, p, merged)
	}
}

func nullable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice:
		return true
	}
	return false
}

// merge checks the mappings merged into parent by "<<". Their keys join the
// parent's path, and keys the parent (or an earlier merged mapping) sets
// are skipped, as yaml.v3 skips them.
func (l *locator) merge(parent, m *yaml.Node, t reflect.Type, p path, merged map[string]bool) {
	if merged == nil {
		merged = make(map[string]bool)
		for i := 0; i+1 < len(parent.Content); i += 2 {
			if r := resolve(parent.Content[i]); r != nil && r.Kind == yaml.ScalarNode {
				merged[r.Value] = true
			}
		}
	}
	const wantMap = "a merge (<<) needs a mapping or a list of mappings"
	items := []*yaml.Node{m}
	if m.Kind == yaml.SequenceNode {
		items = m.Content
	}
	for _, it := range items {
		if r := resolve(it); r == nil || r.Kind != yaml.MappingNode {
			l.add(it, p, wantMap)
			return
		}
	}
	for _, it := range items {
		l.node(it, t, p, merged)
	}
}

func isMerge(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" && (n.Tag == "" || n.Tag == "!" || n.ShortTag() == "!!merge")
}

// resolve follows aliases to the node they name, or returns nil for an
// alias that leads back to itself.
func resolve(n *yaml.Node) *yaml.Node {
	for range 64 {
		if n == nil || n.Kind != yaml.AliasNode {
			return n
		}
		n = n.Alias
	}
	return nil
}

// structInfo is what yaml.v3 knows of a struct: the fields by key, the
// inline map that takes the other keys, and inline structs that decode
// themselves from the whole mapping.
type structInfo struct {
	fields       map[string]fieldInfo
	inlineMap    reflect.Type // element type; nil without an inline map
	inlineCustom []reflect.Type
}

type fieldInfo struct {
	id  int
	typ reflect.Type
}

// structInfo follows yaml.v3's getStructInfo: exported (or embedded)
// fields, named by their yaml tag or their lowercased name, and ",inline"
// structs and maps. An invalid tag is an error, as it is to yaml.v3.
func (l *locator) structInfo(t reflect.Type) (*structInfo, error) {
	if info, ok := l.structs[t]; ok {
		return info, nil
	}
	info := &structInfo{fields: map[string]fieldInfo{}}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "" && !strings.Contains(string(f.Tag), ":") {
			tag = string(f.Tag)
		}
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		inline := false
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "", "omitempty", "flow":
			case "inline":
				inline = true
			default:
				return nil, fmt.Errorf("cannot decode into %s: unsupported flag %q in yaml tag of field %s", t, o, f.Name)
			}
		}
		if !inline {
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			info.fields[name] = fieldInfo{id: len(info.fields), typ: f.Type}
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Map {
			info.inlineMap = ft.Elem()
			continue
		}
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() != reflect.Struct {
			return nil, fmt.Errorf("cannot decode into %s: field %s is inline but not a struct or map", t, f.Name)
		}
		if reflect.PointerTo(ft).Implements(unmarshalerType) {
			info.inlineCustom = append(info.inlineCustom, ft)
			continue
		}
		inner, err := l.structInfo(ft)
		if err != nil {
			return nil, err
		}
		info.inlineCustom = append(info.inlineCustom, inner.inlineCustom...)
		for k, fi := range inner.fields {
			info.fields[k] = fieldInfo{id: len(info.fields), typ: fi.typ}
		}
	}
	l.structs[t] = info
	return info, nil
}

func withKey(key, msg string) string {
	if key == "" {
		return msg
	}
	return fmt.Sprintf("key %q: %s", key, msg)
}

// mismatch describes a value n that does not fit type t.
func mismatch(t reflect.Type, n *yaml.Node) string {
	want, collection := describeType(t)
	got := describeNode(n)
	switch {
	case collection || n.Kind != yaml.ScalarNode:
		return fmt.Sprintf("expected %s, got %s", want, got)
	case t == durationType && isNumber(n.Value):
		// The unit of a bare number would be a guess (nanoseconds in
		// Go, seconds to most people), so it is refused.
		return fmt.Sprintf("cannot parse %s as duration: a duration needs a unit, e.g. \"5s\"", got)
	case n.ShortTag() == "!!int" && isIntKind(t.Kind()):
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

// maxShown bounds the part of a value quoted in a message.
const maxShown = 40

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "*" + n.Value
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

// placeCheckErrors turns the result of Checker.CheckConfig into *Error
// values placed at the line of the key each names.
func placeCheckErrors(file string, doc *yaml.Node, err error) error {
	var errs []error
	for _, e := range leaves(err) {
		ce := &Error{File: file, Msg: e.Error()}
		var k interface{ ConfigKey() string }
		if errors.As(e, &k) {
			ce.Key = k.ConfigKey()
			if n := findKey(doc, ce.Key); n != nil {
				ce.Line = n.Line
			}
		}
		errs = append(errs, ce)
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// leaves flattens errors.Join trees into their parts.
func leaves(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		if e != nil {
			out = append(out, leaves(e)...)
		}
	}
	return out
}

// findKey returns the key node at the dotted path key ("tls.cert-file",
// "peers[1].port"; a list item gives its first line), or nil when the
// document does not set it.
func findKey(doc *yaml.Node, key string) *yaml.Node {
	n := resolve(doc)
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = resolve(n.Content[0])
	}
	var at *yaml.Node
	for part := range strings.SplitSeq(key, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			if n == nil || n.Kind != yaml.MappingNode {
				return nil
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := resolve(n.Content[i]); k != nil && k.Value == name {
					at, next = n.Content[i], resolve(n.Content[i+1])
				}
			}
			if next == nil {
				return nil
			}
			n = next
		}
		for rest != "" {
			num, tail, ok := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if !ok || err != nil || n == nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return nil
			}
			n = resolve(n.Content[i])
			at = n
			rest = strings.TrimPrefix(tail, "[")
		}
	}
	return at
}
