package main

import (
	"bytes"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunShowsLevelsHookAndTracer(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"level=warning msg=\"invoice overdue\" id=7 logger=billing.invoice\n",
		"ALERT [plinth] warning billing.invoice: invoice overdue id=7\n",
		"POST /log/billing/debug: 200 {\"logger\":\"billing\",\"level\":\"debug\"}\n",
		"level=debug msg=\"written now: the change reached the child\" logger=billing.invoice\n",
		"ALERT [plinth] error billing: charge failed error=card declined\n",
		"tracer: card measured 3 times\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "not written") {
		t.Errorf("a record below the level was written:\n%s", got)
	}
	if strings.Count(got, "logger=billing tracer=charge") != 3 {
		t.Errorf("want 3 tracer records at debug:\n%s", got)
	}
}

func TestInitialLogLevelOverridesTheFile(t *testing.T) {
	var out bytes.Buffer
	env := map[string]string{"INITIAL_LOGLVL": "debug"}
	if err := run(&out, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "not written: billing.invoice follows billing") {
		t.Errorf("with INITIAL_LOGLVL=debug the info record must be written:\n%s", out.String())
	}
}
