//go:build !windows

package securitytest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/infra/config"
)

// TestFilesAreWrittenWithSafeModesWhateverTheUmask: with a umask of 0, which
// widens nothing on its own, the template writer and config.Save still give
// 0644 files and the template path is 0755.
func TestFilesAreWrittenWithSafeModesWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)

	dir := filepath.Join(t.TempDir(), "templates")
	m := processmanager.NewPlugin(processmanager.UseConf(processmanager.Config{TemplatePath: dir}))
	if err := m.Init(); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.NewProcess("/bin/true", processmanager.WithName("modes"), processmanager.Template(false)); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "saved.conf")
	if err := config.Save(conf, map[string]string{"k": "v"}, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want fs.FileMode
	}{
		{dir, 0o755 | fs.ModeDir},
		{filepath.Join(dir, "modes.json"), 0o644},
		{conf, 0o644},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (fs.ModePerm | fs.ModeDir); got != c.want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(c.path), got, c.want)
		}
	}
}

// TestNoCodeWritesWorldWritableFiles scans the module's code (tests aside)
// for file modes wider than 0755: literal modes in calls that create files
// or directories, and os.ModePerm.
func TestNoCodeWritesWorldWritableFiles(t *testing.T) {
	root := filepath.Join("..", "..")
	creators := map[string]int{ // function name → index of the mode argument
		"WriteFile": 2, "OpenFile": 2, "Mkdir": 1, "MkdirAll": 1, "Chmod": 1, "MkdirTemp": -1, "Save": 2,
	}
	scanned := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != root || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		scanned++
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "ModePerm" {
				if id, ok := sel.X.(*ast.Ident); ok && (id.Name == "os" || id.Name == "fs") {
					t.Errorf("%s: %s.ModePerm is 0777", path, id.Name)
				}
			}
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			var name string
			switch fn := call.Fun.(type) {
			case *ast.SelectorExpr:
				name = fn.Sel.Name
			case *ast.Ident:
				name = fn.Name
			}
			i, ok := creators[name]
			if !ok || i < 0 || i >= len(call.Args) {
				return true
			}
			lit, ok := call.Args[i].(*ast.BasicLit)
			if !ok || lit.Kind != token.INT {
				return true
			}
			var mode uint64
			if _, err := parseMode(lit.Value, &mode); err == nil && mode&0o022 != 0 {
				t.Errorf("%s: %s with mode %s lets group or others write", path, name, lit.Value)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 50 {
		t.Fatalf("scanned %d files; the walk missed the module", scanned)
	}
}

// parseMode parses a Go integer literal (0o644, 0644, 420).
func parseMode(s string, v *uint64) (int, error) {
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, err
	}
	*v = n
	return 1, nil
}
