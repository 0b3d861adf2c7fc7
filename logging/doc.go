// Package logging provides named, leveled loggers kept in a [Registry],
// with a [log/slog] bridge, written through logrus.
//
// # Usage
//
// An agent creates one registry and hands each plugin its logger:
//
//	reg := logging.NewRegistry()
//	log := reg.ForPlugin("etcd")
//	log.WithField("endpoint", ep).Info("connected")
//
// Code that only writes logs holds a [Logger], which is the concrete
// *[Log]: what the registry hands out and what WithField, WithFields and
// WithError return. Code that uses log/slog gets an [slog.Logger] from
// [Log.Slog] or [Registry.Slog]; both write the same records.
//
// Every record carries the field logger=<name>. Records are text (logfmt
// style) by default, or JSON with [WithJSON].
//
// # Levels
//
// Names with dots form a hierarchy: the effective level of "etcd.watch" is
// its own level if one was set, else that of "etcd", else the registry
// default. [Registry.SetLevel] changes an existing logger,
// [Registry.Preset] also covers loggers created later, and
// [Registry.SetGlobalLevel] puts every logger at one level, which is how the
// agent applies INITIAL_LOGLVL. Changes apply at once to loggers already
// handed out, to loggers derived from them with WithField, WithFields or
// WithError, and to slog loggers.
//
// # Hooks
//
// [Registry.AddHook] passes the records of every logger of the registry
// (existing, created later, derived with fields, slog) to a [Hook], as a
// [Record], for the levels the hook asks for. Hooks run on the logging
// goroutine; one that does I/O belongs inside [NewAsyncHook], which queues
// records with a bound, counts what it drops, retries with backoff and
// flushes on Close. Package logging/logmanager builds syslog, Logstash and
// Fluentd hooks on it.
//
// # Cost of a disabled call
//
// A call below the level, on a registry logger or on one derived with
// fields, is inlined into the caller: it reads the level with one atomic
// load, compares, and does not allocate for arguments that need no boxing
// (constants, pointers, errors). That is why [Logger] is a concrete type: through an interface
// the compiler must assume the implementation keeps the variadic argument
// slice, and allocates it on the heap for every call, enabled or not.
// Values that need boxing, such as a string variable or an int variable
// above 255, are boxed by the caller before the level is known, as with fmt
// and log/slog; guard such calls with Enabled on hot paths.
//
// # Fatal and Panic
//
// Fatal logs and then exits the process with status 1; Panic logs and then
// panics with the message. Plinth itself never calls either: exiting is the
// program's choice.
//
// # Concurrency
//
// Registries and loggers are safe for concurrent use. Importing the package
// creates no logger and has no other effect.
package logging
