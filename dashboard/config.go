package dashboard

import (
	"fmt"
	"github.com/plinth-go/plinth/infra/config"
	"time"
)

// DefaultFleetKeepGone is for how long the fleet page keeps listing an agent
// whose status key is gone: long enough for an operator to notice it, short
// enough that agents replaced under new labels do not pile up.
const DefaultFleetKeepGone = time.Hour

// Config is the content of dashboard.conf, the file named by the flag
// -dashboard-config or the environment variable DASHBOARD_CONFIG. Every key
// is optional and a zero Config is valid:
//
//	fleet: true            # serve the fleet page at /ui/fleet
//	fleet-keep-gone: 30m   # how long a gone agent stays listed
type Config struct {
	// Fleet serves the fleet page at /ui/fleet and its data at
	// /ui/api/fleet: every agent whose status key is under /vnf-agent/ in
	// the agent's key-value store, live from one watch of that prefix.
	// Off by default, since it reads the keys of every agent on the
	// cluster; the paths then answer 404 saying how to turn it on.
	Fleet bool `yaml:"fleet"`
	// FleetKeepGone is for how long an agent whose status key disappeared
	// (it stopped, or died and its lease expired) stays listed as gone.
	// If zero, DefaultFleetKeepGone (1h) is used.
	FleetKeepGone time.Duration `yaml:"fleet-keep-gone"`
}

func (c Config) withDefaults() Config {
	if c.FleetKeepGone == 0 {
		c.FleetKeepGone = DefaultFleetKeepGone
	}
	return c
}

func (c Config) validate() error {
	if c.FleetKeepGone < 0 {
		return fmt.Errorf("fleet-keep-gone: %v is negative", c.FleetKeepGone)
	}
	return nil
}

// UseConf sets the whole config in code. It wins over dashboard.conf.
func UseConf(c Config) Option {
	return func(p *Plugin) { p.codeConf = &c }
}

// resolveConfig merges the sources by precedence: defaults < file < code.
// The file is read even when UseConf wins, so a broken file is still
// reported.
func (p *Plugin) resolveConfig() (Config, error) {
	var cfg Config
	origin, err := config.Resolve(p.Cfg, p.codeConf, &cfg)
	if err != nil {
		return Config{}, fmt.Errorf("dashboard: %w", err)
	}
	if err := cfg.validate(); err != nil {
		return Config{}, fmt.Errorf("dashboard: %s: %w", origin, err)
	}
	return cfg.withDefaults(), nil
}
