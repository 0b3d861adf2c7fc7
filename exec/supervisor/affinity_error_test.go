//go:build linux

package supervisor_test

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/infra/rest"
)

func TestAFailedAffinityBindIsInTheProgramStatus(t *testing.T) {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		t.Fatal(err)
	}
	online := strings.TrimSpace(string(b))
	cpus, err := processmanager.ParseCPUList(online)
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for slices.Contains(cpus, missing) {
		missing++
	}
	rep := newReports(t)
	server := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	r := start(t, writeConf(t, `
programs:
  - name: pinned
    executable-path: %[1]s
    executable-args: [%[2]s, run]
    cpu-affinity-list: "%[3]d"
  - name: free
    executable-path: %[1]s
    executable-args: [%[2]s, run]
`, helper, rep.path, missing), server)
	rep.ready(t)
	rep.ready(t)

	want := "CPU " + strconv.Itoa(missing) + " does not exist on this machine (CPUs " + online + "); the process runs unbound"
	if st, _ := r.sv.Program("pinned"); st.AffinityError != want || st.State != supervisor.ProgramStateRunning {
		t.Errorf("Program(pinned): affinity error %q, state %s; want %q, running", st.AffinityError, st.State, want)
	}
	resp, err := http.Get("http://" + server.Addr().(*net.TCPAddr).String() + supervisor.ProgramsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["affinity_error"] != want {
		t.Errorf("GET %s: %v, want pinned with affinity_error %q", supervisor.ProgramsPath, got, want)
	}
	if _, ok := got[1]["affinity_error"]; ok {
		t.Errorf("GET %s: free has an affinity_error: %v", supervisor.ProgramsPath, got[1])
	}
}
