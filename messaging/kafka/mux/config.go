package mux

import (
	"errors"
	"fmt"
	"time"

	"github.com/plinth-go/plinth/messaging/kafka/client"
)

// Config holds the settings of a Multiplexer: those of the client and how
// the connection is watched. The zero Config is valid.
type Config struct {
	client.Config `yaml:",inline"`

	// HealthCheckInterval is the time between two connectivity checks once
	// connected. A check asks a broker for metadata and creates no topic.
	// If zero, 5s is used.
	HealthCheckInterval time.Duration `yaml:"health-check-interval"`
	// ReconnectBackoffMax caps the wait between two attempts to reach the
	// brokers when they are down at start; the wait starts at 100ms and
	// doubles. If zero, 5s is used.
	ReconnectBackoffMax time.Duration `yaml:"reconnect-backoff-max"`
}

// Defaults of Config.
const (
	DefaultHealthCheckInterval = 5 * time.Second
	DefaultReconnectBackoffMax = 5 * time.Second
	reconnectBackoffMin        = 100 * time.Millisecond
)

// Validate reports every invalid setting of c, joined.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.HealthCheckInterval < 0 {
		errs = append(errs, fmt.Errorf("kafka: config key %q: %s is negative", "health-check-interval", c.HealthCheckInterval))
	}
	if c.ReconnectBackoffMax < 0 {
		errs = append(errs, fmt.Errorf("kafka: config key %q: %s is negative", "reconnect-backoff-max", c.ReconnectBackoffMax))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.HealthCheckInterval == 0 {
		c.HealthCheckInterval = DefaultHealthCheckInterval
	}
	if c.ReconnectBackoffMax == 0 {
		c.ReconnectBackoffMax = DefaultReconnectBackoffMax
	}
	return c
}
