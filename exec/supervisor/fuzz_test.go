package supervisor_test

import (
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
)

// FuzzParseConfig checks that the conf loader never panics, that what it
// accepts is usable (unique valid names, known filters) and that an
// accepted conf written back as YAML loads to the same conf. More seeds are
// under testdata/fuzz/FuzzParseConfig.
func FuzzParseConfig(f *testing.F) {
	// The seed example, with harmless programs.
	f.Add([]byte("programs:\n  - name: vpp\n    executable-path: sleep\n    restarts: 4\n    cpu-affinity-mask: 4\n    cpu-affinity-setup-delay: 1000000000\nhooks:\n  - program-name: vpp\n    event-type: terminated\n    cmd: true\n"))
	// Every supervisord-like key.
	f.Add([]byte("programs:\n  - executable-path: sleep\n    env: {A: b}\n    stop-signal: INT\n    stop-timeout: 1s\n    restart-delay: 0s\n    priority: 3\n"))
	// The supervisord-named keys, in their supervisord forms.
	f.Add([]byte("programs:\n  - name: vpp\n    executable-path: sleep\n    start-seconds: 1\n    start-retries: 3\n    autorestart: unexpected\n    exit-codes: [0, 2]\n    directory: /tmp\n    environment: A=\"1\",B=\"x, y\"\n    umask: 022\n    logfile-max-bytes: 1MB\n    logfile-backups: 2\n  - executable-path: true\n    depends-on: [vpp]\n    stop-as-group: false\n    kill-as-group: false\n"))
	// Problems: a duplicate name, a bad filter, a bad duration.
	f.Add([]byte("programs:\n  - executable-path: sleep\n  - executable-path: sleep\nhooks:\n  - event-type: nope\n    cmd: true\n    timeout: x\n"))
	f.Add([]byte("programs: [{executable-path: true, cpu-affinity-list: '0-3:2', cpu-affinity-setup-delay: -1}]"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := supervisor.ParseConfig("fuzz.conf", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.conf") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		var names []string
		for _, p := range c.Programs {
			if p.Name == "" || strings.ContainsAny(p.Name, "/ \t\n") || slices.Contains(names, p.Name) {
				t.Fatalf("accepted program name %q (names so far %q)", p.Name, names)
			}
			names = append(names, p.Name)
		}
		for _, h := range c.Hooks {
			if h.ProgramName != "" && !slices.Contains(names, h.ProgramName) {
				t.Fatalf("accepted hook for unknown program %q", h.ProgramName)
			}
			if h.EventType != "" && !slices.Contains(supervisor.EventTypes, h.EventType) {
				t.Fatalf("accepted hook for unknown event %q", h.EventType)
			}
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := supervisor.ParseConfig("again.conf", out)
		if err != nil {
			t.Fatalf("the conf written back does not load: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(normalize(again), normalize(c)) {
			t.Fatalf("round trip:\n%+v\nwant\n%+v", again, c)
		}
	})
}

// normalize drops the differences YAML cannot tell apart: empty and nil
// lists and maps.
func normalize(c *supervisor.Config) supervisor.Config {
	n := supervisor.Config{HooksShutdownTimeout: c.HooksShutdownTimeout}
	for _, p := range c.Programs {
		if len(p.ExecutableArgs) == 0 {
			p.ExecutableArgs = nil
		}
		if len(p.Env) == 0 {
			p.Env = nil
		}
		if len(p.Environment) == 0 {
			p.Environment = nil
		}
		if len(p.ExitCodes) == 0 {
			p.ExitCodes = nil
		}
		if len(p.DependsOn) == 0 {
			p.DependsOn = nil
		}
		n.Programs = append(n.Programs, p)
	}
	for _, h := range c.Hooks {
		if len(h.CmdArgs) == 0 {
			h.CmdArgs = nil
		}
		n.Hooks = append(n.Hooks, h)
	}
	return n
}

// FuzzCPUAffinity checks the two affinity formats of the conf against each
// other: the CPUs of a valid mask, written as a list, parse to the same
// CPUs, and written back as a mask (computed independently, with big.Int)
// too. More seeds are under testdata/fuzz/FuzzCPUAffinity.
func FuzzCPUAffinity(f *testing.F) {
	for _, s := range []string{"4", "0x5", "ff,ffffffff", "0", "", "xyz", "0x", "8000000000000000000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, mask string) {
		cpus, err := processmanager.ParseCPUMask(mask)
		if err != nil {
			return
		}
		list := make([]string, len(cpus))
		bits := new(big.Int)
		for i, c := range cpus {
			list[i] = strconv.Itoa(c)
			bits.SetBit(bits, c, 1)
		}
		fromList, err := processmanager.ParseCPUList(strings.Join(list, ","))
		if err != nil || !slices.Equal(fromList, cpus) {
			t.Fatalf("ParseCPUList(%q) = %v, %v, want %v (from mask %q)", strings.Join(list, ","), fromList, err, cpus, mask)
		}
		hex := fmt.Sprintf("%x", bits)
		fromHex, err := processmanager.ParseCPUMask(hex)
		if err != nil || !slices.Equal(fromHex, cpus) {
			t.Fatalf("ParseCPUMask(%q) = %v, %v, want %v (from mask %q)", hex, fromHex, err, cpus, mask)
		}
	})
}
