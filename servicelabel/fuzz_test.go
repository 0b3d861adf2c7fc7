package servicelabel_test

import (
	"errors"
	"path"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/plinth-go/plinth/servicelabel"
)

// FuzzValidateLabel checks that every label ValidateLabel accepts makes a
// prefix of exactly one segment that round-trips, cross-checked against
// path.Join, and that every rejection wraps ErrInvalidLabel and quotes the
// label. More seeds are under testdata/fuzz/FuzzValidateLabel.
func FuzzValidateLabel(f *testing.F) {
	f.Add("vpp1")      // the default
	f.Add("a/b")       // splits the prefix
	f.Add("..")        // path element: path.Join would climb out
	f.Add("a b")       // white space
	f.Add("a\u200bb")  // zero-width space: invisible, not white space
	f.Add("\xc3")      // truncated UTF-8
	f.Add("edge-ž_01") // non-ASCII letters are fine
	f.Fuzz(func(t *testing.T, label string) {
		err := servicelabel.ValidateLabel(label)
		if err != nil {
			if !errors.Is(err, servicelabel.ErrInvalidLabel) {
				t.Fatalf("ValidateLabel(%q) = %v, want ErrInvalidLabel", label, err)
			}
			if !strings.Contains(err.Error(), strconv.Quote(label)) {
				t.Fatalf("ValidateLabel(%q) = %q, want the quoted label in it", label, err)
			}
			return
		}
		if !utf8.ValidString(label) || strings.ContainsAny(label, "/") || len(strings.Fields(label)) != 1 || strings.Fields(label)[0] != label {
			t.Fatalf("ValidateLabel(%q) = nil, want an error", label)
		}
		prefix := servicelabel.AgentPrefix(label)
		if want := path.Join(servicelabel.AllAgentsPrefix, label) + "/"; prefix != want {
			t.Fatalf("AgentPrefix(%q) = %q, want %q as path.Join builds it", label, prefix, want)
		}
		if got := strings.Split(prefix, "/"); len(got) != 4 || got[2] != label {
			t.Fatalf("AgentPrefix(%q) = %q: want exactly one segment holding the label", label, prefix)
		}
	})
}

// FuzzAgentPrefix checks that AgentPrefix never fails and always frames the
// label between AllAgentsPrefix and one "/".
func FuzzAgentPrefix(f *testing.F) {
	f.Add("vpp1")
	f.Add("")
	f.Add("a/b/")
	f.Fuzz(func(t *testing.T, label string) {
		prefix := servicelabel.AgentPrefix(label)
		inner, ok := strings.CutPrefix(prefix, servicelabel.AllAgentsPrefix)
		if !ok {
			t.Fatalf("AgentPrefix(%q) = %q, want it under %q", label, prefix, servicelabel.AllAgentsPrefix)
		}
		if inner != label+"/" {
			t.Fatalf("AgentPrefix(%q) = %q, want %q", label, prefix, servicelabel.AllAgentsPrefix+label+"/")
		}
	})
}
