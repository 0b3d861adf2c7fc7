package main

import (
	"fmt"

	"sync"

	"github.com/plinth-go/plinth/idxmap"
	"github.com/plinth-go/plinth/idxmap/mem"
	"github.com/plinth-go/plinth/infra"
)

// Interface is the data the interfaces plugin owns. Values in a map are
// never modified: a change stores a new value.
type Interface struct {
	Type  string
	Addrs []string
}

// Index names of the interfaces map.
const (
	IndexType = "type"
	IndexAddr = "addr"
)

// InterfacesPlugin owns the interfaces of the agent and lets other plugins
// read them.
type InterfacesPlugin struct {
	infra.PluginDeps
	m *mem.Mapping[*Interface]
}

// InterfaceReader is what readers of the interfaces need; the agent fills
// a field of this type with the interfaces plugin.
type InterfaceReader interface {
	Interfaces() idxmap.NamedMapping[*Interface]
}

var _ InterfaceReader = (*InterfacesPlugin)(nil)

// NewInterfaces returns the plugin, named "interfaces".
func NewInterfaces() *InterfacesPlugin {
	p := &InterfacesPlugin{m: mem.NewMapping(idxmap.Indexers[*Interface]{
		IndexType: func(i *Interface) []string { return []string{i.Type} },
		IndexAddr: func(i *Interface) []string { return i.Addrs },
	}, mem.WithName("interfaces"))}
	p.SetName("interfaces")
	return p
}

// Init adds the interfaces every agent has.
func (p *InterfacesPlugin) Init() error {
	p.m.Put("lo", &Interface{Type: "loopback", Addrs: []string{"127.0.0.1/8"}})
	return nil
}

// Interfaces returns the read-only view of the map.
func (p *InterfacesPlugin) Interfaces() idxmap.NamedMapping[*Interface] { return p.m }

// Configure stores an interface, as the plugin would on a configuration
// change.
func (p *InterfacesPlugin) Configure(name string, i *Interface) { p.m.Put(name, i) }

// Remove deletes an interface.
func (p *InterfacesPlugin) Remove(name string) { p.m.Delete(name) }

// Close ends the watches of the readers.
func (p *InterfacesPlugin) Close() error { return p.m.Close() }

// MonitorPlugin reads the interfaces of another plugin: it looks them up
// and follows their changes.
type MonitorPlugin struct {
	MonitorDeps
	reg idxmap.Registration

	mu  sync.Mutex // guards log
	log []string
}

// MonitorDeps are filled by the agent.
type MonitorDeps struct {
	infra.PluginDeps
	Interfaces InterfaceReader
}

// NewMonitor returns the plugin, named "monitor".
func NewMonitor() *MonitorPlugin {
	p := &MonitorPlugin{}
	p.SetName("monitor")
	return p
}

// Init has nothing to prepare: the interfaces plugin is filled in and
// initialised first.
func (p *MonitorPlugin) Init() error { return nil }

// AfterInit looks up the loopbacks and starts watching every interface,
// beginning with the current ones.
func (p *MonitorPlugin) AfterInit() error {
	m := p.Interfaces.Interfaces()
	p.Log.Infof("loopback interfaces: %v", m.ListNames(IndexType, "loopback"))
	reg, err := m.Watch(p.String(), func(ev idxmap.Event[*Interface]) {
		line := fmt.Sprintf("%s %s", ev.Kind, ev.Name)
		p.Log.Info(line)
		p.mu.Lock()
		p.log = append(p.log, line)
		p.mu.Unlock()
	}, idxmap.WithSnapshot())
	if err != nil {
		return err
	}
	p.reg = reg
	return nil
}

// Seen returns the changes seen so far.
func (p *MonitorPlugin) Seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

// Close stops the watch and waits for its last callback.
func (p *MonitorPlugin) Close() error {
	if p.reg != nil {
		p.reg.Unregister()
		<-p.reg.Done()
	}
	return nil
}
