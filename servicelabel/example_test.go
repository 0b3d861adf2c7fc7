package servicelabel_test

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/servicelabel"
)

// A plugin that builds keys injects servicelabel.ReaderAPI. Here the agent's
// environment sets the label, and the command line overrides it.
func Example() {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	env := map[string]string{"MICROSERVICE_LABEL": "edge-7"}
	src := config.NewSource(fs, func(k string) string { return env[k] })

	p := servicelabel.NewPlugin()
	p.SetupDeps(infra.Host{Logs: logging.NewRegistry(logging.WithOutput(io.Discard)), Config: src})
	p.RegisterFlags(fs)
	if err := fs.Parse([]string{"-microservice-label", "edge-8"}); err != nil {
		fmt.Println(err)
		return
	}
	if err := p.Init(); err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	var labels servicelabel.ReaderAPI = p
	fmt.Println(labels.GetAgentLabel())
	fmt.Println(labels.GetAgentPrefix() + "check/status/v1/agent")
	fmt.Println(labels.GetDifferentAgentPrefix("vpp2"))
	fmt.Println(labels.GetAllAgentsPrefix())
	// Output:
	// edge-8
	// /vnf-agent/edge-8/check/status/v1/agent
	// /vnf-agent/vpp2/
	// /vnf-agent/
}

func ExampleValidateLabel() {
	for _, label := range []string{"vpp1", "vpp/1", ""} {
		err := servicelabel.ValidateLabel(label)
		fmt.Printf("%q: %v\n", label, errors.Is(err, servicelabel.ErrInvalidLabel))
		if err != nil {
			fmt.Println(" ", err)
		}
	}
	// Output:
	// "vpp1": false
	// "vpp/1": true
	//   servicelabel: invalid microservice label "vpp/1": the label contains "/"
	// "": true
	//   servicelabel: invalid microservice label "": the label is empty
}

func ExampleAgentPrefix() {
	fmt.Println(servicelabel.AgentPrefix("vpp1") + "check/status/v1/plugin/ETCD")
	// Output: /vnf-agent/vpp1/check/status/v1/plugin/ETCD
}
