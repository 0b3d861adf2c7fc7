//go:build linux

package processmanager_test

import (
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	pm "github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/infra/rest"
)

// missingCPU returns a CPU the machine does not have, and the list of the
// CPUs it has online as the kernel prints it ("0-1").
func missingCPU(t *testing.T) (int, string) {
	t.Helper()
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		t.Fatal(err)
	}
	online := strings.TrimSpace(string(b))
	cpus, err := pm.ParseCPUList(online)
	if err != nil {
		t.Fatal(err)
	}
	for c := range maxCPUs {
		if !slices.Contains(cpus, c) {
			return c, online
		}
	}
	t.Fatalf("every one of the %d CPUs a mask can name is online", maxCPUs)
	return 0, ""
}

func TestAffinityToAMissingCPUIsInTheStatus(t *testing.T) {
	missing, online := missingCPU(t)
	first := allowedCPUs(t)[0]
	m := pm.NewPlugin()
	h := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	agenttest.Start(t, agent.AllPlugins(h, m))
	base := "http://" + h.Addr().String()

	for _, tc := range []struct {
		name, list string
		bound      []int // the affinity of the process; nil: unchanged
		want       string
	}{
		{"only-missing", strconv.Itoa(missing), nil,
			"CPU " + strconv.Itoa(missing) + " does not exist on this machine (CPUs " + online + "); the process runs unbound"},
		{"one-missing", strconv.Itoa(first) + "," + strconv.Itoa(missing), []int{first},
			"CPU " + strconv.Itoa(missing) + " does not exist on this machine (CPUs " + online + "); bound to CPUs " + strconv.Itoa(first) + " only"},
		{"all-present", strconv.Itoa(first), []int{first}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := newLines()
			p := newHelper(t, m, tc.name, []string{"ready", "affinity", "sleep", "forever"},
				pm.CPUAffinity("", tc.list, 0), pm.Writer(out, nil))
			mustStart(t, p)
			line := out.waitPrefix(t, "cpus ", 1)
			got, err := pm.ParseCPUList(strings.TrimPrefix(line, "cpus "))
			want := tc.bound
			if want == nil {
				want = allowedCPUs(t)
			}
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("affinity of the process %q, want %v", line, want)
			}
			if in := p.Info(); in.AffinityError != tc.want || !in.Alive {
				t.Errorf("Info() affinity error %q (alive %v), want %q and alive", in.AffinityError, in.Alive, tc.want)
			}
			var raw map[string]any
			if code := getJSON(t, base+"/process/"+tc.name, &raw); code != http.StatusOK {
				t.Fatalf("GET /process/%s: %d", tc.name, code)
			}
			if got, ok := raw["affinity_error"]; (tc.want == "" && ok) || (tc.want != "" && got != tc.want) {
				t.Errorf("GET /process/%s: affinity_error %v (present %v), want %q", tc.name, got, ok, tc.want)
			}
			var list []map[string]any
			getJSON(t, base+"/process/list", &list)
			i := slices.IndexFunc(list, func(e map[string]any) bool { return e["name"] == tc.name })
			if i < 0 || (tc.want != "" && list[i]["affinity_error"] != tc.want) {
				t.Errorf("GET /process/list: entry of %s %v, want affinity_error %q", tc.name, list, tc.want)
			}
		})
	}
}
