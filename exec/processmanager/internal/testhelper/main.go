//go:build linux

// Command testhelper is a child process for the tests and benchmarks of the
// process manager. It runs its arguments as a sequence of steps:
//
//	up                 print "up <pid> <monotonic ns>"
//	down               print "down <pid> <monotonic ns>"
//	ready              print "ready <pid>"
//	ignore-term        ignore SIGTERM
//	spawn N            start N children running "sleep forever", print "child <pid>" for each
//	threads N          start N more OS threads, blocked; the next step runs
//	                   once they all exist
//	affinity           print "cpus <list>" of sched_getaffinity
//	wait-usr1          wait for SIGUSR1
//	crash-unless FILE  exit 1 at once unless FILE exists
//	sleep D|forever    sleep for a duration, or until killed
//	exit N             exit with code N
//	echo TEXT          print TEXT
//	flood N            print N bytes, as lines of 1 KiB ("xxx…x\n")
//	stderr TEXT        print TEXT on standard error
//
// Without an exit step it exits 0 after the last step.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	args := os.Args[1:]
	next := func() string {
		if len(args) == 0 {
			fail("missing argument")
		}
		a := args[0]
		args = args[1:]
		return a
	}
	for len(args) > 0 {
		switch step := next(); step {
		case "up", "down":
			fmt.Printf("%s %d %d\n", step, os.Getpid(), monotonic())
		case "ready":
			fmt.Printf("ready %d\n", os.Getpid())
		case "ignore-term":
			signal.Ignore(syscall.SIGTERM)
		case "spawn":
			for range atoi(next()) {
				c := exec.Command(os.Args[0], "sleep", "forever")
				if err := c.Start(); err != nil {
					fail(err.Error())
				}
				fmt.Printf("child %d\n", c.Process.Pid)
			}
		case "threads":
			startThreads(atoi(next()))
		case "affinity":
			var set unix.CPUSet
			if err := unix.SchedGetaffinity(0, &set); err != nil {
				fail(err.Error())
			}
			var cpus []string
			for c := range 1024 {
				if set.IsSet(c) {
					cpus = append(cpus, strconv.Itoa(c))
				}
			}
			fmt.Printf("cpus %s\n", strings.Join(cpus, ","))
		case "wait-usr1":
			ch := make(chan os.Signal, 1)
			signal.Notify(ch, syscall.SIGUSR1)
			fmt.Printf("waiting %d\n", os.Getpid())
			<-ch
		case "crash-unless":
			if _, err := os.Stat(next()); err != nil {
				os.Exit(1)
			}
		case "sleep":
			if d := next(); d == "forever" {
				for {
					time.Sleep(time.Hour)
				}
			} else {
				dur, err := time.ParseDuration(d)
				if err != nil {
					fail(err.Error())
				}
				time.Sleep(dur)
			}
		case "exit":
			os.Exit(atoi(next()))
		case "echo":
			fmt.Println(next())
		case "flood":
			flood(atoi(next()))
		case "stderr":
			fmt.Fprintln(os.Stderr, next())
		default:
			fail("unknown step " + step)
		}
	}
}

// startThreads starts n goroutines that each lock an OS thread for good,
// and returns once every one of them holds its thread. A goroutine locked
// to a thread is the only one that thread runs, so the process then has n
// threads besides the one running main.
func startThreads(n int) {
	locked := make(chan struct{}, n)
	for range n {
		go func() {
			runtime.LockOSThread()
			locked <- struct{}{}
			for {
				time.Sleep(time.Hour)
			}
		}()
	}
	for range n {
		<-locked
	}
}

// flood writes n bytes to standard output, in lines of 1 KiB and in writes
// of 4 KiB, as a chatty program would; a failed write ends the helper.
func flood(n int) {
	line := append(make([]byte, 0, 1024), strings.Repeat("x", 1023)+"\n"...)
	chunk := make([]byte, 0, 4096)
	for len(chunk) < cap(chunk) {
		chunk = append(chunk, line...)
	}
	for n > 0 {
		w := chunk[:min(n, len(chunk))]
		if _, err := os.Stdout.Write(w); err != nil {
			fail(err.Error())
		}
		n -= len(w)
	}
}

func monotonic() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		fail(err.Error())
	}
	return ts.Nano()
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail(err.Error())
	}
	return n
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "testhelper:", msg)
	os.Exit(99)
}
