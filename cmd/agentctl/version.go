package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionJSON is what agentctl version prints: the build of agentctl
// itself, as the Go tool recorded it in the binary.
type versionJSON struct {
	// Version is the module version, "(devel)" for a build from a checkout
	// that the Go tool could not stamp.
	Version string `json:"version"`
	// Commit is the VCS revision, with "+dirty" when the checkout had
	// uncommitted changes; empty when unknown (go run, -buildvcs=false).
	Commit    string `json:"commit,omitempty"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// version reads the build information of the running binary.
func (g *globalOptions) version() versionJSON {
	read := g.buildInfo
	if read == nil {
		read = debug.ReadBuildInfo
	}
	v := versionJSON{Version: "(devel)", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	info, ok := read()
	if !ok {
		return v
	}
	if info.Main.Version != "" {
		v.Version = info.Main.Version
	}
	if info.GoVersion != "" {
		v.GoVersion = info.GoVersion
	}
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if v.Commit != "" && dirty {
		v.Commit += "+dirty"
	}
	return v
}

// String is the text form, which agentctl --version prints too:
//
//	agentctl (devel)
//	commit:  1a2b3c4d+dirty
//	go:      go1.26.0 linux/amd64
func (v versionJSON) String() string {
	commit := v.Commit
	if commit == "" {
		commit = "unknown"
	}
	return fmt.Sprintf("agentctl %s\ncommit:  %s\ngo:      %s %s\n", v.Version, commit, v.GoVersion, v.Platform)
}

func newVersionCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of agentctl, its commit and its Go version",
		Long: `Print the version of agentctl: the module version ("(devel)" when built
from a checkout the Go tool could not stamp), the commit it was built from
("+dirty" when the checkout had uncommitted changes) and the Go version.
agentctl --version prints the same text.`,
		Example: `  agentctl version
  agentctl version -o json`,
		Args: argsRange(0, 0),
		RunE: func(*cobra.Command, []string) error {
			v := g.version()
			return g.printer().print(v, func(w io.Writer) error {
				_, err := io.WriteString(w, v.String())
				return err
			})
		},
	}
}
