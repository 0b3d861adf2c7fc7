package status_test

import (
	"errors"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/exec/processmanager/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseStatHandlesCommandsWithSpacesAndParentheses(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		comm       string
		state      status.State
	}{
		{"plain", "42 (sleep) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 12345 8192 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0", "sleep", status.Sleeping},
		{"space and parens", "7 (a) b (c) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 3 0 99 0 0 0", "a) b (c", status.Running},
		{"zombie", "9 (x) Z 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0 0", "x", status.Zombie},
		{"idle", "2 (kworker/0:1) I 2 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0 0", "kworker/0:1", status.Idle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := status.ParseStat([]byte(tc.line))
			if err != nil {
				t.Fatal(err)
			}
			if st.Comm != tc.comm || st.State != tc.state {
				t.Errorf("ParseStat = comm %q state %s, want %q %s", st.Comm, st.State, tc.comm, tc.state)
			}
			letter, err := status.ParseStatLetter([]byte(tc.line))
			if err != nil || letter != tc.state {
				t.Errorf("ParseStatLetter = %s, %v; want %s", letter, err, tc.state)
			}
		})
	}
	st, _ := status.ParseStat([]byte("42 (sleep) S 1 42 43 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 12345 8192 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0"))
	if st.Pid != 42 || st.PPid != 1 || st.Pgrp != 42 || st.Session != 43 || st.UTime != 1 || st.STime != 2 ||
		st.NumThreads != 1 || st.StartTime != 12345 || st.VSize != 8192 || st.RSS != 100 || st.Processor != 1 {
		t.Errorf("ParseStat fields = %+v", st)
	}
}

func TestParseStatRejectsMalformedInput(t *testing.T) {
	for _, line := range []string{"", "42 sleep S", "42 (sleep) Q 1 2 3", "x (a) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0 0", "1 (a) S"} {
		if _, err := status.ParseStat([]byte(line)); !errors.Is(err, status.ErrMalformed) {
			t.Errorf("ParseStat(%q) error = %v, want ErrMalformed", line, err)
		}
	}
}

func TestReadStatOfTheTestProcess(t *testing.T) {
	st, err := status.ReadStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.Pid != os.Getpid() || st.PPid != os.Getppid() || !st.State.Alive() || st.NumThreads < 1 {
		t.Errorf("ReadStat(self) = %+v", st)
	}
}

func TestParseStatusReadsAKernelStatusFile(t *testing.T) {
	data, err := os.ReadFile("testdata/status-cat")
	if err != nil {
		t.Fatal(err)
	}
	f, err := status.ParseStatus(data)
	if err != nil {
		t.Fatal(err)
	}
	// cn-infra read the octal umask 0022 as decimal 22.
	if f.Name != "cat" || f.Umask != 0o022 || f.State != status.Running || f.StateName != "running" || f.Pid <= 0 || f.Threads != 1 {
		t.Errorf("ParseStatus = name %q umask %o state %s (%q) pid %d threads %d", f.Name, f.Umask, f.State, f.StateName, f.Pid, f.Threads)
	}
	if f.VMRSS == 0 || f.VMRSS%1024 != 0 || f.CpusAllowedList == "" || f.Fields["Cpus_allowed"] == "" {
		t.Errorf("ParseStatus: VmRSS %d, Cpus_allowed_list %q, Fields %v", f.VMRSS, f.CpusAllowedList, f.Fields)
	}
}

func TestParseStatusHandlesMultiWordStates(t *testing.T) {
	for letter, want := range map[string]status.State{
		"D (disk sleep)": status.DiskSleep, "t (tracing stop)": status.TracingStop, "X (dead)": status.Dead,
	} {
		f, err := status.ParseStatus([]byte("Name:\tmy: prog \nState:\t" + letter + "\nPid:\t5\n"))
		if err != nil {
			t.Fatal(err)
		}
		if f.State != want || f.Name != "my: prog " || f.Umask != -1 {
			t.Errorf("State %q: got %s, name %q, umask %d; want %s, %q, -1", letter, f.State, f.Name, f.Umask, want, "my: prog ")
		}
	}
}

func TestParseStatusRejectsMalformedInput(t *testing.T) {
	for _, in := range []string{"", "Pid:\tx\n", "no colon\nPid:\t1\n", "State:\tQ (what)\nPid:\t1\n", "Pid:\t1\nUid:\t0 0\n", "Pid:\t1\nVmRSS:\t12 MB\n", "Pid:\t-3\n"} {
		if _, err := status.ParseStatus([]byte(in)); !errors.Is(err, status.ErrMalformed) {
			t.Errorf("ParseStatus(%q) error = %v, want ErrMalformed", in, err)
		}
	}
}

func TestStateAliveAndString(t *testing.T) {
	for st, alive := range map[status.State]bool{
		"": false, status.Initial: false, status.Terminated: false, status.Zombie: false, status.Dead: false,
		status.Running: true, status.Sleeping: true, status.Idle: true, status.Stopped: true, status.Unavailable: true,
	} {
		if st.Alive() != alive {
			t.Errorf("State(%q).Alive() = %v, want %v", st, st.Alive(), alive)
		}
	}
	if status.State("").String() != "initial" {
		t.Errorf("zero State prints %q, want initial", status.State(""))
	}
}

// FuzzParseStat checks that the stat parsers never panic and agree on the
// state. Seeds in testdata/fuzz/FuzzParseStat: a real line, a command with
// spaces and parentheses, a truncated line.
func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1 (init) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0 0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := status.ParseStat(data)
		letter, lerr := status.ParseStatLetter(data)
		if err == nil {
			if lerr != nil || letter != st.State {
				t.Errorf("ParseStat state %s, ParseStatLetter %s, %v", st.State, letter, lerr)
			}
		}
	})
}

// FuzzParseStatus checks that ParseStatus never panics, and that what it
// parses it keeps in Fields. Seeds in testdata/fuzz/FuzzParseStatus.
func FuzzParseStatus(f *testing.F) {
	if data, err := os.ReadFile("testdata/status-cat"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := status.ParseStatus(data)
		if err != nil {
			return
		}
		if fl.Pid <= 0 || fl.Fields["Pid"] == "" {
			t.Errorf("parsed without a pid: %+v", fl)
		}
	})
}
