package config_test

import (
	"flag"
	"testing"

	"github.com/plinth-go/plinth/infra/config"
)

// TestDirDefaultIsDefaultDir checks cn-infra's name of the default config
// directory: a source with no flag and no environment uses it.
func TestDirDefaultIsDefaultDir(t *testing.T) {
	if config.DirDefault != config.DefaultDir {
		t.Errorf("DirDefault = %q, want DefaultDir %q", config.DirDefault, config.DefaultDir)
	}
	src := config.NewSource(flag.NewFlagSet("agent", flag.ContinueOnError), func(string) string { return "" })
	if got := src.Dir(); got != config.DirDefault {
		t.Errorf("Dir() = %q, want DirDefault %q", got, config.DirDefault)
	}
}
