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
