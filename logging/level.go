package logging

import (
	"fmt"
	"strconv"
	"strings"
)

// Level is the severity of a log record. Lower values are more severe; a
// logger at level L writes records whose level is L or lower. The numbering
// matches logrus (and cn-infra), so PanicLevel is 0 and TraceLevel is 6.
//
// Levels above TraceLevel are treated as TraceLevel wherever a logger level
// is set.
type Level uint32

// Levels, from the most to the least severe.
const (
	PanicLevel Level = iota // logs, then panics
	FatalLevel              // logs, then exits the process with status 1
	ErrorLevel
	WarnLevel
	InfoLevel
	DebugLevel
	TraceLevel
)

// levelNames are the canonical names, indexed by Level. They are the names the
// seed documents for REST, agentctl and logs.conf.
var levelNames = [...]string{
	PanicLevel: "panic",
	FatalLevel: "fatal",
	ErrorLevel: "error",
	WarnLevel:  "warning",
	InfoLevel:  "info",
	DebugLevel: "debug",
	TraceLevel: "trace",
}

// validLevels lists the accepted names in the order operators think of them,
// for error messages.
const validLevels = "trace, debug, info, warning (or warn), error, fatal, panic"

// String returns the canonical name of l ("warning" for WarnLevel), or
// "Level(N)" for a value outside the defined range.
func (l Level) String() string {
	if l <= TraceLevel {
		return levelNames[l]
	}
	return "Level(" + strconv.FormatUint(uint64(l), 10) + ")"
}

// ParseLevel returns the level named by s. Matching ignores case and
// surrounding white space, and "warn" is accepted for WarnLevel. The error
// names the bad value and lists the valid ones.
func ParseLevel(s string) (Level, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if name == "warn" {
		return WarnLevel, nil
	}
	for l, n := range levelNames {
		if name == n {
			return Level(l), nil
		}
	}
	return 0, fmt.Errorf("logging: unknown level %q (valid: %s)", s, validLevels)
}

// MarshalText implements [encoding.TextMarshaler], so a Level appears by name
// in JSON and YAML. It fails for a value outside the defined range.
func (l Level) MarshalText() ([]byte, error) {
	if l > TraceLevel {
		return nil, fmt.Errorf("logging: cannot marshal invalid level %d", uint32(l))
	}
	return []byte(levelNames[l]), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with the rules of
// [ParseLevel].
func (l *Level) UnmarshalText(text []byte) error {
	parsed, err := ParseLevel(string(text))
	if err != nil {
		return err
	}
	*l = parsed
	return nil
}

func (l Level) clamp() Level {
	return min(l, TraceLevel)
}
