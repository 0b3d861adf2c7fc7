//go:build linux

// Command testhelper is the program the supervisor tests run as programs
// and hooks. Its first argument is a unix socket of the test, to which it
// reports; the second chooses what it does:
//
//	run          report "ready <pid>", then wait to be killed
//	ignore-term  ignore SIGTERM, report "ready <pid>", then wait
//	threads      start 3 extra threads, report "ready <pid>" once they
//	             exist, then wait
//	family       start two sleeping children in its group, report
//	             "family <pid> <child> <child>", then wait
//	exit CODE    report "ready <pid>" and exit with CODE
//	print        write a line to stdout and one to stderr, report
//	             "ready <pid>", then wait
//	env NAME     report "env <value of NAME> <working directory>", then wait
//	hook ID      report "hook ID <json of the SUPERVISOR_* variables, PATH, HOME and PLINTH_TEST_SECRET>", exit
//	hook-fail ID as hook, then exit 3
//	hang ID      report "hang ID <pid>", then wait to be killed
//	stamp ID     report "stamp ID <pid> <unix time in ns>", then wait
//	flood N      write N bytes to stdout at 1 MiB/s, in lines of 1 KiB,
//	             and "to stderr" to stderr, report "flooded <pid>", then
//	             wait
//	term-family  start two children of its group in mode term-child,
//	             report "family <pid> <child> <child>"; on SIGTERM, wait
//	             for them to exit, then exit 0
//	term-child   on SIGTERM, report "term <pid>" and exit 0
//	whoami NAME  report "whoami <uid> <gid> <umask in octal> <working
//	             directory> <value of NAME>", then wait
//	stop-together DIR N
//	             report "ready <pid>"; on SIGTERM, create DIR/<pid>, and
//	             exit 0 once DIR holds N entries: it exits on its stop
//	             signal only when N programs got theirs
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: testhelper SOCKET MODE [ARG]")
		os.Exit(2)
	}
	sock, mode := os.Args[1], os.Args[2]
	pid := strconv.Itoa(os.Getpid())
	switch mode {
	case "run":
		report(sock, "ready "+pid)
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		report(sock, "ready "+pid)
	case "threads":
		// Each goroutine holds a thread of its own once locked: report
		// ready only when all of them do.
		locked := make(chan struct{}, 3)
		for range 3 {
			go func() {
				runtime.LockOSThread()
				locked <- struct{}{}
				select {}
			}()
		}
		for range 3 {
			<-locked
		}
		report(sock, "ready "+pid)
	case "family":
		kids := []string{pid}
		for range 2 {
			c := exec.Command("sleep", "1000")
			if err := c.Start(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			kids = append(kids, strconv.Itoa(c.Process.Pid))
		}
		report(sock, "family "+strings.Join(kids, " "))
	case "exit":
		code, _ := strconv.Atoi(os.Args[3])
		report(sock, "ready "+pid)
		os.Exit(code)
	case "hook", "hook-fail":
		vars := map[string]string{}
		for _, kv := range os.Environ() {
			// PATH and HOME stand for the variables a hook inherits,
			// PLINTH_TEST_SECRET for those it must not.
			if strings.HasPrefix(kv, "SUPERVISOR_") || strings.HasPrefix(kv, "PATH=") ||
				strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "PLINTH_TEST_SECRET=") {
				k, v, _ := strings.Cut(kv, "=")
				vars[k] = v
			}
		}
		b, _ := json.Marshal(vars)
		report(sock, "hook "+os.Args[3]+" "+string(b))
		if mode == "hook-fail" {
			os.Exit(3)
		}
		return
	case "print":
		fmt.Println("to stdout")
		fmt.Fprintln(os.Stderr, "to stderr")
		report(sock, "ready "+pid)
	case "env":
		wd, _ := os.Getwd()
		report(sock, "env "+os.Getenv(os.Args[3])+" "+wd)
	case "hang":
		report(sock, "hang "+os.Args[3]+" "+pid)
	case "stamp":
		report(sock, fmt.Sprintf("stamp %s %s %d", os.Args[3], pid, time.Now().UnixNano()))
	case "flood":
		n, _ := strconv.Atoi(os.Args[3])
		flood(n)
		fmt.Fprintln(os.Stderr, "to stderr")
		report(sock, "flooded "+pid)
	case "term-family":
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		kids := []string{pid}
		var cmds []*exec.Cmd
		for range 2 {
			// The child says on a pipe when it handles SIGTERM, so that
			// the family is reported only once a stop signal cannot kill
			// a child before it reports.
			pr, pw, err := os.Pipe()
			if err != nil {
				fail(err)
			}
			c := exec.Command(os.Args[0], sock, "term-child")
			c.ExtraFiles = []*os.File{pw}
			if err := c.Start(); err != nil {
				fail(err)
			}
			pw.Close()
			if _, err := pr.Read(make([]byte, 1)); err != nil {
				fail(err)
			}
			pr.Close()
			cmds = append(cmds, c)
			kids = append(kids, strconv.Itoa(c.Process.Pid))
		}
		report(sock, "family "+strings.Join(kids, " "))
		<-term
		for _, c := range cmds {
			_ = c.Wait()
		}
		os.Exit(0)
	case "term-child":
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		ready := os.NewFile(3, "ready")
		_, _ = ready.Write([]byte{1})
		ready.Close()
		<-term
		report(sock, "term "+pid)
		os.Exit(0)
	case "whoami":
		mask := unix.Umask(0)
		unix.Umask(mask)
		wd, _ := os.Getwd()
		report(sock, fmt.Sprintf("whoami %d %d %03o %s %s", os.Getuid(), os.Getgid(), mask, wd, os.Getenv(os.Args[3])))
	case "stop-together":
		n, _ := strconv.Atoi(os.Args[4])
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		report(sock, "ready "+pid)
		<-term
		stopTogether(os.Args[3], pid, n)
		os.Exit(0)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", mode)
		os.Exit(2)
	}
	// Wait to be killed: a blocked read of a pipe nobody writes keeps the
	// runtime from seeing a deadlock.
	r, w, _ := os.Pipe()
	_, _ = r.Read(make([]byte, 1))
	runtime.KeepAlive(w)
}

// stopTogether creates dir/name and returns once dir holds n entries. It
// watches dir with inotify before it creates its own entry, so it sees
// every entry created after its own.
func stopTogether(dir, name string, n int) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		fail(err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE); err != nil {
		fail(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
		fail(err)
	}
	buf := make([]byte, 4096)
	for {
		entries, err := os.ReadDir(dir)
		if err != nil {
			fail(err)
		}
		if len(entries) >= n {
			return
		}
		// Blocks until an entry is created; the events themselves do not
		// matter, the listing does.
		if _, err := unix.Read(fd, buf); err != nil && !errors.Is(err, unix.EINTR) {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "testhelper:", err)
	os.Exit(1)
}

func report(sock, msg string) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_, _ = c.Write([]byte(msg + "\n"))
	c.Close()
}

// flood writes n bytes to stdout in lines of 1 KiB, at 1 MiB/s: 64 KiB
// every 62.5ms. The pace matters, not the timing of each write.
func flood(n int) {
	line := []byte(strings.Repeat("x", 1023) + "\n")
	chunk := make([]byte, 0, 64<<10)
	for len(chunk) < cap(chunk) {
		chunk = append(chunk, line...)
	}
	start := time.Now()
	for sent := 0; sent < n; sent += len(chunk) {
		if due := start.Add(time.Duration(sent) * time.Second / (1 << 20)); time.Until(due) > 0 {
			time.Sleep(time.Until(due))
		}
		if _, err := os.Stdout.Write(chunk[:min(len(chunk), n-sent)]); err != nil {
			fail(err)
		}
	}
}
