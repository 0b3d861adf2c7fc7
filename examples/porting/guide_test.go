package porting_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// guide is the porting guide, relative to this package.
const guide = "../../docs/porting-from-cn-infra.md"

// compiledMarker precedes every ```go block of the guide that is copied from
// a file of the module, named relative to the module root.
var compiledMarker = regexp.MustCompile(`^<!-- compiled: (\S+) -->$`)

// TestGuideSnippetsAreCompiled checks that every Go block of the guide marked
// as compiled appears, verbatim, in the file it names, so that the guide
// shows only code that builds and whose examples pass.
func TestGuideSnippetsAreCompiled(t *testing.T) {
	data, err := os.ReadFile(guide)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	checked := 0
	for i := 0; i < len(lines); i++ {
		m := compiledMarker.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		if i+1 >= len(lines) || lines[i+1] != "```go" {
			t.Errorf("%s:%d: the marker must be followed by a ```go line", guide, i+1)
			continue
		}
		start := i + 2
		end := start
		for end < len(lines) && lines[end] != "```" {
			end++
		}
		if end == len(lines) {
			t.Errorf("%s:%d: unterminated ```go block", guide, i+2)
			break
		}
		block := strings.Join(lines[start:end], "\n") + "\n"
		src, err := os.ReadFile(filepath.Join("../..", filepath.FromSlash(m[1])))
		if err != nil {
			t.Errorf("%s:%d: %v", guide, i+1, err)
		} else if !strings.Contains(string(src), block) {
			t.Errorf("%s:%d: the block is not in %s as written:\n%s", guide, i+3, m[1], block)
		}
		checked++
		i = end
	}
	// The guide has an "after" snippet for the agent, the status check,
	// idxmap with CacheHelper, Kafka, the process manager and the
	// supervisor; losing a marker must not pass unnoticed.
	if checked < 8 {
		t.Errorf("%d compiled blocks in %s, want at least 8", checked, guide)
	}
}
