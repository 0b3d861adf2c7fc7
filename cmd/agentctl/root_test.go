package main

import (
	"strings"
	"testing"
)

func TestMistypedCommandsSuggestTheRightOne(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"statu"}, `agentctl: unknown command "statu" (did you mean "status"?)` + "\nRun 'agentctl --help' for usage.\n"},
		{[]string{"stauts"}, `agentctl: unknown command "stauts" (did you mean "status"?)` + "\nRun 'agentctl --help' for usage.\n"},
		{[]string{"kvbd"}, `agentctl: unknown command "kvbd" (did you mean "kvdb"?)` + "\nRun 'agentctl --help' for usage.\n"},
		{[]string{"kvdb", "gte", "k"}, `agentctl: kvdb: unknown command "gte" (did you mean "get"?)` + "\nRun 'agentctl kvdb --help' for usage.\n"},
		{[]string{"log", "lst"}, `agentctl: log: unknown command "lst" (did you mean "list" or "set"?)` + "\nRun 'agentctl log --help' for usage.\n"},
		{[]string{"process", "restrat", "vpp"}, `agentctl: process: unknown command "restrat" (did you mean "restart"?)` + "\nRun 'agentctl process --help' for usage.\n"},
		{[]string{"frobnicate"}, `agentctl: unknown command "frobnicate"` + "\nRun 'agentctl --help' for usage.\n"},
	}
	for _, tt := range tests {
		r := unreachableEnv.agentctl(t, "", tt.args...)
		if r.code != exitUsage || r.stdout != "" || r.stderr != tt.want {
			t.Errorf("agentctl %q = (%d, %q, %q), want (%d, \"\", %q)", tt.args, r.code, r.stdout, r.stderr, exitUsage, tt.want)
		}
	}
}

// TestErrorsHaveOnePrefix: main prefixes every error with "agentctl: ";
// no error repeats the program's name after it.
func TestErrorsHaveOnePrefix(t *testing.T) {
	for _, args := range [][]string{
		{"kvdb", "put", "x"},
		{"kvdb", "get"},
		{"kvdb", "bogus"},
		{"log", "set", "", "debug"},
		{"log", "set", "etcd"},
		{"process", "stop", " "},
		{"process", "bogus"},
		{"status", "extra"},
		{"status", "--watch"},
		{"version", "extra"},
		{"bogus"},
		{"kvdb", "get", "k", "--bogus"},
	} {
		r := unreachableEnv.agentctl(t, "", args...)
		first, _, _ := strings.Cut(r.stderr, "\n")
		if !strings.HasPrefix(first, "agentctl: ") || strings.Contains(strings.TrimPrefix(first, "agentctl: "), "agentctl ") &&
			!strings.Contains(first, "(usage: agentctl ") {
			t.Errorf("agentctl %q: stderr %q, want one \"agentctl: \" prefix", args, r.stderr)
		}
		if strings.HasPrefix(first, "agentctl: agentctl") {
			t.Errorf("agentctl %q: stderr %q repeats the prefix", args, r.stderr)
		}
	}
	r := unreachableEnv.agentctl(t, "", "kvdb", "put", "x")
	want := "agentctl: kvdb put: want 2 argument(s), got 1 (usage: agentctl kvdb put KEY VALUE [flags])\nRun 'agentctl kvdb put --help' for usage.\n"
	if r.stderr != want {
		t.Errorf("kvdb put x: stderr %q, want %q", r.stderr, want)
	}
}
