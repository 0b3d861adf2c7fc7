package statuscheck

// ProbeRound runs one round of pull probes and returns when every call has
// returned or timed out, so tests drive probing without waiting for ticks.
func (p *Plugin) ProbeRound() { p.probeRound() }

// WaitFirstRound waits until the round of probes that AfterInit starts is
// over.
func (p *Plugin) WaitFirstRound() { <-p.firstRound }
