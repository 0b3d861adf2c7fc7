package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// unreachableEnv points agentctl at ports where nothing listens, so that a
// malformed command that were wrongly accepted could not touch a real etcd
// or agent.
var unreachableEnv = env{
	"AGENTCTL_ETCD_ENDPOINTS": "127.0.0.1:1", "AGENTCTL_HOST": "127.0.0.1", "AGENTCTL_HTTP_PORT": "1",
	"AGENTCTL_TIMEOUT": "200ms",
}

// checkOneLineError checks that stderr is one "agentctl: " line, optionally
// followed by the pointer to --help that usage errors carry.
func checkOneLineError(t *testing.T, args []string, stderr string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "agentctl: ") || len(lines) > 2 ||
		len(lines) == 2 && !(strings.HasPrefix(lines[1], "Run 'agentctl") && strings.HasSuffix(lines[1], "--help' for usage.")) {
		t.Errorf("%q: stderr %q, want one \"agentctl: \" line and at most the pointer to --help", args, stderr)
	}
}

// TestMalformedArgumentsAreUsageErrors runs agentctl with arguments no user
// should type and checks that each ends with exit code 2 and one line saying
// why, before anything is sent to etcd or the agent. Logger names and levels
// are not here: the agent checks them (400 from log set, exit 1).
func TestMalformedArgumentsAreUsageErrors(t *testing.T) {
	long := strings.Repeat("x", 1<<16)
	tests := [][]string{
		{"process", "start"},
		{"process", "stop", "a", "b"},
		{"process", "restart"},
		{"process", "list", "extra"},
		{"process", "bogus"},
		{"process", "log"},
		{"process", "log", "a", "b"},
		{"process", "log", " "},
		{"process", "log", "vpp", "-n", "0"},
		{"process", "log", "vpp", "-n", "10001"},
		{"process", "log", "vpp", "-n", "x"},
		{"process", "log", "vpp", "-f", "-n", "-1"},
		{"supervisor", "reload", "now"},
		{"supervisor", "bogus"},
		{"--http-port", "abc", "status"},
		{"--http-port", "99999", "status"},
		{"--http-port", "-1", "log", "list"},
		{"--http-port=", "status"},
		{"-o", "", "kvdb", "list"},
		{"-o", "\x00", "kvdb", "list"},
		{"--timeout", "-1s", "status"},
		{"--timeout", "1e400h", "kvdb", "get", "k"},
		{"--timeout"},
		{"--service-label", "", "kvdb", "list"},
		{"--service-label", "a b", "kvdb", "list"},
		{"--http-basic-auth", ":", "status"},
		{"--etcd-endpoints", ",,,", "kvdb", "list"},
		{"--http-ca-file", "/nonexistent/ca.pem", "status"},
		{"--http-cert-file", "/nonexistent/cert.pem", "status"},
		{"kvdb", "get", "k", "--", "--"},
		{"kvdb", "\x00"},
		{"kvdb", long},
		{long},
		{"-"},
		{"---"},
		{"-\x00"},
		{"--=x"},
		{"log", "set", "", ""},
		{"status", "--output=yaml", "--output", "xml"},
	}
	for _, args := range tests {
		r := unreachableEnv.agentctl(t, "", args...)
		if r.code != exitUsage {
			t.Errorf("%.100q: exit %d, want %d; stderr %.300q", args, r.code, exitUsage, r.stderr)
			continue
		}
		checkOneLineError(t, args, r.stderr)
	}
}

// FuzzArgs runs agentctl with random arguments, split at NUL bytes, against
// unreachable endpoints: it must never panic, must exit with one of its
// documented codes, and must explain every failure on stderr.
func FuzzArgs(f *testing.F) {
	for _, s := range []string{
		"", "kvdb\x00put\x00a", "status\x00x", "--http-port\x00abc\x00status", "log\x00set\x00a\x00loud",
		"process\x00start", "-o\x00xml\x00kvdb\x00list", "--timeout\x000s\x00status", "--help", "kvdb\x00watch\x00--bogus",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		if joined == "" {
			args = nil
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		r := unreachableEnv.agentctlCtx(ctx, "", args...)
		switch r.code {
		case exitOK:
		case exitError, exitUsage, exitUnavailable:
			if !strings.HasPrefix(r.stderr, "agentctl: ") {
				t.Errorf("%q: exit %d with stderr %q, want \"agentctl: \" and the reason", args, r.code, r.stderr)
			}
		default:
			t.Errorf("%q: exit %d, not a documented exit code", args, r.code)
		}
	})
}
