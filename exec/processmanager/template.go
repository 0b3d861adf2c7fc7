package processmanager

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/plinth-go/plinth/exec/processmanager/model"
	"github.com/plinth-go/plinth/infra/config"
)

// templateExt is the extension of template files.
const templateExt = ".json"

// NewProcessFromTemplate defines a process from a template, without
// starting it; run_on_startup matters only to the templates read at Init.
// out_writer and err_writer send the output to the agent's standard output
// and error, and notify makes the manager create the channel returned by
// GetNotificationChan.
func (p *Plugin) NewProcessFromTemplate(tmpl *model.Template) (*Process, error) {
	if err := tmpl.Validate(); err != nil {
		return nil, fmt.Errorf("process-manager: %w", err)
	}
	return p.NewProcess(tmpl.GetCmd(), templateOptions(tmpl)...)
}

func templateOptions(t *model.Template) []Option {
	o := t.GetPOptions()
	opts := []Option{WithName(t.GetName()), Restarts(o.GetRestart())}
	if len(o.GetArgs()) > 0 {
		opts = append(opts, Args(o.GetArgs()...))
	}
	if o.GetOutWriter() || o.GetErrWriter() {
		var stdout, stderr *os.File
		if o.GetOutWriter() {
			stdout = os.Stdout
		}
		if o.GetErrWriter() {
			stderr = os.Stderr
		}
		opts = append(opts, Writer(fileWriter(stdout), fileWriter(stderr)))
	}
	if o.GetDetach() {
		opts = append(opts, Detach())
	}
	if o.GetNotify() {
		opts = append(opts, func(o *options) error {
			o.notify, o.ownNotify = make(chan Notification), true
			return nil
		})
	}
	if o.GetAutoTerminate() {
		opts = append(opts, AutoTerminate())
	}
	if o.GetCpuAffinityMask() != "" || o.GetCpuAffinityList() != "" {
		delay, _ := model.ParseDuration(o.GetCpuAffinityDelay()) // checked by Validate
		opts = append(opts, CPUAffinity(o.GetCpuAffinityMask(), o.GetCpuAffinityList(), delay))
	}
	if len(o.GetEnv()) > 0 {
		opts = append(opts, EnvVar(o.GetEnv()))
	}
	if o.GetDir() != "" {
		opts = append(opts, WithDir(o.GetDir()))
	}
	if d, _ := model.ParseDuration(o.GetStopTimeout()); d > 0 {
		opts = append(opts, WithStopTimeout(d))
	}
	if o.GetStatusCheck() {
		opts = append(opts, WithStatusCheck(""))
	}
	return opts
}

// fileWriter keeps a nil *os.File from becoming a non-nil io.Writer.
func fileWriter(f *os.File) interface{ Write([]byte) (int, error) } {
	if f == nil {
		return nil
	}
	return f
}

// processToTemplate describes proc as a template.
func processToTemplate(proc *Process) *model.Template {
	o := proc.opts
	po := &model.Template_POptions{
		Args:            slices.Clone(o.args),
		OutWriter:       o.stdout == os.Stdout,
		ErrWriter:       o.stderr == os.Stderr,
		Restart:         o.restarts,
		Detach:          o.detach,
		RunOnStartup:    o.runOnStartup,
		Notify:          o.notify != nil,
		AutoTerminate:   o.autoTerminate,
		CpuAffinityMask: o.affinityMask,
		CpuAffinityList: o.affinityList,
		Env:             slices.Clone(o.env),
		Dir:             o.dir,
		StatusCheck:     o.statusCheck && o.statusName == "",
	}
	if o.affinityDelay > 0 {
		po.CpuAffinityDelay = o.affinityDelay.String()
	}
	if o.stopTimeout != DefaultStopTimeout {
		po.StopTimeout = o.stopTimeout.String()
	}
	return &model.Template{Name: proc.name, Cmd: proc.cmd, POptions: po}
}

// GetTemplate reads the template named name, the file <name>.json of the
// template path. It fails with ErrNoTemplatePath without a template path,
// with an error wrapping ErrNotFound when the file does not exist, and with
// a *TemplateError when it is invalid.
func (p *Plugin) GetTemplate(name string) (*model.Template, error) {
	dir := p.conf.TemplatePath
	if dir == "" {
		return nil, fmt.Errorf("process-manager: template %q: %w", name, ErrNoTemplatePath)
	}
	if name == "" || strings.ContainsRune(name, '/') || name == "." || name == ".." {
		return nil, fmt.Errorf("process-manager: template %q: %w", name, ErrNotFound)
	}
	t, err := readTemplate(filepath.Join(dir, name+templateExt))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("process-manager: template %q: %w", name, ErrNotFound)
	}
	return t, err
}

// GetAllTemplates reads every *.json file of the template path, sorted by
// file name. It returns the valid templates, and an errors.Join of a
// *TemplateError per invalid file. It fails with ErrNoTemplatePath without a
// template path.
func (p *Plugin) GetAllTemplates() ([]*model.Template, error) {
	dir := p.conf.TemplatePath
	if dir == "" {
		return nil, fmt.Errorf("process-manager: %w", ErrNoTemplatePath)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("process-manager: template path: %w", err)
	}
	var (
		list []*model.Template
		errs []error
	)
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), templateExt) {
			continue
		}
		t, err := readTemplate(filepath.Join(dir, e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		list = append(list, t)
	}
	return list, errors.Join(errs...)
}

// readTemplate reads and checks one template file. A template without a
// name is named after its file; one with another name is invalid, so that
// GetTemplate(name) and the file agree.
func readTemplate(path string) (*model.Template, error) {
	data, err := config.ReadFile(path, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, &TemplateError{File: path, Err: err}
	}
	t, err := model.DecodeTemplate(data)
	if err != nil {
		return nil, &TemplateError{File: path, Err: err}
	}
	base := strings.TrimSuffix(filepath.Base(path), templateExt)
	switch t.GetName() {
	case "":
		t.Name = base
	case base:
	default:
		return nil, &TemplateError{File: path, Err: fmt.Errorf("name %q differs from the file name %q", t.GetName(), base)}
	}
	if err := t.Validate(); err != nil {
		return nil, &TemplateError{File: path, Err: err}
	}
	return t, nil
}

// saveTemplate writes t to <template path>/<name>.json, mode 0644. It
// writes a temporary file and renames it, so a reader never sees half a
// template.
func (p *Plugin) saveTemplate(t *model.Template) error {
	dir := p.conf.TemplatePath
	if dir == "" {
		return fmt.Errorf("process-manager: save template %q: %w", t.GetName(), ErrNoTemplatePath)
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("process-manager: save template: %w", err)
	}
	data, err := model.EncodeTemplate(t)
	if err != nil {
		return fmt.Errorf("process-manager: save template: %w", err)
	}
	path := filepath.Join(dir, t.GetName()+templateExt)
	if err := writeFileAtomic(path, data, 0o644); err != nil {
		return &TemplateError{File: path, Err: err}
	}
	return nil
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// loadTemplates creates the template path and defines the process of every
// template in it.
func (p *Plugin) loadTemplates() error {
	dir := p.conf.TemplatePath
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("process-manager: template path: %w", err)
	}
	list, err := p.GetAllTemplates()
	if err != nil {
		return err
	}
	for _, t := range list {
		proc, err := p.NewProcessFromTemplate(t)
		file := filepath.Join(dir, t.GetName()+templateExt)
		if err != nil {
			return &TemplateError{File: file, Err: err}
		}
		p.Log.Debugf("template %s defines process %s", file, proc.name)
		if t.GetPOptions().GetRunOnStartup() {
			p.mu.Lock()
			p.startup = append(p.startup, startupProcess{proc: proc, file: file})
			p.mu.Unlock()
		}
	}
	return nil
}
