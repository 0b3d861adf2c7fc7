package kvdb_test

import (
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/plinth-go/plinth/infra/kvdb"
)

// TestSegmentProblem lists names that microservice labels, plugin status
// names and program names accepted and refused before they shared the rule.
func TestSegmentProblem(t *testing.T) {
	for _, tc := range []struct {
		name, want string
	}{
		{"vpp1", ""},
		{"GOVPP", ""},
		{"edge-7.a_b", ""},
		{"a..b", ""},
		{".hidden", ""},
		{"grüße", ""},
		{"東京", ""},
		{"a:b@c", ""},
		{"", "is empty"},
		{".", "is a path element"},
		{"..", "is a path element"},
		{"a\xffb", "is not valid UTF-8"},
		{"vpp/1", `contains "/"`},
		{"/", `contains "/"`},
		{"a b", "contains white space ' '"},
		{"a\tb", `contains white space '\t'`},
		{"a\u00a0b", `contains white space '\u00a0'`},
		{"a\u2028b", `contains white space '\u2028'`},
		{"a\x00b", `contains control character '\x00'`},
		{"a\x7fb", `contains control character '\x7f'`},
		{"a\u200bb", `contains non-printable character '\u200b'`},
		{"a\ufeffb", `contains non-printable character '\ufeff'`},
		{"a\U000e0001b", `contains non-printable character '\U000e0001'`},
	} {
		if got := kvdb.SegmentProblem(tc.name); got != tc.want {
			t.Errorf("SegmentProblem(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// previousRule is the check that plugin status names and program names made
// before they shared the rule (program names: but for the empty name, which
// the supervisor handles before).
func previousRule(name string) bool {
	if name == "" || name == "." || name == ".." || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if r == '/' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// FuzzSegmentProblemKeepsTheAcceptedSet checks that SegmentProblem accepts
// exactly the names the previous checks accepted.
func FuzzSegmentProblemKeepsTheAcceptedSet(f *testing.F) {
	for _, s := range []string{
		"vpp1", "", ".", "..", "...", "a/b", "a b", "\x00", "\u200b", "\xff", // the edges of the rule
		"\u00a0", "\u3000", "\u0085", // white space outside ASCII
		"é", "e\u0301", // a combining mark is printable
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := kvdb.SegmentProblem(name) == "", previousRule(name); got != want {
			t.Errorf("SegmentProblem(%q) = %q: accepted %v, want %v", name, kvdb.SegmentProblem(name), got, want)
		}
	})
}
