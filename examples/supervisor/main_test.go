package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plinth-go/plinth/examples/internal/exampletest"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/internal/freeport"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

const pkg = "github.com/plinth-go/plinth/examples/supervisor"

// The bounds are far above what an idle machine needs, for a loaded one.
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

// The working directory of the test holds supervisor.conf, the default file
// of the config dir "."; it must not turn the demo off.
func TestRunRestartsVppRunsItsHookAndStopsInReverseOrder(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, nil, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	want := `started in order: vpp, agent
vpp terminated (signal: killed), restarting: true
vpp started again: new pid true, restarts 1
GET /supervisor/programs: vpp running restarts=1
GET /supervisor/programs: agent running restarts=0
agent stopped (signal: terminated)
vpp stopped (signal: terminated)
supervisor.log: agent up
supervisor-hook.log: vpp terminated (signal SIGKILL)
`
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

// seedConf is the supervisor.conf of the original documentation (programs
// vpp and agent, a hook on vpp's termination, the affinity mask as a number
// and the setup delay in nanoseconds), with harmless programs; {dir} is
// replaced with a directory of the test.
const seedConf = `# Example supervisor config file starting vpp and agent,
# and defining hook for the vpp process which runs if terminated
programs:
  - name: "vpp"
    executable-path: "sleep"
    executable-args: ["1000"]
    logfile-path: "{dir}/supervisor.log"
    restarts: 4
    cpu-affinity-mask: 4
    cpu-affinity-setup-delay: 1000000000
  - name: "agent"
    executable-path: "sh"
    executable-args: ["-c", "echo agent up; exec sleep 1000"]
    logfile-path: "{dir}/supervisor.log"
hooks:
  - program-name: "vpp"
    event-type: "terminated"
    cmd: "sh"
    cmd-args: ["-c", "echo \"$SUPERVISOR_PROCESS_NAME $SUPERVISOR_PROCESS_STATE\" >> {dir}/hook.log"]
`

func TestUserConfRunsItsProgramsAndHooksUntilInterrupted(t *testing.T) {
	bin := exampletest.Binary(t, pkg)
	for _, tc := range []struct {
		name string
		file string // name of the conf in the test's directory
		// args and env name it; {dir} stands for the test's directory.
		args []string
		env  []string
	}{
		{"flag -supervisor-config", "seed.conf", []string{"-supervisor-config", "{dir}/seed.conf"}, nil},
		{"env SUPERVISOR_CONFIG under CONFIG_DIR", "seed.conf", nil, []string{"SUPERVISOR_CONFIG=seed.conf", "CONFIG_DIR={dir}"}},
		{"supervisor.conf in -config-dir", "supervisor.conf", []string{"-config-dir", "{dir}"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			conf := filepath.Join(dir, tc.file)
			if err := os.WriteFile(conf, []byte(strings.ReplaceAll(seedConf, "{dir}", dir)), 0o644); err != nil {
				t.Fatal(err)
			}
			port := freeport.Port(t)
			args := append([]string{"-http-port", strconv.Itoa(port)}, replaceAll(tc.args, "{dir}", dir)...)
			p := exampletest.Start(t, exampletest.Command{
				Binary: bin, Args: args, Env: exampletest.Env(replaceAll(tc.env, "{dir}", dir)...),
			})

			p.WaitOutput(t, "running the programs of "+conf+";", startTimeout)
			p.WaitOutput(t, "agent started, pid ", startTimeout)
			out := p.WaitOutput(t, "vpp started, pid ", startTimeout)
			vpp, err := strconv.Atoi(regexp.MustCompile(`vpp started, pid (\d+)`).FindStringSubmatch(out)[1])
			if err != nil {
				t.Fatal(err)
			}

			url := "http://127.0.0.1:" + strconv.Itoa(port) + supervisor.ProgramsPath
			exampletest.WaitFor(t, startTimeout, "GET "+supervisor.ProgramsPath+" lists both programs running", func() (bool, string) {
				states, err := programStates(url)
				return err == nil && states == "vpp running, agent running", states
			})

			// vpp crashes: it is restarted and its hook runs.
			if err := killProcess(vpp); err != nil {
				t.Fatal(err)
			}
			p.WaitOutput(t, "vpp terminated (signal: killed), restart in ", startTimeout)
			exampletest.WaitFor(t, startTimeout, "vpp started again", func() (bool, string) {
				return strings.Count(p.Output(), "vpp started, pid ") == 2, "started once"
			})
			exampletest.WaitFor(t, startTimeout, "the hook wrote hook.log", func() (bool, string) {
				b, err := os.ReadFile(filepath.Join(dir, "hook.log"))
				return err == nil && string(b) == "vpp terminated\n", string(b)
			})

			if code := p.Interrupt(t, stopTimeout); code != 0 {
				t.Fatalf("exit code after SIGINT = %d, want 0", code)
			}
			out = p.Output()
			for _, want := range []string{"agent stopped (signal: terminated)\n", "vpp stopped (signal: terminated)\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			if b, err := os.ReadFile(filepath.Join(dir, "supervisor.log")); err != nil || !strings.Contains(string(b), "agent up\n") {
				t.Errorf("supervisor.log = %q (%v), want the agent's output", b, err)
			}
		})
	}
}

// Without a file named, the program runs the demo even where a
// supervisor.conf lies in the working directory.
func TestWithoutANamedConfTheProgramRunsTheDemo(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "supervisor.conf"), []byte("programs: [{executable-path: /nonexistent}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := exampletest.Start(t, exampletest.Command{Binary: exampletest.Binary(t, pkg), Dir: dir})
	if code := p.Wait(t, startTimeout); code != 0 {
		t.Fatalf("exit code = %d, want 0", code)
	}
	if out := p.Output(); !strings.HasPrefix(out, "started in order: vpp, agent\n") {
		t.Errorf("output:\n%s\nwant the demo", out)
	}
}

// programStates returns "name state, ..." from GET /supervisor/programs.
func programStates(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var programs []supervisor.ProgramStatus
	if err := json.NewDecoder(resp.Body).Decode(&programs); err != nil {
		return "", err
	}
	var s []string
	for _, p := range programs {
		s = append(s, p.Name+" "+string(p.State))
	}
	return strings.Join(s, ", "), nil
}

func replaceAll(in []string, old, new string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ReplaceAll(s, old, new)
	}
	return out
}
