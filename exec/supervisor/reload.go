package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra/config"
)

// ReloadResult says what Reload did, by program name, each list sorted and
// never nil: POST /supervisor/reload answers it as JSON.
type ReloadResult struct {
	// Added are the programs of the new conf only: they were started.
	Added []string `json:"added"`
	// Removed are the programs of the old conf only: they were stopped.
	Removed []string `json:"removed"`
	// Changed are the programs whose settings differ in any key: they
	// were stopped, then started with the new settings.
	Changed []string `json:"changed"`
	// Unchanged are the programs whose settings are the same: they kept
	// running, with the same pid.
	Unchanged []string `json:"unchanged"`
}

// WithoutSIGHUPReload keeps the plugin from handling SIGHUP. By default
// (on systems with SIGHUP), from AfterInit to Close, a SIGHUP to the agent
// process makes the plugin Reload its conf.
func WithoutSIGHUPReload() Option {
	return func(p *Plugin) { p.noSIGHUP = true }
}

// Reload reads supervisor.conf again (the file Init read, as the flag
// -supervisor-config or SUPERVISOR_CONFIG names it) and applies it, as
// supervisorctl's reread and update do:
//
//   - programs only in the old conf are stopped (stopping, stopped
//     events) and removed;
//   - programs whose settings differ in any key are stopped, then started
//     with the new settings, as new programs (their restarts count from
//     zero);
//   - programs only in the new conf are started;
//   - the other programs keep running, untouched;
//   - the hooks and hooks-shutdown-timeout of the new conf replace the old
//     ones, for the events that happen from then on.
//
// Programs stop as Close stops them (a priority at a time, the highest
// first, and a program before those it depends on) and start as AfterInit
// starts them (by priority, and a program once its dependencies run).
// Reload returns once the programs to stop have exited and those to start
// without dependencies have been started.
//
// A conf with an error changes nothing: Reload returns the error, which
// names file, line and key as Init's does. Once the conf is accepted, only
// a failure to open a log file or to define a process can still fail a
// program; the error then names it, and the other programs are applied.
// Reload fails with ErrStateConflict once Close began, and when the conf
// was set in code (UseConf). Reloads run one at a time. Event handlers
// must not call Reload.
func (p *Plugin) Reload() (ReloadResult, error) {
	if p.stopDispatch == nil {
		return ReloadResult{}, fmt.Errorf("supervisor: reload: %w: the plugin has not started", ErrStateConflict)
	}
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	if p.closing || p.ctx.Err() != nil {
		return ReloadResult{}, fmt.Errorf("supervisor: reload: %w: the agent is stopping", ErrStateConflict)
	}
	if p.codeConf != nil {
		return ReloadResult{}, fmt.Errorf("supervisor: reload: %w: the conf was set in code (UseConf); there is no file to read again", ErrStateConflict)
	}
	if p.Cfg == nil {
		return ReloadResult{}, fmt.Errorf("supervisor: reload: %w: the plugin has no config source", ErrStateConflict)
	}
	if p.Cfg.GetConfigName() == "" && p.hasPrograms() {
		// The default file is gone: refuse rather than stop everything.
		return ReloadResult{}, fmt.Errorf("supervisor: reload: %w: %s does not exist any more; nothing changed", config.ErrNotFound, config.Filename(PluginName))
	}
	conf, err := p.loadConf()
	if err != nil {
		return ReloadResult{}, err
	}
	hooks, err := resolveHooks(conf)
	if err != nil {
		return ReloadResult{}, err
	}
	for _, w := range conf.Warnings() {
		p.Log.Errorf("%v", w)
	}

	old := p.snapshot()
	oldByName := make(map[string]*program, len(old))
	for _, prog := range old {
		oldByName[prog.name] = prog
	}
	res := ReloadResult{Added: []string{}, Removed: []string{}, Changed: []string{}, Unchanged: []string{}}
	inNew := make(map[string]bool, len(conf.Programs))
	retire := map[*program]bool{}
	for _, pc := range conf.Programs {
		inNew[pc.Name] = true
		switch prev := oldByName[pc.Name]; {
		case prev == nil:
			res.Added = append(res.Added, pc.Name)
		case sameProgram(prev.conf, pc):
			res.Unchanged = append(res.Unchanged, pc.Name)
		default:
			res.Changed = append(res.Changed, pc.Name)
			retire[prev] = true
		}
	}
	for _, prog := range old {
		if !inNew[prog.name] {
			res.Removed = append(res.Removed, prog.name)
			retire[prog] = true
		}
	}
	for _, l := range [][]string{res.Added, res.Removed, res.Changed, res.Unchanged} {
		slices.Sort(l)
	}

	// Stop what goes, in stop order: the stopAfter of old index old.
	errs := stopInOrder(old, func(prog *program) error {
		if !retire[prog] {
			return nil
		}
		return prog.stop()
	})
	for _, prog := range old {
		if !retire[prog] {
			continue
		}
		if err := p.Processes.Delete(prog.name); err != nil && !errors.Is(err, processmanager.ErrNotFound) {
			errs = append(errs, fmt.Errorf("supervisor: reload: remove %s: %w", prog.name, err))
		}
		close(prog.quit)
		prog.closeQueue() // its hooks still run for the events so far
		p.releaseLogs(prog)
		if !inNew[prog.name] && p.StatusCheck != nil {
			// The status check cannot forget a name: a removed program
			// is not a failure of the agent.
			if err := p.StatusCheck.ReportStateChange(StatusPrefix+prog.name, statuscheck.StateOK, nil); err != nil {
				p.Log.Warnf("%s: status check: %v", prog.name, err)
			}
		}
	}

	// Define what comes, and make the new list the programs.
	var progs, fresh []*program
	for _, i := range startOrder(conf.Programs) {
		pc := conf.Programs[i]
		if prev := oldByName[pc.Name]; prev != nil && !retire[prev] {
			prev.mu.Lock()
			prev.hooks = hooksFor(hooks, pc.Name)
			prev.mu.Unlock()
			progs = append(progs, prev)
			continue
		}
		prog, err := p.defineProgram(pc, hooks)
		if err != nil {
			errs = append(errs, fmt.Errorf("supervisor: reload: %w", err))
			continue
		}
		progs = append(progs, prog)
		fresh = append(fresh, prog)
	}
	p.mu.Lock()
	p.conf, p.hooks = conf, hooks
	p.setProgramsLocked(progs)
	p.mu.Unlock()
	for _, prog := range fresh {
		prog.reportInit()
		p.runProgram(prog)
	}
	p.startPrograms(fresh)
	p.Log.Infof("reloaded %s: added %v, removed %v, changed %v, unchanged %v",
		p.Cfg.GetConfigName(), res.Added, res.Removed, res.Changed, res.Unchanged)
	return res, errors.Join(errs...)
}

// sameProgram reports whether a and b have the same settings. They are
// compared as YAML, so that an absent list and an empty one, or 1s and
// 1000ms, are the same.
func sameProgram(a, b Program) bool {
	ya, err1 := yaml.Marshal(a)
	yb, err2 := yaml.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ya, yb)
}

func (p *Plugin) hasPrograms() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.programs) > 0
}
