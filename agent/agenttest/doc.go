// Package agenttest builds agents for tests: isolated from the command line,
// the process environment and signals, started and stopped with the test.
//
//	a := agenttest.Start(t, agent.AllPlugins(myPlugin), agenttest.Env(map[string]string{
//		"MICROSERVICE_LABEL": "test1",
//	}))
//
// Logs are discarded unless PLINTH_TEST_LOG is set in the environment of the
// test process.
package agenttest
