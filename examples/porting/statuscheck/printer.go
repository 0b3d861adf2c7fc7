package main

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/servicelabel"
)

// printer prints the status of every plugin when it changes. It plays the
// part of cn-infra's ExamplePlugin, which polled StatusReader every second;
// Subscribe tells it when to read instead.
type printer struct {
	infra.PluginDeps
	Status statuscheck.StatusReader // the status check plugin
	Label  servicelabel.ReaderAPI
	KV     *etcd.Plugin

	out    io.Writer
	cancel func()
	wg     sync.WaitGroup
}

func newPrinter(out io.Writer) *printer {
	p := &printer{out: out}
	p.SetName("printer")
	return p
}

func (p *printer) Init() error { return nil }

// AfterInit says where the status is published, then prints every change
// from a goroutine that Close stops.
func (p *printer) AfterInit() error {
	fmt.Fprintf(p.out, "status published under %scheck/status/v1/ in etcd %s\n",
		p.Label.GetAgentPrefix(), strings.Join(p.KV.Endpoints(), ","))
	changed, cancel := p.Status.Subscribe()
	p.cancel = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		printed := map[string]string{}
		p.print(printed)
		for range changed { // closed by cancel
			p.print(printed)
		}
	}()
	return nil
}

// print prints the agent and the plugins whose status differs from what
// was printed last.
func (p *printer) print(printed map[string]string) {
	s := p.Status.Snapshot().Agent
	line := func(name string, state model.OperationalState, errText string) {
		text := state.String()
		if errText != "" {
			text += " (" + errText + ")"
		}
		if printed[name] != text {
			printed[name] = text
			fmt.Fprintf(p.out, "status[%s] = %s\n", name, text)
		}
	}
	for _, ps := range s.GetPlugins() {
		line(ps.GetName(), ps.GetState(), ps.GetError())
	}
	line("agent", s.GetState(), "")
}

func (p *printer) Close() error {
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
	return nil
}
