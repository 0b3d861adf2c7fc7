//go:build !unix

package supervisor

// handleSIGHUP does nothing where there is no SIGHUP: use Reload or
// POST /supervisor/reload.
func (p *Plugin) handleSIGHUP() (stop func()) { return func() {} }
