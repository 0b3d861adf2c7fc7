package servicelabel_test

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/servicelabel"
)

// sources describes where a label may come from in one test case.
type sources struct {
	file string            // content of service-label.conf; "" for no file
	env  map[string]string // environment of the agent
	args []string          // command line
	opts []servicelabel.Option
}

// start wires the plugin as an agent does and runs Init.
func start(t *testing.T, s sources) (*servicelabel.Plugin, error) {
	t.Helper()
	env := map[string]string{}
	for k, v := range s.env {
		env[k] = v
	}
	if s.file != "" {
		path := filepath.Join(t.TempDir(), "service-label.conf")
		if err := os.WriteFile(path, []byte(s.file), 0o644); err != nil {
			t.Fatal(err)
		}
		env["SERVICE_LABEL_CONFIG"] = path
	}
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	src := config.NewSource(fs, func(k string) string { return env[k] })
	p := servicelabel.NewPlugin(s.opts...)
	p.SetupDeps(infra.Host{Logs: logging.NewRegistry(logging.WithOutput(io.Discard)), Config: src})
	p.RegisterFlags(fs)
	if err := fs.Parse(s.args); err != nil {
		t.Fatalf("Parse(%q) = %v", s.args, err)
	}
	err := p.Init()
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return p, err
}

func TestLabelPrecedence(t *testing.T) {
	const (
		file = "microservice-label: from-file\n"
		env  = "from-env"
		flg  = "-microservice-label=from-flag"
	)
	tests := []struct {
		name string
		src  sources
		want string
	}{
		{name: "default", want: "vpp1"},
		{name: "file", src: sources{file: file}, want: "from-file"},
		{name: "file without the key keeps the default", src: sources{file: "# nothing set\n{}\n"}, want: "vpp1"},
		{name: "env", src: sources{env: map[string]string{"MICROSERVICE_LABEL": env}}, want: "from-env"},
		{name: "flag", src: sources{args: []string{flg}}, want: "from-flag"},
		{name: "option", src: sources{opts: []servicelabel.Option{servicelabel.UseLabel("from-code")}}, want: "from-code"},
		{name: "env beats file", src: sources{file: file, env: map[string]string{"MICROSERVICE_LABEL": env}}, want: "from-env"},
		{name: "empty env is unset", src: sources{file: file, env: map[string]string{"MICROSERVICE_LABEL": ""}}, want: "from-file"},
		{name: "flag beats env and file", src: sources{file: file, env: map[string]string{"MICROSERVICE_LABEL": env}, args: []string{flg}}, want: "from-flag"},
		{name: "flag beats file", src: sources{file: file, args: []string{flg}}, want: "from-flag"},
		{name: "option beats everything", src: sources{
			file: file,
			env:  map[string]string{"MICROSERVICE_LABEL": env},
			args: []string{flg},
			opts: []servicelabel.Option{servicelabel.UseLabel("from-code")},
		}, want: "from-code"},
		{name: "last option wins", src: sources{opts: []servicelabel.Option{servicelabel.UseLabel("first"), servicelabel.UseLabel("second")}}, want: "second"},
		{name: "only the winning source is validated", src: sources{
			env:  map[string]string{"MICROSERVICE_LABEL": "bad/label"},
			args: []string{"-microservice-label", "good"},
		}, want: "good"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := start(t, tt.src)
			if err != nil {
				t.Fatalf("Init() = %v", err)
			}
			if got := p.GetAgentLabel(); got != tt.want {
				t.Errorf("GetAgentLabel() = %q, want %q", got, tt.want)
			}
			if got, want := p.GetAgentPrefix(), "/vnf-agent/"+tt.want+"/"; got != want {
				t.Errorf("GetAgentPrefix() = %q, want %q", got, want)
			}
		})
	}
}

func TestLabelFileFoundInConfigDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "service-label.conf"), []byte("microservice-label: in-dir\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := start(t, sources{args: []string{"-config-dir", dir}})
	if err != nil {
		t.Fatalf("Init() = %v", err)
	}
	if got := p.GetAgentLabel(); got != "in-dir" {
		t.Errorf("GetAgentLabel() = %q, want %q", got, "in-dir")
	}
}

func TestInvalidLabelFailsInitNamingLabelAndSource(t *testing.T) {
	tests := []struct {
		name   string
		src    sources
		label  string
		source string
		reason string
	}{
		{name: "empty flag", src: sources{args: []string{"-microservice-label="}},
			label: "", source: "flag -microservice-label", reason: "empty"},
		{name: "slash in env", src: sources{env: map[string]string{"MICROSERVICE_LABEL": "a/b"}},
			label: "a/b", source: "env MICROSERVICE_LABEL", reason: `"/"`},
		{name: "empty in file", src: sources{file: "microservice-label: \"\"\n"},
			label: "", source: "key microservice-label of config file", reason: "empty"},
		{name: "space in file", src: sources{file: "microservice-label: vpp 1\n"},
			label: "vpp 1", source: "config file", reason: "white space"},
		{name: "tab in option", src: sources{opts: []servicelabel.Option{servicelabel.UseLabel("vpp\t1")}},
			label: "vpp\t1", source: "option UseLabel", reason: "white space"},
		{name: "control character in flag", src: sources{args: []string{"-microservice-label=vpp\x00"}},
			label: "vpp\x00", source: "flag -microservice-label", reason: "control character"},
		{name: "path element in env", src: sources{env: map[string]string{"MICROSERVICE_LABEL": ".."}},
			label: "..", source: "env MICROSERVICE_LABEL", reason: "path element"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := start(t, tt.src)
			if err == nil {
				t.Fatalf("Init() = nil with label %q, want an error", p.GetAgentLabel())
			}
			if !errors.Is(err, servicelabel.ErrInvalidLabel) {
				t.Errorf("errors.Is(%v, ErrInvalidLabel) = false", err)
			}
			for _, want := range []string{strconv.Quote(tt.label), tt.source, tt.reason} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Init() = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestBrokenConfigFileFailsInit(t *testing.T) {
	_, err := start(t, sources{file: "microservice-labl: typo\n"})
	if err == nil {
		t.Fatal("Init() = nil with an unknown key, want an error")
	}
	if !strings.Contains(err.Error(), "microservice-labl") {
		t.Errorf("Init() = %q, want it to name the key", err)
	}
}

func TestMissingNamedConfigFileFailsInit(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.conf")
	_, err := start(t, sources{args: []string{"-service-label-config", missing}})
	if err == nil {
		t.Fatal("Init() = nil with a missing named file, want an error")
	}
	if !errors.Is(err, config.ErrNotFound) {
		t.Errorf("errors.Is(%v, config.ErrNotFound) = false", err)
	}
}

func TestReaderAPI(t *testing.T) {
	p, err := start(t, sources{opts: []servicelabel.Option{servicelabel.UseLabel("edge-1")}})
	if err != nil {
		t.Fatal(err)
	}
	var r servicelabel.ReaderAPI = p
	for _, c := range []struct{ call, got, want string }{
		{"GetAgentLabel()", r.GetAgentLabel(), "edge-1"},
		{"GetAgentPrefix()", r.GetAgentPrefix(), "/vnf-agent/edge-1/"},
		{`GetDifferentAgentPrefix("vpp2")`, r.GetDifferentAgentPrefix("vpp2"), "/vnf-agent/vpp2/"},
		{"GetAllAgentsPrefix()", r.GetAllAgentsPrefix(), "/vnf-agent/"},
		{"AllAgentsPrefix", servicelabel.AllAgentsPrefix, "/vnf-agent/"},
		{`AgentPrefix("edge-1")`, servicelabel.AgentPrefix("edge-1"), "/vnf-agent/edge-1/"},
		{"String()", p.String(), "service-label"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.call, c.got, c.want)
		}
	}
}

func TestAgentStatusKeyMatchesContract(t *testing.T) {
	p, err := start(t, sources{})
	if err != nil {
		t.Fatal(err)
	}
	const want = "/vnf-agent/vpp1/check/status/v1/agent"
	if got := p.GetAgentPrefix() + "check/status/v1/agent"; got != want {
		t.Errorf("status key = %q, want %q", got, want)
	}
}

func TestFlagIsRegisteredOnTheAgentFlagSetOnly(t *testing.T) {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	servicelabel.NewPlugin().RegisterFlags(fs)
	f := fs.Lookup("microservice-label")
	if f == nil {
		t.Fatal("RegisterFlags did not define -microservice-label")
	}
	if !strings.Contains(f.Usage, "MICROSERVICE_LABEL") || !strings.Contains(f.Usage, "vpp1") {
		t.Errorf("usage %q: want the env var and the default", f.Usage)
	}
	if flag.CommandLine.Lookup("microservice-label") != nil {
		t.Error("the global FlagSet has -microservice-label")
	}
}

func TestValidateLabel(t *testing.T) {
	valid := []string{"vpp1", "edge-7", "a.b_c", "agent-ž", "ÄGENT", "x", "...", "a:b"}
	for _, l := range valid {
		if err := servicelabel.ValidateLabel(l); err != nil {
			t.Errorf("ValidateLabel(%q) = %v, want nil", l, err)
		}
	}
	invalid := []string{"", ".", "..", "a/b", "/", "vpp1/", " vpp1", "vpp\n1", "a\u00a0b", "a\u200bb", "\xff", "a\x7fb"}
	for _, l := range invalid {
		err := servicelabel.ValidateLabel(l)
		if !errors.Is(err, servicelabel.ErrInvalidLabel) {
			t.Errorf("ValidateLabel(%q) = %v, want ErrInvalidLabel", l, err)
		}
	}
}
