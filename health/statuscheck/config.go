package statuscheck

import (
	"errors"
	"fmt"
	"time"
)

// Defaults applied to zero fields of Config.
const (
	// DefaultProbeInterval is how often pull-mode probes are called.
	DefaultProbeInterval = 5 * time.Second
	// DefaultProbeTimeout bounds one probe call.
	DefaultProbeTimeout = 2 * time.Second
	// DefaultPublishTimeout bounds one read or write of the key-value store.
	DefaultPublishTimeout = 5 * time.Second
)

// Config is the content of statuscheck.conf (flag -statuscheck-config, env
// STATUSCHECK_CONFIG). A zero Config is valid.
type Config struct {
	// ProbeInterval is the time between two calls of each pull-mode probe.
	// If zero, DefaultProbeInterval (5s) is used.
	ProbeInterval time.Duration `yaml:"probe-interval"`
	// ProbeTimeout bounds one probe call; a probe still running after it
	// makes its plugin ERROR with "probe timed out". If zero,
	// DefaultProbeTimeout (2s) is used.
	ProbeTimeout time.Duration `yaml:"probe-timeout"`
	// PublishTimeout bounds one write (or read) of the key-value store. If
	// zero, DefaultPublishTimeout (5s) is used.
	PublishTimeout time.Duration `yaml:"publish-timeout"`
	// ExpireWithAgent puts the status keys under the store's session lease
	// (kvdb.WithSession), which the store keeps alive while the agent runs:
	// the keys disappear a session TTL (etcd.conf session-ttl, 10s by
	// default) after the agent dies or cannot reach the store, and at once
	// when it stops; a lost lease is replaced and the keys are put again.
	// Nil means true, the default, so that a dead agent never looks
	// healthy. With false the keys stay after the agent and keep the last
	// state written.
	ExpireWithAgent *bool `yaml:"expire-with-agent"`
	// DisablePublish keeps the status in memory only: nothing is written to
	// the key-value store. The probes still serve it.
	DisablePublish bool `yaml:"disable-publish"`
}

func (c Config) withDefaults() Config {
	if c.ProbeInterval == 0 {
		c.ProbeInterval = DefaultProbeInterval
	}
	if c.ProbeTimeout == 0 {
		c.ProbeTimeout = DefaultProbeTimeout
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if c.ExpireWithAgent == nil {
		expire := true
		c.ExpireWithAgent = &expire
	}
	return c
}

// expireWithAgent is ExpireWithAgent with its default applied.
func (c Config) expireWithAgent() bool { return c.ExpireWithAgent == nil || *c.ExpireWithAgent }

func (c Config) validate() error {
	var errs []error
	for _, d := range []struct {
		key string
		val time.Duration
	}{{"probe-interval", c.ProbeInterval}, {"probe-timeout", c.ProbeTimeout}, {"publish-timeout", c.PublishTimeout}} {
		if d.val < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %s", d.key, d.val))
		}
	}
	return errors.Join(errs...)
}
