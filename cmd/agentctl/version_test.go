package main

import (
	"bytes"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionReadsTheBuildInfo(t *testing.T) {
	goLine := "go:      go1.26.0 " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	tests := []struct {
		name     string
		info     *debug.BuildInfo
		ok       bool
		want     string
		wantJSON versionJSON
	}{
		{"release", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "1a2b3c4d"}, {Key: "vcs.modified", Value: "false"},
		}}, true, "agentctl v1.4.0\ncommit:  1a2b3c4d\n" + goLine,
			versionJSON{Version: "v1.4.0", Commit: "1a2b3c4d", GoVersion: "go1.26.0"}},
		{"checkout with changes", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.modified", Value: "true"}, {Key: "vcs.revision", Value: "1a2b3c4d"},
		}}, true, "agentctl (devel)\ncommit:  1a2b3c4d+dirty\n" + goLine,
			versionJSON{Version: "(devel)", Commit: "1a2b3c4d+dirty", GoVersion: "go1.26.0"}},
		{"no VCS stamp", &debug.BuildInfo{GoVersion: "go1.26.0"}, true, "agentctl (devel)\ncommit:  unknown\n" + goLine,
			versionJSON{Version: "(devel)", GoVersion: "go1.26.0"}},
		{"no build info", nil, false, "agentctl (devel)\ncommit:  unknown\ngo:      " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n",
			versionJSON{Version: "(devel)", GoVersion: runtime.Version()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.wantJSON.Platform = runtime.GOOS + "/" + runtime.GOARCH
			run := func(args ...string) result {
				var stdout, stderr bytes.Buffer
				g := &globalOptions{
					buildInfo: func() (*debug.BuildInfo, bool) { return tt.info, tt.ok },
					getenv:    func(string) string { return "" },
					stdin:     strings.NewReader(""), stdout: &stdout, stderr: &stderr,
				}
				return result{code: g.execute(t.Context(), args), stdout: stdout.String(), stderr: stderr.String()}
			}
			for _, args := range [][]string{{"version"}, {"--version"}} {
				if r := run(args...); r.code != exitOK || r.stdout != tt.want || r.stderr != "" {
					t.Errorf("agentctl %v = (%d, %q, %q), want (0, %q, \"\")", args, r.code, r.stdout, r.stderr, tt.want)
				}
			}
			var got versionJSON
			r := run("version", "-o", "json")
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got != tt.wantJSON {
				t.Errorf("version -o json = %s (%v), want %+v", r.stdout, err, tt.wantJSON)
			}
		})
	}
}

// TestVersionFlagHasNoShorthand: -v stays free (for a verbosity flag, as
// in kubectl).
func TestVersionFlagHasNoShorthand(t *testing.T) {
	r := unreachableEnv.agentctl(t, "", "-v")
	if r.code != exitUsage || !strings.Contains(r.stderr, "unknown shorthand flag: 'v'") {
		t.Errorf("agentctl -v = (%d, %q), want a usage error", r.code, r.stderr)
	}
}
