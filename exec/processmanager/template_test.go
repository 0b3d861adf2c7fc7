//go:build linux

package processmanager_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	pm "github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/processmanager/model"
	"github.com/plinth-go/plinth/exec/processmanager/status"
)

func TestTemplateOptionSavesATemplateThatRoundTrips(t *testing.T) {
	dir := t.TempDir()
	m := newManager(t, pm.Config{TemplatePath: dir})
	_, err := m.NewProcess(helper, pm.WithName("saved"), pm.Args("sleep", "forever"), pm.Restarts(2),
		pm.Writer(os.Stdout, os.Stderr), pm.AutoTerminate(), pm.CPUAffinity("", "0", 2*time.Second),
		pm.WithStopTimeout(3*time.Second), pm.EnvVar([]string{"A=b"}), pm.WithStatusCheck(""), pm.Template(true))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "saved.json")
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("template file mode %v, want 0644", fi.Mode().Perm())
	}
	want := &model.Template{Name: "saved", Cmd: helper, POptions: &model.Template_POptions{
		Args: []string{"sleep", "forever"}, OutWriter: true, ErrWriter: true, Restart: 2, RunOnStartup: true,
		AutoTerminate: true, CpuAffinityList: "0", CpuAffinityDelay: "2s", StopTimeout: "3s", Env: []string{"A=b"},
		StatusCheck: true,
	}}
	got, err := m.GetTemplate("saved")
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Errorf("GetTemplate(saved) = %v, want %v", got, want)
	}
	all, err := m.GetAllTemplates()
	if err != nil || len(all) != 1 || !proto.Equal(all[0], want) {
		t.Errorf("GetAllTemplates() = %v, %v; want [%v]", all, err, want)
	}
	if _, err := m.GetTemplate("missing"); !errors.Is(err, pm.ErrNotFound) {
		t.Errorf("GetTemplate(missing) = %v, want ErrNotFound", err)
	}

	// A process from the template has the same definition.
	if err := m.Delete("saved"); err != nil {
		t.Fatal(err)
	}
	p, err := m.NewProcessFromTemplate(got)
	if err != nil {
		t.Fatal(err)
	}
	if p.GetName() != "saved" || p.GetCommand() != helper || strings.Join(p.GetArguments(), " ") != "sleep forever" {
		t.Errorf("process from template: %q %q %q", p.GetName(), p.GetCommand(), p.GetArguments())
	}
}

func TestTemplatesAreReadAtInitAndRunOnStartupOnesStarted(t *testing.T) {
	dir := t.TempDir()
	writeTemplate(t, dir, "auto.json", `{"name":"auto","cmd":"`+helper+`","p_options":{"args":["sleep","forever"],"run_on_startup":true,"notify":true}}`)
	// No name: named after the file. camelCase keys are accepted too.
	writeTemplate(t, dir, "manual.json", `{"cmd":"sleep","pOptions":{"args":["1000"]}}`)
	writeTemplate(t, dir, "README.txt", `not a template`)
	conf := filepath.Join(t.TempDir(), "pm.conf")
	if err := os.WriteFile(conf, []byte("template-path: "+dir+"\npoll-interval: 10ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := pm.NewPlugin()
	a := agenttest.New(t, agent.AllPlugins(m), agent.Args("-process-manager-config="+conf))
	agenttest.RequireStart(t, a)

	auto := m.GetProcessByName("auto")
	if auto == nil || !auto.IsAlive() {
		t.Fatalf("run-on-startup process: %v", auto)
	}
	ch := auto.GetNotificationChan()
	if ch == nil {
		t.Fatal("no notification channel for a template with notify")
	}
	if manual := m.GetProcessByName("manual"); manual == nil || manual.State() != status.Initial {
		t.Errorf("process of a template without run_on_startup: %v, want defined and not started", manual)
	}
	pid := auto.GetPid()
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if !gone(pid) {
		t.Errorf("pid %d runs after the agent stopped", pid)
	}
	for range ch {
		// The manager closes the channel it made.
	}
}

func TestInvalidTemplateFailsInitNamingTheFile(t *testing.T) {
	for _, tc := range []struct {
		name, content, want string
	}{
		{"not json", `{`, "unexpected EOF"},
		{"unknown key", `{"cmd":"sleep","p_options":{"restarts":3}}`, "restarts"},
		{"no cmd", `{"name":"bad"}`, "no cmd"},
		{"name differs from the file", `{"name":"other","cmd":"sleep"}`, "differs"},
		{"bad duration", `{"cmd":"sleep","p_options":{"cpu_affinity_list":"0","cpu_affinity_delay":"2 s"}}`, "cpu_affinity_delay"},
		{"bad cpu list", `{"cmd":"sleep","p_options":{"cpu_affinity_list":"x"}}`, "cpu list"},
		{"wrong type", `{"cmd":"sleep","p_options":{"restart":true}}`, "restart"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTemplate(t, dir, "good.json", `{"cmd":"sleep"}`)
			file := writeTemplate(t, dir, "bad.json", tc.content)
			m := pm.NewPlugin(pm.UseConf(pm.Config{TemplatePath: dir}))
			err := m.Init()
			if err == nil {
				m.Close()
				t.Fatal("Init succeeded")
			}
			var te *pm.TemplateError
			if !errors.As(err, &te) || te.File != file {
				t.Fatalf("Init() = %v, want a *TemplateError for %s", err, file)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), file) {
				t.Errorf("Init() = %q, want it to name %s and mention %q", err, file, tc.want)
			}
		})
	}
}

func TestRunOnStartupFailureFailsTheAgentStart(t *testing.T) {
	dir := t.TempDir()
	file := writeTemplate(t, dir, "broken.json", `{"cmd":"/nonexistent/cmd","p_options":{"run_on_startup":true}}`)
	m := pm.NewPlugin(pm.UseConf(pm.Config{TemplatePath: dir}))
	a := agenttest.New(t, agent.AllPlugins(m))
	err := a.Start()
	if err == nil {
		_ = a.Stop()
		t.Fatal("the agent started")
	}
	if !strings.Contains(err.Error(), file) {
		t.Errorf("Start() = %v, want it to name %s", err, file)
	}
}

func TestTemplatesNeedATemplatePath(t *testing.T) {
	m := newManager(t)
	if _, err := m.NewProcess("sleep", pm.Template(false)); !errors.Is(err, pm.ErrNoTemplatePath) {
		t.Errorf("NewProcess with Template = %v, want ErrNoTemplatePath", err)
	}
	if m.GetProcessByName("sleep") != nil {
		t.Error("the process was defined although its template could not be saved")
	}
	if _, err := m.GetTemplate("x"); !errors.Is(err, pm.ErrNoTemplatePath) {
		t.Errorf("GetTemplate = %v, want ErrNoTemplatePath", err)
	}
	if _, err := m.GetAllTemplates(); !errors.Is(err, pm.ErrNoTemplatePath) {
		t.Errorf("GetAllTemplates = %v, want ErrNoTemplatePath", err)
	}
}

func TestTemplatePathIsCreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	newManager(t, pm.Config{TemplatePath: dir})
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("template path mode %v, want 0755", fi.Mode().Perm())
	}
}

func writeTemplate(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
