package logging

// LogLevel is the cn-infra name of [Level]; the levels have the same
// numbers, PanicLevel 0 to TraceLevel 6.
type LogLevel = Level

// ParseLogLevel is the cn-infra name of [ParseLevel].
func ParseLogLevel(s string) (Level, error) { return ParseLevel(s) }

// GetName is the cn-infra name of [Log.Name].
func (l *Log) GetName() string { return l.Name() }

// GetLevel is the cn-infra name of [Log.Level].
func (l *Log) GetLevel() Level { return l.Level() }
