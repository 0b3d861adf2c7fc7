//go:build linux

package supervisor_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/infra/rest"
)

// rewrite replaces the conf at path, as an operator edits it before a
// reload; %[1]s is the helper, %[2]s the socket of reports.
func rewrite(t *testing.T, path, conf string, args ...any) {
	t.Helper()
	if err := os.WriteFile(path, []byte(fmt.Sprintf(conf, args...)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pids returns the pid of every program, by name.
func pids(sv *supervisor.Plugin) map[string]int {
	out := map[string]int{}
	for _, st := range sv.Programs() {
		out[st.Name] = st.Pid
	}
	return out
}

// alive reports whether a process with pid exists (and is not a zombie
// the manager has yet to reap: the manager reaps every run it stops before
// StopAndWait returns).
func alive(pid int) bool { return unix.Kill(pid, 0) == nil }

const reloadConfBefore = `
hooks-shutdown-timeout: 30s
programs:
  - name: a
    executable-path: %[1]s
    executable-args: [%[2]s, run]
  - name: b
    executable-path: %[1]s
    executable-args: [%[2]s, run]
  - name: c
    executable-path: %[1]s
    executable-args: [%[2]s, run]
hooks:
  - event-type: stopped
    cmd: %[1]s
    cmd-args: [%[2]s, hook, old]
`

// b changes (one key more), c goes, d comes and depends on b; the hook is
// replaced.
const reloadConfAfter = `
hooks-shutdown-timeout: 30s
programs:
  - name: d
    executable-path: %[1]s
    executable-args: [%[2]s, run]
    depends-on: [b]
  - name: a
    executable-path: %[1]s
    executable-args: [%[2]s, run]
  - name: b
    executable-path: %[1]s
    executable-args: [%[2]s, run]
    env: {CHANGED: "yes"}
hooks:
  - event-type: started
    cmd: %[1]s
    cmd-args: [%[2]s, hook, new]
`

func TestReloadStartsAddedStopsRemovedRestartsChangedAndKeepsTheRest(t *testing.T) {
	rep := newReports(t)
	conf := writeConf(t, reloadConfBefore, helper, rep.path)
	r := start(t, conf)
	for _, name := range []string{"a", "b", "c"} {
		r.events.next(t, name, supervisor.EventTypeStarted)
	}
	before := pids(r.sv)

	rewrite(t, conf, reloadConfAfter, helper, rep.path)
	res, err := r.sv.Reload()
	if err != nil {
		t.Fatalf("Reload: %v", err)
	}
	want := supervisor.ReloadResult{Added: []string{"d"}, Removed: []string{"c"}, Changed: []string{"b"}, Unchanged: []string{"a"}}
	if fmt.Sprint(res) != fmt.Sprint(want) {
		t.Errorf("Reload() = %+v, want %+v", res, want)
	}
	// c and the old b stopped, as a stop does; b's new run and then d
	// (which waits for b) started.
	if got := types(r.events.until(t, "c", supervisor.EventTypeStopped)); !slices.Equal(got, []supervisor.EventType{supervisor.EventTypeStopped}) {
		t.Errorf("events of c: %v, want stopped", got)
	}
	r.events.next(t, "b", supervisor.EventTypeStopped)
	bStarted := r.events.next(t, "b", supervisor.EventTypeStarted)
	dStarted := r.events.next(t, "d", supervisor.EventTypeStarted)
	if !dStarted.Time.After(bStarted.Time) {
		t.Errorf("d started at %v, before b (%v), which it depends on", dStarted.Time, bStarted.Time)
	}

	after := pids(r.sv)
	if after["a"] != before["a"] || after["a"] == 0 {
		t.Errorf("pid of unchanged a: %d then %d, want the same", before["a"], after["a"])
	}
	if after["b"] == before["b"] || after["b"] != bStarted.Pid {
		t.Errorf("pid of changed b: %d then %d, want its new run %d", before["b"], after["b"], bStarted.Pid)
	}
	if _, ok := after["c"]; ok || alive(before["c"]) {
		t.Errorf("removed c: still listed (%v) or its process %d alive (%v)", ok, before["c"], alive(before["c"]))
	}
	if alive(before["b"]) {
		t.Errorf("old run %d of changed b still alive", before["b"])
	}
	if after["d"] != dStarted.Pid || after["d"] == 0 {
		t.Errorf("pid of added d: %d, want %d", after["d"], dStarted.Pid)
	}
	if got := r.sv.GetProgramNames(); !slices.Equal(got, []string{"a", "b", "d"}) {
		t.Errorf("GetProgramNames() = %v, want the start order of the new conf [a b d]", got)
	}
	// The new b runs with its new setting.
	if st, _ := r.sv.Program("b"); st.State != supervisor.ProgramStateRunning {
		t.Errorf("b = %+v, want running", st)
	}
	if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", after["b"])); err != nil || !strings.Contains(string(env), "CHANGED=yes") {
		t.Errorf("environment of the new b lacks CHANGED=yes (%v)", err)
	}

	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	// The old hook ran for the stops of the reload; the new one for the
	// starts after it, and the old one never again.
	var got []string
	for _, h := range hookReports(t, rep.drain(t)) {
		got = append(got, h.id+" "+h.env["SUPERVISOR_EVENT_TYPE"]+" "+h.env["SUPERVISOR_PROCESS_NAME"])
	}
	slices.Sort(got)
	wantHooks := []string{"new started b", "new started d", "old stopped b", "old stopped c"}
	if !slices.Equal(got, wantHooks) {
		t.Errorf("hooks ran %q, want %q", got, wantHooks)
	}
}

func TestReloadOfABadConfChangesNothing(t *testing.T) {
	rep := newReports(t)
	conf := writeConf(t, reloadConfBefore, helper, rep.path)
	r := start(t, conf)
	for _, name := range []string{"a", "b", "c"} {
		r.events.next(t, name, supervisor.EventTypeStarted)
	}
	before := pids(r.sv)
	// A valid program first, then an unknown key on line 6.
	rewrite(t, conf, `programs:
  - name: a
    executable-path: %[1]s
    executable-args: [%[2]s, run]
  - name: e
    restart: 3
    executable-path: %[1]s
`, helper, rep.path)
	res, err := r.sv.Reload()
	if err == nil {
		t.Fatalf("Reload of a bad conf = %+v, want an error", res)
	}
	if want := conf + ":6: "; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `"programs[1].restart"`) {
		t.Errorf("Reload error %q, want it to name %s and the key", err, want)
	}
	if after := pids(r.sv); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("pids after a refused reload %v, want %v", after, before)
	}
	for name, pid := range before {
		if !alive(pid) {
			t.Errorf("%s (pid %d) died in a refused reload", name, pid)
		}
	}
	if got := types(r.events.all("c")); len(got) != 0 {
		t.Errorf("events of c after a refused reload: %v, want none", got)
	}
}

func TestSIGHUPReloadsTheConf(t *testing.T) {
	rep := newReports(t)
	conf := writeConf(t, `
programs:
  - name: a
    executable-path: %[1]s
    executable-args: [%[2]s, run]
`, helper, rep.path)
	r := start(t, conf)
	first := r.events.next(t, "a", supervisor.EventTypeStarted).Pid
	rewrite(t, conf, `
programs:
  - name: a
    executable-path: %[1]s
    executable-args: [%[2]s, run]
  - name: hup
    executable-path: %[1]s
    executable-args: [%[2]s, run]
`, helper, rep.path)
	if err := unix.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	ev := r.events.next(t, "hup", supervisor.EventTypeStarted)
	if got := pids(r.sv); got["a"] != first || got["hup"] != ev.Pid {
		t.Errorf("after SIGHUP: pids %v, want a still %d and hup %d", got, first, ev.Pid)
	}
}

func TestReloadOverREST(t *testing.T) {
	rep := newReports(t)
	server := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	conf := writeConf(t, reloadConfBefore, helper, rep.path)
	r := start(t, conf, server)
	for _, name := range []string{"a", "b", "c"} {
		r.events.next(t, name, supervisor.EventTypeStarted)
	}
	url := "http://" + server.Addr().(*net.TCPAddr).String() + supervisor.ReloadPath
	post := func() (int, string, string) {
		t.Helper()
		resp, err := http.Post(url, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
	}

	// Nothing changed: every list present, empty ones as [].
	code, ctype, body := post()
	if want := `{"added":[],"removed":[],"changed":[],"unchanged":["a","b","c"]}` + "\n"; code != http.StatusOK || ctype != "application/json" || body != want {
		t.Errorf("POST %s = %d %s %q, want 200 %q", supervisor.ReloadPath, code, ctype, body, want)
	}

	rewrite(t, conf, "programs: [\n%[1]s", "")
	code, _, body = post()
	var e struct{ Error string }
	if err := json.Unmarshal([]byte(body), &e); code != http.StatusBadRequest || err != nil || !strings.Contains(e.Error, conf+":") {
		t.Errorf("POST %s of a bad conf = %d %q, want 400 {\"error\": \"%s:…\"}", supervisor.ReloadPath, code, body, conf)
	}

	rewrite(t, conf, reloadConfAfter, helper, rep.path)
	code, _, body = post()
	if want := `{"added":["d"],"removed":["c"],"changed":["b"],"unchanged":["a"]}` + "\n"; code != http.StatusOK || body != want {
		t.Errorf("POST %s = %d %q, want 200 %q", supervisor.ReloadPath, code, body, want)
	}

	// A read does not reload.
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET %s = %d, want 405", supervisor.ReloadPath, resp.StatusCode)
	}
	// A cross-origin POST is refused, as for every state change.
	req, _ := http.NewRequest(http.MethodPost, url, nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST %s = %d, want 403", supervisor.ReloadPath, resp.StatusCode)
	}
}

func TestReloadRestartsTenChangedPrograms(t *testing.T) {
	rep := newReports(t)
	var before, after strings.Builder
	before.WriteString("programs:\n")
	after.WriteString("programs:\n")
	for i := range 10 {
		fmt.Fprintf(&before, "  - name: p%d\n    executable-path: %%[1]s\n    executable-args: [%%[2]s, run]\n", i)
		fmt.Fprintf(&after, "  - name: p%d\n    executable-path: %%[1]s\n    executable-args: [%%[2]s, run]\n    priority: 1\n", i)
	}
	conf := writeConf(t, before.String(), helper, rep.path)
	r := start(t, conf)
	for i := range 10 {
		r.events.next(t, fmt.Sprintf("p%d", i), supervisor.EventTypeStarted)
	}
	old := pids(r.sv)
	rewrite(t, conf, after.String(), helper, rep.path)
	began := time.Now()
	res, err := r.sv.Reload()
	took := time.Since(began)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changed) != 10 {
		t.Fatalf("Reload() = %+v, want 10 changed", res)
	}
	for i := range 10 {
		name := fmt.Sprintf("p%d", i)
		ev := r.events.next(t, name, supervisor.EventTypeStarted)
		if ev.Pid == old[name] {
			t.Errorf("%s kept pid %d through a change", name, ev.Pid)
		}
	}
	t.Logf("reload restarting 10 programs took %v", took)
}
