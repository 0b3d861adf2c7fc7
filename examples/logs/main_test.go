package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-go/plinth/examples/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

const pkg = "github.com/plinth-go/plinth/examples/logs"

// runTimeout bounds a run of the program: far above what an idle machine
// needs, for a loaded one.
const runTimeout = 60 * time.Second

func noEnv(string) string { return "" }

func TestRunShowsLevelsHookAndTracer(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, nil, noEnv); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"level=warning msg=\"invoice overdue\" id=7 logger=billing.invoice\n",
		"ALERT [plinth] warning billing.invoice: invoice overdue id=7\n",
		"POST /log/billing/debug: 200 {\"logger\":\"billing\",\"level\":\"debug\"}\n",
		"level=debug msg=\"written now: the change reached the child\" logger=billing.invoice\n",
		"ALERT [plinth] error billing: charge failed error=card declined\n",
		"tracer: card measured 3 times\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "not written") {
		t.Errorf("a record below the level was written:\n%s", got)
	}
	if strings.Count(got, "logger=billing tracer=charge") != 3 {
		t.Errorf("want 3 tracer records at debug:\n%s", got)
	}
}

func TestInitialLogLevelOverridesTheFile(t *testing.T) {
	var out bytes.Buffer
	env := map[string]string{"INITIAL_LOGLVL": "debug"}
	if err := run(&out, nil, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "not written: billing.invoice follows billing (warning)") {
		t.Errorf("with INITIAL_LOGLVL=debug the info record must be written:\n%s", out.String())
	}
}

// seedLogsConf has the shape of the logs.conf of the original
// documentation: a default level, loggers with levels, and a hook.
const seedLogsConf = `default-level: info
loggers:
  - name: "example"
    level: debug
  - name: "example.child"
    level: warning
hooks:
  custom:
    levels: [panic, error, warn]
`

func TestUserLogsConfSetsTheLevelsAndHooksItNames(t *testing.T) {
	bin := exampletest.Binary(t, pkg)
	type want struct {
		present, absent []string
	}
	fromFile := want{
		present: []string{
			"  example debug\n", "  example.child warning\n",
			"level=debug msg=\"a record at debug\" logger=example\n",
			"level=info msg=\"a record at info\" logger=example\n",
			"level=warning msg=\"a record at warning\" logger=example.child\n",
			"level=error msg=\"a record at error\" logger=example.child\n",
			"HOOK custom [plinth] error example: a record at error\n",
			"HOOK custom [plinth] warning example.child: a record at warning\n",
		},
		absent: []string{
			"msg=\"a record at debug\" logger=example.child",
			"msg=\"a record at info\" logger=example.child", "HOOK custom [plinth] info",
		},
	}
	for _, tc := range []struct {
		name string
		file string // name of the file in the test's directory
		// args and env name it; {dir} stands for the test's directory.
		args, env []string
		want      want
	}{
		{"flag -logs-config", "seed-logs.conf", []string{"-logs-config", "{dir}/seed-logs.conf"}, nil, fromFile},
		{"env LOGS_CONFIG under CONFIG_DIR", "seed-logs.conf", nil, []string{"LOGS_CONFIG=seed-logs.conf", "CONFIG_DIR={dir}"}, fromFile},
		{"logs.conf in -config-dir", "logs.conf", []string{"-config-dir", "{dir}"}, nil, fromFile},
		{"INITIAL_LOGLVL overrides the file", "seed-logs.conf", []string{"-logs-config", "{dir}/seed-logs.conf"},
			[]string{"INITIAL_LOGLVL=error"}, want{
				present: []string{"  example error\n", "  example.child error\n",
					"level=error msg=\"a record at error\" logger=example\n",
					"HOOK custom [plinth] error example: a record at error\n"},
				absent: []string{"a record at debug", "a record at info", "a record at warning"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, tc.file)
			if err := os.WriteFile(file, []byte(seedLogsConf), 0o644); err != nil {
				t.Fatal(err)
			}
			p := exampletest.Start(t, exampletest.Command{
				Binary: bin, Args: replaceAll(tc.args, "{dir}", dir), Env: exampletest.Env(replaceAll(tc.env, "{dir}", dir)...),
			})
			if code := p.Wait(t, runTimeout); code != 0 {
				t.Fatalf("exit code = %d, want 0", code)
			}
			out := p.Output()
			for _, s := range append([]string{"levels with " + file + " (GET /log/list):\n"}, tc.want.present...) {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q", s)
				}
			}
			for _, s := range tc.want.absent {
				if strings.Contains(out, s) {
					t.Errorf("output has %q", s)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// Without a file named, the program runs the demo even where a logs.conf
// lies in the working directory.
func TestWithoutANamedLogsConfTheProgramRunsTheDemo(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "logs.conf"), []byte("default-level: nonsense\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := exampletest.Start(t, exampletest.Command{Binary: exampletest.Binary(t, pkg), Dir: dir})
	if code := p.Wait(t, runTimeout); code != 0 {
		t.Fatalf("exit code = %d, want 0", code)
	}
	if out := p.Output(); !strings.Contains(out, "tracer: card measured 3 times\n") {
		t.Errorf("output:\n%s\nwant the demo", out)
	}
}

func replaceAll(in []string, old, new string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ReplaceAll(s, old, new)
	}
	return out
}
