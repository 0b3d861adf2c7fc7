package agent_test

import (
	"fmt"
	"io"
	"reflect"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/logging"
)

// Clock is what the reporter needs; the agent fills it with the plugin that
// implements it.
type Clock interface{ Now() string }

type clockPlugin struct{ infra.PluginDeps }

func (c *clockPlugin) Init() error { fmt.Println("clock: Init"); return nil }
func (c *clockPlugin) Now() string { return "noon" }

type reporter struct {
	infra.PluginDeps
	Clock Clock // filled by the agent
}

func (r *reporter) Init() error  { fmt.Println("reporter: Init, it is", r.Clock.Now()); return nil }
func (r *reporter) Close() error { fmt.Println("reporter: Close"); return nil }

func Example() {
	clock := &clockPlugin{}
	clock.SetName("clock")
	rep := &reporter{}
	rep.SetName("reporter")

	a, err := agent.New(
		agent.AllPlugins(rep, clock),
		agent.Args(), // do not parse os.Args in this example
		agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("order:", a.Order())
	if err := a.Start(); err != nil {
		fmt.Println(err)
		return
	}
	if err := a.Stop(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// order: [clock reporter]
	// clock: Init
	// reporter: Init, it is noon
	// reporter: Close
}

// Journal is what plugins report to; the journal plugin accepts reports at
// any time, before its own Init too.
type Journal interface{ Note(msg string) }

type journal struct {
	infra.PluginDeps
	Disk  *disk // the journal writes through the disk: it starts after it
	notes []string
}

// UnorderedTypes tells the agent that a plugin holding the journal as a
// Journal need not start after it.
func (j *journal) UnorderedTypes() []reflect.Type { return []reflect.Type{reflect.TypeFor[Journal]()} }

func (j *journal) Init() error {
	fmt.Println("journal: Init, notes so far:", j.notes)
	return nil
}
func (j *journal) Note(msg string) { j.notes = append(j.notes, msg) }

type disk struct {
	infra.PluginDeps
	Journal Journal // no tag: filled, but the journal does not start first
}

func (d *disk) Init() error { d.Journal.Note("disk mounted"); fmt.Println("disk: Init"); return nil }

func ExampleUnorderedProvider() {
	j := &journal{Disk: &disk{}}
	j.SetName("journal")
	j.Disk.SetName("disk")

	a, err := agent.New(
		agent.AllPlugins(j),
		agent.Args(),
		agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))),
	)
	if err != nil {
		fmt.Println(err) // without UnorderedTypes: "dependency cycle: journal -> disk -> journal"
		return
	}
	fmt.Print(a.Graph())
	if err := a.Start(); err != nil {
		fmt.Println(err)
		return
	}
	_ = a.Stop()
	// Output:
	// 1. disk (*agent_test.disk)
	//      ~> journal (disk.Journal, unordered)
	// 2. journal (*agent_test.journal)
	//      -> disk (journal.Disk)
	// disk: Init
	// journal: Init, notes so far: [disk mounted]
}
