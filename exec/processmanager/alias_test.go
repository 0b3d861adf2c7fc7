//go:build linux

package processmanager_test

import (
	"os"
	"slices"
	"testing"

	pm "github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/processmanager/status"
)

// TestCnInfraNamesBehaveAsTheirPlinthNames checks the names kept for code
// ported from cn-infra against the names they stand for.
func TestCnInfraNamesBehaveAsTheirPlinthNames(t *testing.T) {
	m := newManager(t)
	out := newLines()
	opts := []pm.POption{pm.WithName("a"), pm.Args("ready", "sleep", "forever"), pm.Writer(out, out)}
	a, err := m.NewProcess(helper, opts...)
	if err != nil {
		t.Fatal(err)
	}
	b := newHelper(t, m, "b", []string{"exit", "0"})
	if got, want := m.GetAllProcesses(), m.List(); !slices.Equal(got, want) || !slices.Equal(got, []*pm.Process{a, b}) {
		t.Errorf("GetAllProcesses() = %v, List() = %v, want [a b]", got, want)
	}

	// Never started: no uptime, no status file.
	if got := a.GetInstanceName(); got != "" {
		t.Errorf("GetInstanceName() of a process never started = %q, want \"\"", got)
	}
	if up, upTime := a.GetUptime(), a.GetUpTime(); up != 0 || upTime != 0 {
		t.Errorf("GetUptime() = %v, GetUpTime() = %v before the start, want 0", up, upTime)
	}

	mustStart(t, a)
	out.waitPrefix(t, "ready", 1)
	f, err := a.UpdateStatus()
	if err != nil {
		t.Fatal(err)
	}
	if got := a.GetInstanceName(); got != f.Name || got != "testhelper" {
		t.Errorf("GetInstanceName() = %q, UpdateStatus().Name = %q, want testhelper", got, f.Name)
	}
	// GetStatus reads the pid it is given, as status.ReadFile does.
	for _, pid := range []int{a.GetPid(), os.Getpid()} {
		got, err := a.GetStatus(pid)
		want, wantErr := status.ReadFile(pid)
		if err != nil || wantErr != nil || got.Pid != pid || got.Name != want.Name {
			t.Errorf("GetStatus(%d) = %+v, %v; status.ReadFile = %+v, %v", pid, got, err, want, wantErr)
		}
	}
	// The uptime grows: the Plinth name, read in between, sees the same.
	before := a.GetUptime()
	mid := a.GetUpTime()
	after := a.GetUptime()
	if before <= 0 || before > mid || mid > after {
		t.Errorf("GetUptime() %v, GetUpTime() %v, GetUptime() %v; want positive and not decreasing", before, mid, after)
	}

	if _, err := a.StopAndWait(); err != nil {
		t.Fatal(err)
	}
	if got := a.GetInstanceName(); got != "" {
		t.Errorf("GetInstanceName() of a stopped process = %q, want \"\"", got)
	}
	if up := a.GetUptime(); up != 0 {
		t.Errorf("GetUptime() of a stopped process = %v, want 0", up)
	}
}
