package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/processmanager/status"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/logging"
)

// The supervisor benchmarks crash programs and time how long each takes to
// run again, with Plinth's supervisor and with supervisord (Debian package
// "supervisor", installed when missing) under the same conditions: the
// same program (a shell that announces its pid on a FIFO, then execs
// sleep), killed with SIGKILL, restarted at once (no backoff, no minimum
// uptime). An operation ends when every killed program has announced its
// new pid, so both sides are timed by the same clock and the same reader.
//
// BenchmarkSupervisorRestart measures the latency of one crash. With 20
// programs, BenchmarkSupervisorRestartAll kills all of them at once and
// also reports the CPU time spent per operation (cpu-ns/op):
// that of this process on both sides, since the benchmark's loop and pid
// reader run in it whichever supervisor is measured, plus that of the
// supervisord process for the peer (for ours the agent is this process);
// children are not counted on either side.
//
// Every sample starts a supervisor of its own; the timer covers only the
// crashes: the kills and the wait for every new pid.

// announcer reads the pids the programs write on a FIFO.
type announcer struct {
	path string
	f    *os.File
	pids chan int
	done chan struct{}
}

func newAnnouncer(b *testing.B) *announcer {
	b.Helper()
	path := filepath.Join(b.TempDir(), "pids")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		b.Fatal(err)
	}
	// Read-write, so that opening does not wait for a writer and reading
	// never sees end of file between programs.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	a := &announcer{path: path, f: f, pids: make(chan int, 1024), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if pid, err := strconv.Atoi(strings.TrimSpace(sc.Text())); err == nil {
				a.pids <- pid
			}
		}
	}()
	b.Cleanup(func() {
		f.Close()
		<-a.done
	})
	return a
}

// command is the program both supervisors run.
func (a *announcer) command() []string {
	return []string{"/bin/sh", "-c", "echo $$ > " + a.path + "; exec sleep 100000"}
}

// next waits for the next announced pid.
func (a *announcer) next(b *testing.B) int {
	select {
	case pid := <-a.pids:
		return pid
	case <-time.After(time.Minute):
		b.Fatal("no program announced itself within a minute")
		return 0
	}
}

// crashAll kills the programs and returns their new pids.
func (a *announcer) crashAll(b *testing.B, pids []int) {
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			b.Fatalf("kill %d: %v", pid, err)
		}
	}
	for i := range pids {
		pids[i] = a.next(b)
	}
}

// ours starts an agent supervising n programs and returns their pids and a
// function that stops it.
func ours(b *testing.B, a *announcer, n int) ([]int, func()) {
	b.Helper()
	zero := time.Duration(0)
	cmd := a.command()
	var conf supervisor.Config
	for i := range n {
		conf.Programs = append(conf.Programs, supervisor.Program{
			Name: fmt.Sprintf("p%d", i), ExecutablePath: cmd[0], ExecutableArgs: cmd[1:],
			LogfilePath: "/dev/null", Restarts: -1, RestartDelay: &zero,
		})
	}
	ag, err := agent.New(
		agent.AllPlugins(processmanager.NewPlugin(), supervisor.NewPlugin(supervisor.UseConf(conf))),
		agent.Args(), agent.QuitSignals(), agent.Getenv(func(string) string { return "" }),
		agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))),
	)
	if err != nil {
		b.Fatal(err)
	}
	if err := ag.Start(); err != nil {
		b.Fatal(err)
	}
	pids := make([]int, n)
	for i := range pids {
		pids[i] = a.next(b)
	}
	return pids, func() {
		if err := ag.Stop(); err != nil {
			b.Error(err)
		}
	}
}

var installSupervisord = sync.OnceValue(func() error {
	if _, err := exec.LookPath("supervisord"); err == nil {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("supervisord is not installed and apt-get is unavailable to install Debian's supervisor package")
	}
	install := func() ([]byte, error) {
		c := exec.Command("apt-get", "install", "-y", "--no-install-recommends", "supervisor")
		c.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return c.CombinedOutput()
	}
	if _, err := install(); err != nil {
		// The package lists may be missing on a fresh machine.
		if out, err := exec.Command("apt-get", "update").CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get update: %v: %s", err, out)
		}
		if out, err := install(); err != nil {
			return fmt.Errorf("apt-get install supervisor: %v: %s", err, out)
		}
	}
	_, err := exec.LookPath("supervisord")
	return err
})

// peer starts supervisord supervising n programs and returns their pids,
// the pid of supervisord and a function that stops it.
func peer(b *testing.B, a *announcer, n int) ([]int, int, func()) {
	b.Helper()
	if err := installSupervisord(); err != nil {
		b.Skipf("supervisord: %v", err)
	}
	dir := b.TempDir()
	var conf strings.Builder
	fmt.Fprintf(&conf, "[supervisord]\nnodaemon=true\nlogfile=%[1]s/supervisord.log\npidfile=%[1]s/supervisord.pid\nchildlogdir=%[1]s\nloglevel=error\n", dir)
	cmd := a.command()
	for i := range n {
		// startsecs=0: running at once, as ours; startretries bounds
		// nothing, a kill of a running program is not a failed start.
		fmt.Fprintf(&conf, "\n[program:p%d]\ncommand=%s %s '%s'\nautorestart=true\nstartsecs=0\nstartretries=1000\nstdout_logfile=NONE\nstderr_logfile=NONE\n",
			i, cmd[0], cmd[1], cmd[2])
	}
	path := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(path, []byte(conf.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	sd := exec.Command("supervisord", "-n", "-c", path)
	sd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &strings.Builder{}
	sd.Stdout, sd.Stderr = out, out
	if err := sd.Start(); err != nil {
		b.Fatal(err)
	}
	stop := func() {
		_ = sd.Process.Signal(syscall.SIGTERM)
		_ = sd.Wait()
		// Whatever supervisord left behind.
		_ = syscall.Kill(-sd.Process.Pid, syscall.SIGKILL)
	}
	pids := make([]int, n)
	for i := range pids {
		select {
		case pids[i] = <-a.pids:
		case <-time.After(time.Minute):
			stop()
			b.Fatalf("supervisord started %d of %d programs in a minute: %s", i, n, out)
		}
	}
	return pids, sd.Process.Pid, stop
}

func BenchmarkSupervisorRestart(b *testing.B) {
	interleave(b, side{"ours", func(b *testing.B) {
		a := newAnnouncer(b)
		pids, stop := ours(b, a, 1)
		defer stop()
		for b.Loop() {
			a.crashAll(b, pids)
		}
	}}, side{"supervisord", func(b *testing.B) {
		a := newAnnouncer(b)
		pids, _, stop := peer(b, a, 1)
		defer stop()
		for b.Loop() {
			a.crashAll(b, pids)
		}
	}})
}

// ticksPerSecond is the unit of /proc/<pid>/stat times on Linux.
const ticksPerSecond = 100

func procCPU(pid int) time.Duration {
	st, err := status.ReadStat(pid)
	if err != nil {
		return 0
	}
	return time.Duration(st.UTime+st.STime) * time.Second / ticksPerSecond
}

// BenchmarkSupervisorRestartAll: 20 programs, a typical container or
// appliance; all crash at once.
func BenchmarkSupervisorRestartAll(b *testing.B) {
	const n = 20
	b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
		interleave(b, side{"ours", func(b *testing.B) {
			a := newAnnouncer(b)
			pids, stop := ours(b, a, n)
			defer stop()
			cpu := startCPU()
			for b.Loop() {
				a.crashAll(b, pids)
			}
			cpu.report(b)
		}}, side{"supervisord", func(b *testing.B) {
			a := newAnnouncer(b)
			pids, sd, stop := peer(b, a, n)
			defer stop()
			cpu, sdCPU := processCPU(), procCPU(sd)
			for b.Loop() {
				a.crashAll(b, pids)
			}
			used := processCPU() - cpu + procCPU(sd) - sdCPU
			b.ReportMetric(float64(used)/float64(b.N), "cpu-ns/op")
		}})
	})
}
