package layers

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// A Layer is a named set of packages. A pattern is a package path relative
// to the module root: "infra" is that package only, "infra/kvdb/..." is
// infra/kvdb and every package under it. A package belongs to the layer of
// the longest pattern that matches it, so "infra" (the plugin contract) and
// "infra/rest/..." (a plugin) can sit in different layers.
type Layer struct {
	Name     string
	Patterns []string
}

// Layers lists the layers bottom up. A package may import packages of its
// own layer and of the layers below; an import from a higher layer is a
// violation. Only non-test files count: see the test for why.
//
// Two kinds of helper packages follow rules of their own, both written as
// patterns below:
//
//   - Test kits (agenttest, configtest, etcdtest, kvdbtest, idxmaptest,
//     logmanagertest, kafkatest, exampletest) live under the package they
//     help test and belong to its layer through its "/..." pattern: a kit
//     may import its own layer and below, so a kit never drags a higher
//     layer into the tests that use it, and it may be imported (by non-test
//     code) only from its own layer and above.
//   - Packages under internal/ are small helpers that import no Plinth
//     package (freeport, testpki, backoff, testwait, layers), so they are
//     foundation and any layer may use them: "internal/..." is a foundation
//     pattern. The exceptions wire whole agents (the fault suite, the fleet
//     simulator, the security and input sweeps) and are named one by one
//     with the programs. A new helper that imports a plugin is told so by
//     the check and is then named here too.
//
// The bench module is a separate Go module and outside the check; nothing
// in this module may import it anyway.
var Layers = []Layer{
	{
		// The plugin contract, configuration, logging and the status
		// contract: nothing here imports a plugin.
		Name: "foundation",
		Patterns: []string{
			"infra", "infra/config/...", "infra/status/...",
			"logging", "logging/measure/...",
			"internal/...",
		},
	},
	{
		// Lifecycle, discovery and injection. It knows plugins only
		// through the contract in package infra.
		Name:     "agent",
		Patterns: []string{"agent/..."},
	},
	{
		// The plugins every agent shares. logging/logmanager is here, not in
		// the foundation with logging: it is a plugin serving HTTP (it
		// imports infra/rest and servicelabel). A plugin here that must tell
		// a higher one something takes a callback or an interface of
		// infra/status (the HTTP server reports through status.Writer).
		Name:     "infrastructure plugins",
		Patterns: []string{"infra/rest/...", "infra/kvdb/...", "servicelabel/...", "logging/logmanager/..."},
	},
	{
		// Plugins built on the infrastructure. health/statuscheck
		// implements infra/status; messaging/kafka and exec report to it.
		Name:     "plugins",
		Patterns: []string{"health/...", "idxmap/...", "messaging/...", "exec/..."},
	},
	{
		// The operator's page: it may import every plugin; nothing but a
		// program imports it.
		Name:     "dashboard",
		Patterns: []string{"dashboard/..."},
	},
	{
		// Programs and whole-agent suites: nothing imports them but
		// themselves (examples/internal/exampletest).
		Name: "programs",
		Patterns: []string{
			"cmd/...", "examples/...",
			"internal/faultsuite/...", "internal/fleetsim/...", "internal/inputsweep/...", "internal/securitytest/...",
		},
	},
}

// Of returns the index in Layers of the layer of the package at rel (a path
// relative to the module root) and false when no pattern matches it.
func Of(rel string) (int, bool) {
	best, bestLen := -1, -1
	for i, l := range Layers {
		for _, p := range l.Patterns {
			if matches(p, rel) && len(p) > bestLen {
				best, bestLen = i, len(p)
			}
		}
	}
	return best, best >= 0
}

func matches(pattern, rel string) bool {
	if dir, ok := strings.CutSuffix(pattern, "/..."); ok {
		return rel == dir || strings.HasPrefix(rel, dir+"/")
	}
	return rel == pattern
}

// A Violation is an import that breaks the layers: a package imports one
// from a higher layer, or a package matches no pattern.
type Violation struct {
	Importer, Imported string // relative paths; Imported is "" for a package in no layer
	From, To           int    // layers of Importer and Imported, -1 for none
}

func (v Violation) String() string {
	if v.From < 0 {
		return fmt.Sprintf("%s is in no layer: add it to a layer in internal/layers/layers.go", v.Importer)
	}
	return fmt.Sprintf("%s (layer %d, %s) imports %s (layer %d, %s): a package may import only from its own layer and below",
		v.Importer, v.From, Layers[v.From].Name, v.Imported, v.To, Layers[v.To].Name)
}

// Check returns the violations in imports, which maps each package of the
// module to the packages it imports; every path is relative to the module
// root, and imports from outside the module are left out by the caller.
// The violations are sorted by importer, then imported package.
func Check(imports map[string][]string) []Violation {
	var vs []Violation
	for pkg, deps := range imports {
		from, ok := Of(pkg)
		if !ok {
			vs = append(vs, Violation{Importer: pkg, From: -1, To: -1})
			continue
		}
		for _, dep := range deps {
			// A dependency in no layer is reported as a package of its own.
			if to, ok := Of(dep); ok && to > from {
				vs = append(vs, Violation{Importer: pkg, Imported: dep, From: from, To: to})
			}
		}
	}
	slices.SortFunc(vs, func(a, b Violation) int {
		return cmp.Or(strings.Compare(a.Importer, b.Importer), strings.Compare(a.Imported, b.Imported))
	})
	return slices.CompactFunc(vs, func(a, b Violation) bool { return a == b })
}
