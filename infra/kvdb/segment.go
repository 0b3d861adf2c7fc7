package kvdb

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// SegmentProblem returns why name cannot be one segment of a key, as a
// phrase meant to follow a subject ("the label " + SegmentProblem(label)):
// "is empty", `contains "/"`, and so on. It returns "" when name can be one.
//
// Keys themselves may hold any bytes; this is the rule of the names that
// Plinth puts between two slashes of a key or a URL path: microservice
// labels (/vnf-agent/<label>/), plugin status names
// (…/check/status/v1/plugin/<name>) and supervisor program names. Such a
// name must be non-empty valid UTF-8, must not be "." or "..", and must not
// contain "/", white space, control or other non-printable characters: any
// of them would split the key into more segments, make it a path element,
// or make a key that operators cannot type.
func SegmentProblem(name string) string {
	switch name {
	case "":
		return "is empty"
	case ".", "..":
		return "is a path element"
	}
	if !utf8.ValidString(name) {
		return "is not valid UTF-8"
	}
	for _, r := range name {
		switch {
		case r == '/':
			return `contains "/"`
		case unicode.IsSpace(r):
			return fmt.Sprintf("contains white space %q", r)
		case unicode.IsControl(r):
			return fmt.Sprintf("contains control character %q", r)
		case !unicode.IsPrint(r):
			return fmt.Sprintf("contains non-printable character %q", r)
		}
	}
	return ""
}
