package embedded_test

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/logging"
)

// newPlugin sets the plugin up as an agent would, with conf as the content
// of etcd-server.conf ("" for no file).
func newPlugin(t *testing.T, conf string, opts ...embedded.Option) *embedded.Plugin {
	t.Helper()
	dir := t.TempDir()
	if conf != "" {
		if err := os.WriteFile(filepath.Join(dir, "etcd-server.conf"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	src := config.NewSource(fs, func(string) string { return "" })
	p := embedded.NewPlugin(opts...)
	p.SetupDeps(infra.Host{Logs: logging.NewRegistry(logging.WithOutput(io.Discard)), Config: src})
	if err := fs.Parse([]string{"-config-dir", dir}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestPluginStartsServerFromConfigFile(t *testing.T) {
	conf := "name: from-file\ndata-dir: " + t.TempDir() +
		"\nclient-address: 127.0.0.1:0\npeer-address: 127.0.0.1:0\nunsafe-no-fsync: true\nstart-timeout: 20s\n"
	p := newPlugin(t, conf)
	if p.String() != embedded.PluginName {
		t.Errorf("String() = %q, want %q", p.String(), embedded.PluginName)
	}
	if eps := p.Endpoints(); eps != nil {
		t.Errorf("Endpoints() before Init = %v, want nil", eps)
	}
	if err := p.Init(); err != nil {
		t.Fatalf("Init: %v", err)
	}
	if p.Disabled() {
		t.Error("Disabled() = true, want false")
	}
	eps := p.Endpoints()
	if len(eps) != 1 {
		t.Fatalf("Endpoints() = %v, want one endpoint", eps)
	}
	cli := etcdtest.Client(t, eps...)
	etcdtest.Put(t, cli, "/p", "v")
	if got := etcdtest.Get(t, cli, "/p"); got != "v" {
		t.Errorf("Get(/p) = %q, want v", got)
	}
	cli.Close()
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if eps := p.Endpoints(); eps != nil {
		t.Errorf("Endpoints() after Close = %v, want nil", eps)
	}
}

func TestPluginDisabledStartsNothing(t *testing.T) {
	// The address would be refused if the server tried to start.
	p := newPlugin(t, "disabled: true\nclient-address: 127.0.0.1\n")
	err := p.Init()
	if err == nil || !strings.Contains(err.Error(), "client-address") {
		// A broken config is reported even when disabled.
		t.Fatalf("Init = %v, want the invalid client-address reported", err)
	}

	p = newPlugin(t, "disabled: true\n")
	if err := p.Init(); err != nil {
		t.Fatalf("Init: %v", err)
	}
	if !p.Disabled() || p.Endpoints() != nil {
		t.Errorf("Disabled() = %v, Endpoints() = %v; want true, nil", p.Disabled(), p.Endpoints())
	}
}

func TestPluginUseConfWinsOverFile(t *testing.T) {
	p := newPlugin(t, "disabled: false\n", embedded.UseConf(embedded.Config{Disabled: true}))
	if err := p.Init(); err != nil {
		t.Fatalf("Init: %v", err)
	}
	if !p.Disabled() {
		t.Error("Disabled() = false, want true from UseConf")
	}
}

func TestPluginReportsConfigFileErrors(t *testing.T) {
	p := newPlugin(t, "data-dri: x\n")
	err := p.Init()
	if err == nil || !strings.Contains(err.Error(), `"data-dri"`) {
		t.Fatalf("Init = %v, want the unknown key named", err)
	}
}
