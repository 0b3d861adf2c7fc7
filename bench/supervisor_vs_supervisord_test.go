package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/infra/rest"
)

// These benchmarks compare the supervisor plugin with supervisord, Debian's
// package "supervisor", as an operator sees each: through its own status
// interface. Both run `sleep` programs restarted at once after any exit
// (ours: restarts -1, restart-delay 0; supervisord: autorestart=true,
// startsecs=0) with their output discarded (ours: logfile /dev/null without
// rotation; supervisord: NONE). supervisord is asked over its XML-RPC
// interface on a unix socket, as supervisorctl does, but from this process
// and over one kept-alive connection, so that no interpreter starts per
// question.
//
// They skip when supervisord is not in PATH (apt-get install supervisor).

// requireSupervisord skips the benchmark when supervisord is missing.
func requireSupervisord(b *testing.B) {
	b.Helper()
	if _, err := exec.LookPath("supervisord"); err != nil {
		b.Skip("supervisord is not in PATH; install it with: apt-get install supervisor")
	}
}

// supervisord is one supervisord process and an XML-RPC client of it.
type supervisord struct {
	cmd *exec.Cmd
	rpc *http.Client
	out bytes.Buffer // supervisord's standard output and error
}

// supervisordDir returns a new directory for a supervisord's conf, socket
// and logs. Its name is short: a unix socket path must fit in 108 bytes,
// and benchmark temporary directories are long.
func supervisordDir(b *testing.B) string {
	b.Helper()
	dir, err := os.MkdirTemp("", "sv")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// supervisordConf writes, in dir, a conf running `sleep 1000` under each
// name, and returns its path.
func supervisordConf(b *testing.B, dir string, names ...string) string {
	b.Helper()
	var c strings.Builder
	fmt.Fprintf(&c, `[unix_http_server]
file=%[1]s/sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%[1]s/sock

[supervisord]
nodaemon=true
logfile=%[1]s/supervisord.log
pidfile=%[1]s/supervisord.pid
childlogdir=%[1]s
loglevel=warn
`, dir)
	for _, name := range names {
		fmt.Fprintf(&c, `
[program:%s]
command=sleep 1000
autorestart=true
startsecs=0
startretries=1000
stdout_logfile=NONE
stderr_logfile=NONE
`, name)
	}
	path := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(path, []byte(c.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// startSupervisord starts supervisord on the conf at path; it returns at
// once, before the socket exists.
func startSupervisord(b *testing.B, path string) *supervisord {
	b.Helper()
	sock := filepath.Join(filepath.Dir(path), "sock")
	s := &supervisord{
		cmd: exec.Command("supervisord", "-n", "-c", path),
		rpc: &http.Client{
			Timeout: 10 * time.Second,
			Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", sock)
			}},
		},
	}
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	return s
}

// stop stops supervisord, which stops its programs first.
func (s *supervisord) stop(b *testing.B) {
	s.rpc.CloseIdleConnections()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-done
		b.Errorf("supervisord did not stop within a minute: %s", s.out.String())
	}
}

// rpcValue is an XML-RPC value: a scalar, a struct or an array.
type rpcValue struct {
	Int     string      `xml:"int"`
	I4      string      `xml:"i4"`
	String  string      `xml:"string"`
	Members []rpcMember `xml:"struct>member"`
	Items   []rpcValue  `xml:"array>data>value"`
}

type rpcMember struct {
	Name  string   `xml:"name"`
	Value rpcValue `xml:"value"`
}

// processInfo is what a benchmark needs of supervisord's process info.
type processInfo struct {
	name, state string
	pid         int
}

func (v rpcValue) processInfo() processInfo {
	var p processInfo
	for _, m := range v.Members {
		switch m.Name {
		case "name":
			p.name = m.Value.String
		case "statename":
			p.state = m.Value.String
		case "pid":
			p.pid, _ = strconv.Atoi(m.Value.Int + m.Value.I4)
		}
	}
	return p
}

// call calls an XML-RPC method with string and boolean arguments.
func (s *supervisord) call(method string, args ...any) (rpcValue, error) {
	var req bytes.Buffer
	fmt.Fprintf(&req, "<?xml version=\"1.0\"?><methodCall><methodName>%s</methodName><params>", method)
	for _, a := range args {
		switch a := a.(type) {
		case string:
			req.WriteString("<param><value><string>")
			_ = xml.EscapeText(&req, []byte(a))
			req.WriteString("</string></value></param>")
		case bool:
			v := 0
			if a {
				v = 1
			}
			fmt.Fprintf(&req, "<param><value><boolean>%d</boolean></value></param>", v)
		default:
			return rpcValue{}, fmt.Errorf("%s: argument of type %T", method, a)
		}
	}
	req.WriteString("</params></methodCall>")
	resp, err := s.rpc.Post("http://supervisord/RPC2", "text/xml", &req)
	if err != nil {
		return rpcValue{}, err
	}
	defer resp.Body.Close()
	var r struct {
		Params []rpcValue `xml:"params>param>value"`
		Fault  *rpcValue  `xml:"fault>value"`
	}
	if err := xml.NewDecoder(resp.Body).Decode(&r); err != nil {
		return rpcValue{}, fmt.Errorf("%s: %w", method, err)
	}
	if r.Fault != nil || len(r.Params) != 1 {
		return rpcValue{}, fmt.Errorf("%s: fault %+v", method, r.Fault)
	}
	return r.Params[0], nil
}

// awaitRunning asks supervisord for the state of every program, again and
// again, until each of them is RUNNING with a pid not in old, and returns
// their pids by name. While the socket is not there yet it retries every
// millisecond; afterwards it asks again as soon as an answer comes, so the
// answer that sees the programs running comes one round trip after they do
// at most.
func (s *supervisord) awaitRunning(b *testing.B, n int, old map[string]int) map[string]int {
	deadline := time.Now().Add(time.Minute)
	for {
		v, err := s.call("supervisor.getAllProcessInfo")
		if err == nil {
			pids := map[string]int{}
			for _, item := range v.Items {
				if p := item.processInfo(); p.state == "RUNNING" && p.pid != 0 && p.pid != old[p.name] {
					pids[p.name] = p.pid
				}
			}
			if len(pids) == n {
				return pids
			}
		} else if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ECONNREFUSED) {
			b.Fatalf("supervisord: %v: %s", err, s.out.String())
		} else {
			time.Sleep(time.Millisecond)
		}
		if time.Now().After(deadline) {
			b.Fatalf("supervisord: %d programs not running within a minute: %s", n, s.out.String())
		}
	}
}

// awaitRestart asks supervisord for the state of one program until it is
// RUNNING with another pid than old, and returns that pid.
func (s *supervisord) awaitRestart(b *testing.B, name string, old int) int {
	deadline := time.Now().Add(time.Minute)
	for {
		v, err := s.call("supervisor.getProcessInfo", name)
		if err != nil {
			b.Fatalf("supervisord: %v: %s", err, s.out.String())
		}
		if p := v.processInfo(); p.state == "RUNNING" && p.pid != 0 && p.pid != old {
			return p.pid
		}
		if time.Now().After(deadline) {
			b.Fatalf("supervisord: %s not running again within a minute", name)
		}
	}
}

// programNames returns p0, p1 … p<n-1>.
func programNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("p%d", i)
	}
	return names
}

// ourSupervisorConf writes at path a supervisor conf running `sleep 1000`
// under each name, set as supervisordConf sets supervisord's programs.
func ourSupervisorConf(b *testing.B, path string, names ...string) {
	b.Helper()
	var c strings.Builder
	c.WriteString("programs:\n")
	for _, name := range names {
		fmt.Fprintf(&c, "  - {name: %s, executable-path: sleep, executable-args: [\"1000\"], logfile-path: %s, logfile-max-bytes: 0, restarts: -1, restart-delay: 0s}\n",
			name, os.DevNull)
	}
	if err := os.WriteFile(path, []byte(c.String()), 0o644); err != nil {
		b.Fatal(err)
	}
}

// rss returns the resident set size of a process, in bytes.
func rss(b *testing.B, pid int) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				b.Fatalf("VmRSS of %d: %q", pid, rest)
			}
			return float64(kb) * 1024
		}
	}
	b.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// BenchmarkSupervisorCrashToRunning kills a running program with SIGKILL
// and waits until its supervisor reports it running again. The timer covers,
// on both sides, the kill and the wait:
//
//   - ours: the supervisor runs in this process; the wait ends when the
//     event handler (WithEventHandler) receives the started event of the new
//     run, which the supervisor sends once the new process exists;
//   - supervisord: the wait ends with the first answer of getProcessInfo
//     that says RUNNING with a new pid, asked again as soon as each answer
//     arrives, so it includes up to one XML-RPC round trip (a fraction of a
//     millisecond) after supervisord's state changed. The questions also
//     wake supervisord's event loop, which otherwise would move the program
//     from STARTING to RUNNING only at its next tick.
func BenchmarkSupervisorCrashToRunning(b *testing.B) {
	requireSupervisord(b)
	interleave(b, side{"ours", func(b *testing.B) {
		zero := time.Duration(0)
		noRotation := supervisor.ByteSize(0)
		started := make(chan int, 64)
		sv := supervisor.NewPlugin(
			supervisor.UseConf(supervisor.Config{Programs: []supervisor.Program{{
				Name: "p", ExecutablePath: "sleep", ExecutableArgs: []string{"1000"},
				LogfilePath: os.DevNull, LogfileMaxBytes: &noRotation,
				Restarts: -1, RestartDelay: &zero,
			}}}),
			supervisor.WithEventHandler(func(ev supervisor.Event) {
				if ev.Type == supervisor.EventTypeStarted {
					started <- ev.Pid
				}
			}),
		)
		ag, err := agent.New(agent.AllPlugins(processmanager.NewPlugin(), sv),
			agent.Args(), agent.QuitSignals(), agent.Getenv(func(string) string { return "" }), quietLogs())
		if err != nil {
			b.Fatal(err)
		}
		if err := ag.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() {
			if err := ag.Stop(); err != nil {
				b.Error(err)
			}
		}()
		pid := <-started
		for b.Loop() {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				b.Fatal(err)
			}
			select {
			case pid = <-started:
			case <-time.After(time.Minute):
				b.Fatal("not running again within a minute")
			}
		}
	}}, side{"supervisord", func(b *testing.B) {
		s := startSupervisord(b, supervisordConf(b, supervisordDir(b), "p"))
		defer s.stop(b)
		pid := s.awaitRunning(b, 1, nil)["p"]
		for b.Loop() {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				b.Fatal(err)
			}
			pid = s.awaitRestart(b, "p", pid)
		}
	}})
}

// supervisorSettle is how long the benchmark lets a supervisor idle, its
// programs running, before reading its memory: long enough for the
// periodic work of both (process status polls, timers) to have run.
const supervisorSettle = time.Second

// BenchmarkSupervisorPrograms starts a supervisor with 50 `sleep` programs
// and reads the resident memory of the supervising process once they run.
// For ours that process is bench/internal/supervisoragent, an agent with
// the supervisor and the process manager only, reading its conf from a
// file as supervisord does. The programs themselves are not counted.
//
// The timer covers the start, on both sides from the exec of the
// supervisor until it reports every program running: ours prints "ready"
// when its Programs() all say running (checked every millisecond);
// supervisord answers getAllProcessInfo with every program RUNNING (asked
// every millisecond until its socket exists, then again as soon as each
// answer arrives). The memory is read after supervisorSettle, outside the
// timer, and reported as rss-bytes: VmRSS of the supervising process.
func BenchmarkSupervisorPrograms(b *testing.B) {
	requireSupervisord(b)
	const n = 50
	bin := filepath.Join(b.TempDir(), "supervisoragent")
	if out, err := exec.Command("go", "build", "-o", bin, "./internal/supervisoragent").CombinedOutput(); err != nil {
		b.Fatalf("go build ./internal/supervisoragent: %v: %s", err, out)
	}
	names := programNames(n)
	ourConf := filepath.Join(b.TempDir(), "supervisor.conf")
	ourSupervisorConf(b, ourConf, names...)
	b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
		interleave(b, side{"ours", func(b *testing.B) {
			var mem float64
			b.ResetTimer()
			for range b.N {
				cmd := exec.Command(bin, "-supervisor-config", ourConf)
				cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
				var logs bytes.Buffer
				cmd.Stderr = &logs
				cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
				stdout, err := cmd.StdoutPipe()
				if err != nil {
					b.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				line, err := bufio.NewReader(stdout).ReadString('\n')
				b.StopTimer()
				if line != "ready\n" {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
					b.Fatalf("supervisoragent: %q, %v: %s", line, err, logs.String())
				}
				time.Sleep(supervisorSettle)
				mem += rss(b, cmd.Process.Pid)
				_ = cmd.Process.Signal(syscall.SIGTERM)
				_, _ = io.Copy(io.Discard, stdout)
				if err := cmd.Wait(); err != nil {
					b.Errorf("supervisoragent: %v: %s", err, logs.String())
				}
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(mem/float64(b.N), "rss-bytes")
		}}, side{"supervisord", func(b *testing.B) {
			path := supervisordConf(b, supervisordDir(b), names...)
			var mem float64
			b.ResetTimer()
			for range b.N {
				s := startSupervisord(b, path)
				s.awaitRunning(b, n, nil)
				b.StopTimer()
				time.Sleep(supervisorSettle)
				mem += rss(b, s.cmd.Process.Pid)
				s.stop(b)
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(mem/float64(b.N), "rss-bytes")
		}})
	})
}

// BenchmarkSupervisorReload adds one program to the conf of a supervisor
// that runs 10, and applies the change. Each supervisor starts with the 11
// programs; before each operation, outside the timer, the eleventh is
// taken out of the file and removed (ours: Reload; supervisord:
// reloadConfig, stopProcessGroup, removeProcessGroup over XML-RPC), then
// written back to the file. The timer covers, on both sides, from asking
// for the reload until the supervisor reports the new program running:
//
//   - cli, as an operator does it: ours runs `agentctl supervisor reload`,
//     which POSTs /supervisor/reload and returns once the program started;
//     supervisord runs `supervisorctl reread` then `supervisorctl update`,
//     two Python processes (update alone would also read the conf again,
//     but the pair is how the change is usually applied), then is asked
//     getProcessInfo until the program is RUNNING;
//   - api, without the client programs: ours POSTs /supervisor/reload from
//     this process; supervisord is called reloadConfig, then
//     addProcessGroup for the program added, over XML-RPC, then asked
//     getProcessInfo until the program is RUNNING.
//
// The agent serves its HTTP API on loopback and runs in this process (the
// supervisor, the process manager and the HTTP server only).
func BenchmarkSupervisorReload(b *testing.B) {
	requireSupervisord(b)
	agentctl := filepath.Join(b.TempDir(), "agentctl")
	build := exec.Command("go", "build", "-o", agentctl, "./cmd/agentctl")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build ./cmd/agentctl: %v: %s", err, out)
	}
	names := programNames(10)
	more := append(slices.Clone(names), "extra")
	run := func(b *testing.B, name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s %v: %v: %s", name, args, err, out)
		}
	}
	for _, via := range []string{"cli", "api"} {
		b.Run(via, func(b *testing.B) {
			interleave(b, side{"ours", func(b *testing.B) {
				path := filepath.Join(b.TempDir(), "supervisor.conf")
				ourSupervisorConf(b, path, more...)
				httpPlugin := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
				sv := supervisor.NewPlugin(supervisor.WithoutSIGHUPReload())
				ag, err := agent.New(agent.AllPlugins(httpPlugin, processmanager.NewPlugin(), sv),
					agent.Args("-supervisor-config", path), agent.QuitSignals(),
					agent.Getenv(func(string) string { return "" }), quietLogs())
				if err != nil {
					b.Fatal(err)
				}
				if err := ag.Start(); err != nil {
					b.Fatal(err)
				}
				defer func() {
					if err := ag.Stop(); err != nil {
						b.Error(err)
					}
				}()
				port := strconv.Itoa(httpPlugin.GetPort())
				reload := func() {
					if via == "cli" {
						run(b, agentctl, "--host", "127.0.0.1", "--http-port", port, "supervisor", "reload")
						return
					}
					resp, err := http.Post("http://127.0.0.1:"+port+supervisor.ReloadPath, "", nil)
					if err != nil {
						b.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("POST %s: %s: %s", supervisor.ReloadPath, resp.Status, body)
					}
				}
				running := func() bool {
					p, ok := sv.Program("extra")
					return ok && p.State == supervisor.ProgramStateRunning
				}
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					ourSupervisorConf(b, path, names...)
					if _, err := sv.Reload(); err != nil {
						b.Fatal(err)
					}
					ourSupervisorConf(b, path, more...)
					b.StartTimer()
					reload()
					deadline := time.Now().Add(time.Minute)
					for !running() {
						if time.Now().After(deadline) {
							b.Fatal("the program added is not running a minute after the reload")
						}
					}
				}
				b.StopTimer()
			}}, side{"supervisord", func(b *testing.B) {
				dir := supervisordDir(b)
				path := supervisordConf(b, dir, more...)
				s := startSupervisord(b, path)
				defer s.stop(b)
				s.awaitRunning(b, len(more), nil)
				reload := func() {
					if via == "cli" {
						run(b, "supervisorctl", "-c", path, "reread")
						run(b, "supervisorctl", "-c", path, "update")
						return
					}
					s.addNew(b)
				}
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					supervisordConf(b, dir, names...)
					s.remove(b, "extra")
					supervisordConf(b, dir, more...)
					b.StartTimer()
					reload()
					s.awaitRestart(b, "extra", 0)
				}
				b.StopTimer()
			}})
		})
	}
}

// addNew reads the conf file again and adds the program groups it has
// gained, over XML-RPC, as supervisorctl update does for an addition.
func (s *supervisord) addNew(b *testing.B) {
	v, err := s.call("supervisor.reloadConfig")
	if err != nil {
		b.Fatal(err)
	}
	// [[added, changed, removed]]
	if len(v.Items) != 1 || len(v.Items[0].Items) != 3 {
		b.Fatalf("reloadConfig: unexpected answer %+v", v)
	}
	for _, name := range v.Items[0].Items[0].Items {
		if _, err := s.call("supervisor.addProcessGroup", name.String); err != nil {
			b.Fatalf("addProcessGroup(%s): %v", name.String, err)
		}
	}
}

// remove reads the conf file again, which no longer has the program name,
// then stops and removes it. It asks for the stop without waiting and
// then polls: a stop that waits is answered on one of supervisord's
// periodic ticks, up to a second later, while questions answer at once.
func (s *supervisord) remove(b *testing.B, name string) {
	if _, err := s.call("supervisor.reloadConfig"); err != nil {
		b.Fatal(err)
	}
	if _, err := s.call("supervisor.stopProcessGroup", name, false); err != nil {
		b.Fatalf("stopProcessGroup(%s): %v", name, err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		v, err := s.call("supervisor.getProcessInfo", name)
		if err != nil {
			b.Fatal(err)
		}
		if v.processInfo().state == "STOPPED" {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("supervisord: %s not stopped within a minute", name)
		}
	}
	if _, err := s.call("supervisor.removeProcessGroup", name); err != nil {
		b.Fatalf("removeProcessGroup(%s): %v", name, err)
	}
}
