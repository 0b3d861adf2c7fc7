package layers_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/internal/layers"
)

// goosList are the systems every package builds for. Build constraints may
// give a package other imports on another system, so the check reads the
// imports of each and takes their union.
var goosList = []string{"linux", "darwin", "windows"}

// moduleImports runs `go list` over the module for each system and returns
// every package (path relative to the module root) with the packages of the
// module it imports from its non-test files.
//
// Test files are left out on purpose: a package's tests often run it inside
// an agent next to the plugins above it (the HTTP server's tests read what
// it reports through the real status check; the contract's examples start an
// agent), the go tool already refuses the import cycles that could follow,
// and no user imports a test. Test kits (agenttest, etcdtest…) are ordinary
// packages and are checked.
func moduleImports(t *testing.T) map[string][]string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the layer check needs the go tool in PATH: %v", err)
	}
	run := func(env []string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(goTool, args...)
		cmd.Env = append(os.Environ(), env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
		}
		return out
	}
	gomod := strings.TrimSpace(string(run(nil, "env", "GOMOD")))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("go env GOMOD: not inside a module")
	}
	root := filepath.Dir(gomod)
	module := strings.TrimSpace(string(run(nil, "list", "-m")))

	imports := map[string][]string{}
	for _, goos := range goosList {
		out := run([]string{"GOOS=" + goos, "CGO_ENABLED=0"}, "list", "-e", "-json=ImportPath,Imports,Error", root+"/...")
		dec := json.NewDecoder(bytes.NewReader(out))
		for {
			var p struct {
				ImportPath string
				Imports    []string
				Error      *struct{ Err string }
			}
			if err := dec.Decode(&p); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("GOOS=%s go list: decoding: %v", goos, err)
			}
			if p.Error != nil {
				// The build reports it; the imports read so far are still checked.
				t.Logf("GOOS=%s go list: %s: %s", goos, p.ImportPath, p.Error.Err)
			}
			rel, ok := relative(module, p.ImportPath)
			if !ok {
				continue
			}
			deps := imports[rel]
			for _, imp := range p.Imports {
				if r, ok := relative(module, imp); ok && !slices.Contains(deps, r) {
					deps = append(deps, r)
				}
			}
			imports[rel] = deps
		}
	}
	if len(imports) == 0 {
		t.Fatalf("go list found no package in module %s", module)
	}
	return imports
}

func relative(module, path string) (string, bool) {
	if path == module {
		return ".", true
	}
	return strings.CutPrefix(path, module+"/")
}

func TestTreeFollowsTheLayers(t *testing.T) {
	imports := moduleImports(t)
	t.Run("every import points down", func(t *testing.T) {
		for _, v := range layers.Check(imports) {
			t.Error(v)
		}
	})
	// A pattern that matches nothing is a stale line: the package moved or
	// went.
	t.Run("every pattern names a package", func(t *testing.T) { patternsUsed(t, imports) })
}

func patternsUsed(t *testing.T, imports map[string][]string) {
	for _, l := range layers.Layers {
		for _, p := range l.Patterns {
			dir, sub := strings.CutSuffix(p, "/...")
			found := false
			for pkg := range imports {
				if pkg == dir || sub && strings.HasPrefix(pkg, dir+"/") {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("layer %q: pattern %q matches no package of the module", l.Name, p)
			}
		}
	}
}

func TestOfPicksTheLongestPattern(t *testing.T) {
	const none = -1
	tests := []struct {
		pkg  string
		want int
	}{
		{"infra", 0},
		{"infra/status", 0},
		{"infra/config/configtest", 0},
		{"logging/measure", 0},
		{"internal/freeport", 0},
		{"agent/agenttest", 1},
		{"infra/rest", 2},
		{"infra/kvdb/etcd/etcdtest", 2},
		{"logging/logmanager/logmanagertest", 2},
		{"health/statuscheck/model", 3},
		{"exec/processmanager/internal/testhelper", 3},
		{"dashboard", 4},
		{"internal/fleetsim", 5},
		{"internal/newhelper", 0},
		{"examples/internal/exampletest", 5},
		{"infra/newpkg", none},
		{"logging/newpkg", none},
		{"newtop", none},
		{"agents", none},
	}
	for _, tc := range tests {
		got, ok := layers.Of(tc.pkg)
		if !ok {
			got = none
		}
		if got != tc.want {
			t.Errorf("Of(%q) = %d, want %d", tc.pkg, got, tc.want)
		}
	}
}

func TestCheckNamesBothPackagesAndLayers(t *testing.T) {
	got := layers.Check(map[string][]string{
		"infra/rest":         {"infra", "infra/status", "health/statuscheck", "logging"},
		"health/statuscheck": {"infra/status", "infra/kvdb", "servicelabel"},
		"agent":              {"infra", "agent/agenttest"},
		"dashboard":          {"exec/supervisor", "examples/agent"},
		"mystery":            {"infra"},
	})
	var msgs []string
	for _, v := range got {
		msgs = append(msgs, v.String())
	}
	want := []string{
		"dashboard (layer 4, dashboard) imports examples/agent (layer 5, programs): a package may import only from its own layer and below",
		"infra/rest (layer 2, infrastructure plugins) imports health/statuscheck (layer 3, plugins): a package may import only from its own layer and below",
		"mystery is in no layer: add it to a layer in internal/layers/layers.go",
	}
	if !slices.Equal(msgs, want) {
		t.Errorf("Check() =\n%s\nwant\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
}
