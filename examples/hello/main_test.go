package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/plinth-go/plinth/examples/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

const (
	readme = "../../README.md"
	// marker precedes the README's Go block that must be this program.
	marker = "<!-- compiled: examples/hello/main.go -->"
	// runTimeout bounds a run of the program: far above what an idle
	// machine needs, for a loaded one.
	runTimeout = 60 * time.Second
)

// TestReadmeShowsThisProgram checks that the agent the README shows is
// this file from "package main" on, character for character, so that the
// README shows a program that builds and runs.
func TestReadmeShowsThisProgram(t *testing.T) {
	doc, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), marker+"\n```go\n")
	if !ok {
		t.Fatalf("%s has no %q followed by a ```go block", readme, marker)
	}
	block, _, ok := strings.Cut(after, "```\n")
	if !ok {
		t.Fatalf("%s: the block after %q is not terminated", readme, marker)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, program, _ := strings.Cut(string(src), "\npackage main\n")
	if want := "package main\n" + program; block != want {
		t.Errorf("the README's agent differs from main.go:\n--- README\n%s--- main.go\n%s", block, want)
	}
}

// TestRunsUntilInterrupted runs the program as a user does: its plugin
// logs at Init, and Ctrl-C stops the agent with exit code 0.
func TestRunsUntilInterrupted(t *testing.T) {
	p := exampletest.Start(t, exampletest.Command{Binary: exampletest.Binary(t, "github.com/plinth-go/plinth/examples/hello")})
	p.WaitOutput(t, `msg=hello logger=hello`, runTimeout)
	if code := p.Interrupt(t, runTimeout); code != 0 {
		t.Fatalf("exit code %d after SIGINT, want 0:\n%s", code, p.Output())
	}
	if out := p.Output(); !strings.Contains(out, "agent stopped") {
		t.Errorf("output lacks %q:\n%s", "agent stopped", out)
	}
}
