//go:build linux

package processmanager_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	pm "github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/processmanager/status"
)

func ExamplePlugin_NewProcess() {
	m := pm.NewPlugin()
	if err := m.Init(); err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()

	p, err := m.NewProcess("sh", pm.Args("-c", "echo hello; exit 3"), pm.Writer(os.Stdout, os.Stderr))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := p.Start(); err != nil {
		fmt.Println(err)
		return
	}
	exit, err := p.Wait()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.GetName(), exit)
	// Output:
	// hello
	// sh exit status 3
}

func ExampleNotify() {
	m := pm.NewPlugin()
	if err := m.Init(); err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()

	events := make(chan pm.Notification, 16)
	p, err := m.NewProcess("false", pm.Restarts(2), pm.WithBackoff(10*time.Millisecond, time.Second, time.Minute),
		pm.Notify(events))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := p.Start(); err != nil {
		fmt.Println(err)
		return
	}
	for n := range events {
		if n.State != status.Terminated {
			continue // running, sleeping...: depends on timing
		}
		if n.Restarting {
			fmt.Printf("%s: %s, restart in %v\n", n.Name, n.Exit, n.RestartIn)
			continue
		}
		fmt.Printf("%s: %s after %d restarts, giving up\n", n.Name, n.Exit, n.Restarts)
		break
	}
	// Output:
	// false: exit status 1, restart in 10ms
	// false: exit status 1, restart in 20ms
	// false: exit status 1 after 2 restarts, giving up
}

func ExampleTemplateError() {
	dir, err := os.MkdirTemp("", "templates")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "web.json"), []byte(`{"cmd":"/usr/bin/web","p_options":{"restarts":3}}`), 0o644)

	m := pm.NewPlugin(pm.UseConf(pm.Config{TemplatePath: dir}))
	err = m.Init()
	var te *pm.TemplateError
	if errors.As(err, &te) {
		fmt.Println("fix", filepath.Base(te.File))
	}
	// Output:
	// fix web.json
}
