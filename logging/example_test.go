package logging_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/plinth-go/plinth/logging"
)

func Example() {
	reg := logging.NewRegistry(logging.WithOutput(os.Stdout), logging.WithoutTimestamps())
	log := reg.ForPlugin("etcd")

	log.WithField("endpoint", "127.0.0.1:2379").Info("connected")
	log.Debug("not written: the default level is info")
	// Output:
	// level=info msg=connected endpoint="127.0.0.1:2379" logger=etcd
}

func ExampleRegistry_SetLevel() {
	reg := logging.NewRegistry(logging.WithOutput(os.Stdout), logging.WithoutTimestamps())
	etcd := reg.Get("etcd")
	watch := etcd.Child("watch")

	if err := reg.SetLevel("etcd", logging.DebugLevel); err != nil {
		fmt.Println(err)
	}
	watch.Debug("children follow their parent")

	err := reg.SetLevel("kafka", logging.DebugLevel)
	fmt.Println(errors.Is(err, logging.ErrUnknownLogger), err)
	// Output:
	// level=debug msg="children follow their parent" logger=etcd.watch
	// true logging: set level of "kafka": unknown logger
}

func ExampleRegistry_Preset() {
	reg := logging.NewRegistry(logging.WithOutput(os.Stdout), logging.WithoutTimestamps())
	reg.Preset("kafka", logging.TraceLevel)

	reg.Get("kafka.mux").Trace("created after the preset")
	// Output:
	// level=trace msg="created after the preset" logger=kafka.mux
}

func ExampleRegistry_SetGlobalLevel() {
	reg := logging.NewRegistry(logging.WithOutput(os.Stdout))
	reg.Preset("etcd", logging.DebugLevel)
	reg.Get("kafka")

	// What the agent does with INITIAL_LOGLVL=warning.
	level, err := logging.ParseLevel("warning")
	if err != nil {
		fmt.Println(err)
		return
	}
	reg.SetGlobalLevel(level)
	for _, l := range reg.List() {
		fmt.Println(l.Logger, l.Level)
	}
	fmt.Println(reg.Get("etcd").Level())
	// Output:
	// kafka warning
	// warning
}

func ExampleLog_Slog() {
	reg := logging.NewRegistry(logging.WithOutput(os.Stdout), logging.WithoutTimestamps())
	slogger := reg.Get("api").Slog()

	slogger.Debug("dropped")
	slogger.WithGroup("req").Info("served", "method", "GET", "status", 200)
	// Output:
	// level=info msg=served logger=api req.method=GET req.status=200
}

func ExampleParseLevel() {
	for _, s := range []string{"debug", "WARN", "verbose"} {
		l, err := logging.ParseLevel(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(l)
	}
	// Output:
	// debug
	// warning
	// logging: unknown level "verbose" (valid: trace, debug, info, warning (or warn), error, fatal, panic)
}

func ExampleWithJSON() {
	reg := logging.NewRegistry(logging.WithOutput(os.Stdout), logging.WithJSON(), logging.WithoutTimestamps())
	reg.Get("probe").WithFields(logging.Fields{"state": "OK"}).Warn("slow")
	// Output:
	// {"level":"warning","logger":"probe","msg":"slow","state":"OK"}
}
