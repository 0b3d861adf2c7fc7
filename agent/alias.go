package agent

// After is the cn-infra name of [Agent.Done]: it returns a channel closed
// when the agent has stopped, after a Stop or a failed Start.
func (a *Agent) After() <-chan struct{} { return a.Done() }
