package agent

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/logging"
)

// tagKey is the struct tag that changes how the agent treats a field:
// `plinth:"optional"` leaves a nil field nil when no plugin provides its type,
// `plinth:"unordered"` fills or follows the field without making it a start
// dependency, `plinth:"ordered"` makes it one even when its provider is an
// UnorderedProvider, and `plinth:"-"` makes the agent ignore the field
// entirely. Options combine with commas: `plinth:"optional,unordered"`.
const tagKey = "plinth"

// fieldTag is a parsed plinth tag.
type fieldTag struct {
	skip, optional, unordered, ordered bool
}

// UnorderedProvider is implemented by a plugin that other plugins may call,
// through the interfaces it lists, at any time: from its construction on,
// before and during its own Init, and after its Close. Such a plugin is a
// sink: a status check that collects the reports of every plugin, while it
// depends itself on a store that reports to it too.
//
// A field whose type is one of the listed interfaces, or an interface whose
// methods all belong to one of them (a small interface defined by the
// consumer), is filled or followed as usual but is not a start dependency,
// exactly as if it were tagged `plinth:"unordered"`: the field needs no tag
// and forms no cycle. A field of another type holding the same plugin (its
// pointer type, or an interface with other methods) still makes it start
// first. The tag `plinth:"ordered"` restores the order for one field.
//
// The rule decides the order, not whether the field is required: a field
// that no plugin provides is still an error unless it is tagged
// `plinth:"optional"`, so that a plugin that calls its field without a nil
// check learns at New, not with a panic at start, that the provider is
// missing.
type UnorderedProvider interface {
	// UnorderedTypes returns the interface types through which the plugin
	// may be called at any time; reflect.TypeFor[T]() gives one. New calls
	// it once, before any Init. Each must be an interface that the plugin
	// implements, else New fails naming the plugin.
	UnorderedTypes() []reflect.Type
}

func parseTag(path, tag string) (fieldTag, error) {
	var t fieldTag
	if tag == "" {
		return t, nil
	}
	if tag == "-" {
		t.skip = true
		return t, nil
	}
	for opt := range strings.SplitSeq(tag, ",") {
		switch strings.TrimSpace(opt) {
		case "optional":
			t.optional = true
		case "unordered":
			t.unordered = true
		case "ordered":
			t.ordered = true
		default:
			return t, fmt.Errorf("agent: %s: unknown option %q in tag `plinth:%q` (want optional, unordered, ordered or -)", path, opt, tag)
		}
	}
	if t.ordered && t.unordered {
		return t, fmt.Errorf("agent: %s: tag `plinth:%q` says both ordered and unordered", path, tag)
	}
	return t, nil
}

// orders reports whether a field with this tag and static type t, holding
// the plugin d, makes d a start dependency.
func (t fieldTag) orders(d *node, typ reflect.Type) bool {
	switch {
	case t.ordered:
		return true
	case t.unordered:
		return false
	}
	return !d.unorderedFor(typ)
}

var (
	pluginType   = reflect.TypeFor[infra.Plugin]()
	registryType = reflect.TypeFor[*logging.Registry]()
	infoType     = reflect.TypeFor[*infra.AgentInfo]()
)

// node is one plugin of the agent and its edges.
type node struct {
	plugin infra.Plugin
	name   string
	typ    reflect.Type
	found  string  // where the plugin was found: "root[0]" or "a.Deps.B"
	deps   []*node // direct dependencies, in field order, without duplicates
	depVia []string
	// uses are the plugins n holds in unordered fields, for Graph and DOT
	// only: they do not take part in the order.
	uses    []*node
	usesVia []string
	// unordered are the interfaces the plugin may be called through at any
	// time (UnorderedProvider).
	unordered []reflect.Type
	index     int // position in the start order
}

func (n *node) addDep(d *node, via string) {
	if !slices.Contains(n.deps, d) {
		n.deps = append(n.deps, d)
		n.depVia = append(n.depVia, via)
	}
}

func (n *node) addUse(d *node, via string) {
	if !slices.Contains(n.uses, d) {
		n.uses = append(n.uses, d)
		n.usesVia = append(n.usesVia, via)
	}
}

// link records that n holds d in the field at via, of static type typ.
func (n *node) link(d *node, via string, tag fieldTag, typ reflect.Type) {
	switch {
	case d == n:
	case tag.orders(d, typ):
		n.addDep(d, via)
	default:
		n.addUse(d, via)
	}
}

// unorderedFor reports whether a field of type t may hold n without n
// starting first: t is an interface whose methods all belong to one of the
// interfaces n may be called through at any time.
func (n *node) unorderedFor(t reflect.Type) bool {
	if t.Kind() != reflect.Interface || t.NumMethod() == 0 {
		return false
	}
	for _, u := range n.unordered {
		if u.Implements(t) {
			return true
		}
	}
	return false
}

// readUnordered asks an UnorderedProvider for its interfaces and checks them.
func (n *node) readUnordered() error {
	up, ok := n.plugin.(UnorderedProvider)
	if !ok {
		return nil
	}
	var errs []error
	for _, u := range up.UnorderedTypes() {
		switch {
		case u == nil:
			errs = append(errs, fmt.Errorf("agent: %s: %s.UnorderedTypes lists a nil type (use reflect.TypeFor[T]() for an interface T)", n.found, n.typ))
		case u.Kind() != reflect.Interface:
			errs = append(errs, fmt.Errorf("agent: %s: %s.UnorderedTypes lists %s, which is not an interface (list the interfaces through which the plugin may be called at any time)", n.found, n.typ, u))
		case !n.typ.Implements(u):
			errs = append(errs, fmt.Errorf("agent: %s: %s.UnorderedTypes lists %s, which %s does not implement", n.found, n.typ, u, n.typ))
		default:
			n.unordered = append(n.unordered, u)
		}
	}
	return errors.Join(errs...)
}

// graph is the set of plugins of an agent, in discovery order.
type graph struct {
	nodes []*node
	byKey map[infra.Plugin]*node
}

// discover collects the roots and every plugin reachable from them through
// non-nil exported fields, embedded structs and slices.
func discover(roots []infra.Plugin) (*graph, error) {
	g := &graph{byKey: make(map[infra.Plugin]*node)}
	var errs []error
	for i, p := range roots {
		if _, err := g.add(p, fmt.Sprintf("AllPlugins[%d]", i), &errs); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := g.checkNames(); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *graph) add(p infra.Plugin, found string, errs *[]error) (*node, error) {
	if p == nil {
		return nil, fmt.Errorf("agent: %s: plugin is nil", found)
	}
	v := reflect.ValueOf(p)
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return nil, fmt.Errorf("agent: %s: plugin is a nil %T", found, p)
	}
	if n, ok := g.byKey[p]; ok {
		return n, nil
	}
	n := &node{plugin: p, typ: v.Type(), found: found}
	g.byKey[p] = n
	g.nodes = append(g.nodes, n)
	if err := n.readUnordered(); err != nil {
		*errs = append(*errs, err)
	}
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		n.name = p.String() // the name is only needed for paths below; checked later
		g.walk(n, v.Elem(), n.label(), errs)
	}
	return n, nil
}

// label names a node in field paths before names are validated.
func (n *node) label() string {
	if n.name != "" {
		return n.name
	}
	return n.typ.String()
}

// walk follows the fields of the struct value v owned by n.
func (g *graph) walk(n *node, v reflect.Value, path string, errs *[]error) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() && !embeddedStruct(f) {
			continue
		}
		fpath := path + "." + f.Name
		tag, err := parseTag(fpath, f.Tag.Get(tagKey))
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		if tag.skip {
			continue
		}
		fv := v.Field(i)
		if embeddedStruct(f) {
			g.walk(n, fv, fpath, errs)
			continue
		}
		g.follow(n, fv, fpath, tag, errs)
	}
}

// embeddedStruct reports whether f is an embedded struct (not a pointer),
// whose exported fields are the plugin's own even when the struct type is
// unexported: reflect can set them, so they are followed and injected too.
func embeddedStruct(f reflect.StructField) bool {
	return f.Anonymous && f.Type.Kind() == reflect.Struct
}

// follow records a dependency on the plugin held by fv, if any. The static
// type of fv (the field's, or the element's in a slice) decides, with the
// tag, whether the dependency orders the start.
func (g *graph) follow(n *node, fv reflect.Value, path string, tag fieldTag, errs *[]error) {
	switch fv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if fv.IsNil() {
			return
		}
		if p, ok := fv.Interface().(infra.Plugin); ok {
			g.link(n, p, path, tag, fv.Type(), errs)
		}
	case reflect.Struct:
		if fv.CanAddr() {
			if p, ok := fv.Addr().Interface().(infra.Plugin); ok {
				g.link(n, p, path, tag, fv.Type(), errs)
			}
		}
	case reflect.Slice, reflect.Array:
		for j := range fv.Len() {
			g.follow(n, fv.Index(j), fmt.Sprintf("%s[%d]", path, j), tag, errs)
		}
	}
}

func (g *graph) link(n *node, p infra.Plugin, path string, tag fieldTag, typ reflect.Type, errs *[]error) {
	d, err := g.add(p, path, errs)
	if err != nil {
		*errs = append(*errs, err)
		return
	}
	n.link(d, path, tag, typ)
}

func (g *graph) checkNames() error {
	var errs []error
	seen := make(map[string]*node)
	for _, n := range g.nodes {
		n.name = n.plugin.String()
		if n.name == "" {
			errs = append(errs, fmt.Errorf("agent: %s: plugin %s has an empty name (embed infra.PluginDeps and set its name, usually in NewPlugin)", n.found, n.typ))
			continue
		}
		if prev, ok := seen[n.name]; ok {
			errs = append(errs, fmt.Errorf("agent: duplicate plugin name %q: %s at %s and %s at %s", n.name, prev.typ, prev.found, n.typ, n.found))
			continue
		}
		seen[n.name] = n
	}
	return errors.Join(errs...)
}

// InjectionError reports a nil field that the agent could not fill.
type InjectionError struct {
	// Field is the path of the field, e.g. "myplugin.Deps.KV".
	Field string
	// Type is the type of the field.
	Type reflect.Type
	// Candidates lists the plugins that provide Type ("name (type)"); empty
	// when no plugin does.
	Candidates []string
}

func (e *InjectionError) Error() string {
	if len(e.Candidates) == 0 {
		return fmt.Sprintf("agent: %s: no plugin provides %s (add one to agent.AllPlugins, set the field in code, or tag it `plinth:\"optional\"`)", e.Field, e.Type)
	}
	return fmt.Sprintf("agent: %s: %d plugins provide %s: %s (set the field in code to choose one)", e.Field, len(e.Candidates), e.Type, strings.Join(e.Candidates, ", "))
}

// inject fills nil interface and plugin-pointer fields of every plugin with
// the single plugin that satisfies them.
func (g *graph) inject(logs *logging.Registry, info *infra.AgentInfo) error {
	var errs []error
	for _, n := range g.nodes {
		v := reflect.ValueOf(n.plugin)
		if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
			g.injectStruct(n, v.Elem(), n.name, logs, info, &errs)
		}
	}
	return errors.Join(errs...)
}

func (g *graph) injectStruct(n *node, v reflect.Value, path string, logs *logging.Registry, info *infra.AgentInfo, errs *[]error) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		fpath := path + "." + f.Name
		tag, err := parseTag(fpath, f.Tag.Get(tagKey))
		if (!f.IsExported() && !embeddedStruct(f)) || tag.skip || err != nil {
			continue // tag errors were reported by discover
		}
		fv := v.Field(i)
		if embeddedStruct(f) {
			g.injectStruct(n, fv, fpath, logs, info, errs)
			continue
		}
		if !fv.CanSet() || !isNil(fv) {
			continue
		}
		switch f.Type {
		case registryType:
			fv.Set(reflect.ValueOf(logs))
			continue
		case infoType:
			fv.Set(reflect.ValueOf(info))
			continue
		}
		if !injectable(f.Type) {
			continue
		}
		var cands []*node
		for _, c := range g.nodes {
			if c != n && provides(c, f.Type) {
				cands = append(cands, c)
			}
		}
		switch {
		case len(cands) == 1:
			fv.Set(reflect.ValueOf(cands[0].plugin))
			n.link(cands[0], fpath, tag, f.Type)
		case len(cands) == 0 && tag.optional:
		default:
			e := &InjectionError{Field: fpath, Type: f.Type}
			for _, c := range cands {
				e.Candidates = append(e.Candidates, fmt.Sprintf("%s (%s)", c.name, c.typ))
			}
			*errs = append(*errs, e)
		}
	}
}

func isNil(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// injectable reports whether a nil field of type t is filled by the agent:
// non-empty interfaces and pointers to plugin types.
func injectable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Interface:
		return t.NumMethod() > 0
	case reflect.Pointer:
		return t.Implements(pluginType)
	}
	return false
}

func provides(c *node, t reflect.Type) bool {
	if t.Kind() == reflect.Interface {
		return c.typ.Implements(t)
	}
	return c.typ == t
}

// CycleError reports plugins that depend on each other.
type CycleError struct {
	// Plugins is the cycle, starting and ending with the same plugin name.
	Plugins []string
	// Fields are the fields that form the cycle, one per edge.
	Fields []string
}

func (e *CycleError) Error() string {
	return fmt.Sprintf("agent: dependency cycle: %s (via %s); to break it, tag `plinth:\"unordered\"` a field whose plugin is used only from AfterInit on or accepts calls before its Init",
		strings.Join(e.Plugins, " -> "), strings.Join(e.Fields, ", "))
}

// sort orders the plugins dependencies first. The order is stable: roots in
// the order given, dependencies in field order.
func (g *graph) sort() ([]*node, error) {
	const (
		unvisited = iota
		visiting
		done
	)
	type step struct {
		n   *node
		via string // the field that led to n
	}
	state := make(map[*node]int, len(g.nodes))
	order := make([]*node, 0, len(g.nodes))
	var stack []step
	var visit func(n *node, via string) error
	visit = func(n *node, via string) error {
		switch state[n] {
		case done:
			return nil
		case visiting:
			i := 0
			for stack[i].n != n {
				i++
			}
			e := &CycleError{}
			for _, s := range stack[i:] {
				e.Plugins = append(e.Plugins, s.n.name)
			}
			for _, s := range stack[i+1:] {
				e.Fields = append(e.Fields, s.via)
			}
			e.Plugins = append(e.Plugins, n.name)
			e.Fields = append(e.Fields, via)
			return e
		}
		state[n] = visiting
		stack = append(stack, step{n, via})
		for j, d := range n.deps {
			if err := visit(d, n.depVia[j]); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		n.index = len(order)
		order = append(order, n)
		return nil
	}
	for _, n := range g.nodes {
		if err := visit(n, ""); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// text renders the start order with each plugin's dependencies, then the
// plugins it holds without depending on them ("~>").
func text(order []*node) string {
	var b strings.Builder
	for _, n := range order {
		fmt.Fprintf(&b, "%d. %s (%s)\n", n.index+1, n.name, n.typ)
		for j, d := range n.deps {
			fmt.Fprintf(&b, "     -> %s (%s)\n", d.name, n.depVia[j])
		}
		for j, d := range n.uses {
			if !slices.Contains(n.deps, d) {
				fmt.Fprintf(&b, "     ~> %s (%s, unordered)\n", d.name, n.usesVia[j])
			}
		}
	}
	return b.String()
}

// dot renders the dependency graph in Graphviz dot; edges point from a
// plugin to what it depends on, dashed when the plugin only holds it
// (unordered).
func dot(order []*node) string {
	var b strings.Builder
	b.WriteString("digraph agent {\n\trankdir=BT;\n\tnode [shape=box];\n")
	for _, n := range order {
		fmt.Fprintf(&b, "\t%q [label=%q];\n", n.name, n.name+"\n"+n.typ.String())
	}
	for _, n := range order {
		deps := append([]*node(nil), n.deps...)
		sort.SliceStable(deps, func(i, j int) bool { return deps[i].index < deps[j].index })
		for _, d := range deps {
			fmt.Fprintf(&b, "\t%q -> %q;\n", n.name, d.name)
		}
		var uses []*node
		for _, d := range n.uses {
			if !slices.Contains(n.deps, d) {
				uses = append(uses, d)
			}
		}
		sort.SliceStable(uses, func(i, j int) bool { return uses[i].index < uses[j].index })
		for _, d := range uses {
			fmt.Fprintf(&b, "\t%q -> %q [style=dashed];\n", n.name, d.name)
		}
	}
	b.WriteString("}\n")
	return b.String()
}
