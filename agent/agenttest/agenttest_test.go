package agenttest_test

import (
	"fmt"
	"testing"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/infra"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type envReader struct {
	infra.PluginDeps
	got string
}

func (e *envReader) Init() error {
	e.got, _ = e.Cfg.Lookup("", "SOME_VAR")
	return nil
}

func TestStartUsesOnlyTheGivenEnvironment(t *testing.T) {
	t.Setenv("SOME_VAR", "from the machine")
	e := &envReader{}
	e.SetName("env")
	agenttest.Start(t, agent.AllPlugins(e), agenttest.Env(map[string]string{"SOME_VAR": "from the test"}))
	if e.got != "from the test" {
		t.Errorf("SOME_VAR = %q, want the test's value", e.got)
	}
}

func ExampleEnv() {
	e := &envReader{}
	e.SetName("env")
	a, err := agent.New(agent.AllPlugins(e), agent.Args(), agenttest.Env(map[string]string{"SOME_VAR": "42"}))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := a.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer a.Stop()
	fmt.Println(a.Order(), e.got)
	// Output: [env] 42
}
