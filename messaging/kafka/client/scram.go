package client

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

// scramClient is sarama's side of a SCRAM exchange (RFC 5802, without
// channel binding, as Kafka speaks it), driven by a conversation of
// github.com/xdg-go/scram. sarama makes one per connection attempt through
// SASL.apply's generator and calls Begin before each exchange.
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

var _ sarama.SCRAMClient = (*scramClient)(nil)

func newSCRAMClient(hash scram.HashGeneratorFcn) *scramClient { return &scramClient{hash: hash} }

// Begin starts a new conversation for user.
func (c *scramClient) Begin(user, password, authzID string) error {
	// Kafka brokers derive the stored keys from the password's UTF-8 bytes
	// as given, and Kafka's own clients send names unprepared: SASLprep
	// here would lock out users whose credentials it changes.
	cl, err := c.hash.NewClientUnprepped(user, password, authzID)
	if err != nil {
		return fmt.Errorf("scram: %w", err)
	}
	c.conv = cl.NewConversation()
	return nil
}

// Step answers the server's challenge; the last step checks the server's
// signature, so a broker that does not know the password is refused too.
func (c *scramClient) Step(challenge string) (string, error) {
	if c.conv == nil {
		return "", errors.New("scram: step before begin")
	}
	resp, err := c.conv.Step(challenge)
	if err != nil {
		return "", fmt.Errorf("scram: %w", err)
	}
	return resp, nil
}

// Done reports whether the conversation is over, successfully or not.
func (c *scramClient) Done() bool { return c.conv != nil && c.conv.Done() }

// scramTrace counts the SCRAM exchanges of one Connect call so that a failed
// connect can say that authentication failed: a broker may close the
// connection on a wrong password instead of answering, and sarama then
// reports a bare EOF.
type scramTrace struct {
	begun, verified atomic.Int64
}

// wrap returns a generator whose clients count their exchanges in t.
func (t *scramTrace) wrap(gen func() sarama.SCRAMClient) func() sarama.SCRAMClient {
	return func() sarama.SCRAMClient { return &tracedSCRAM{SCRAMClient: gen(), trace: t} }
}

// failed reports whether an exchange began and did not end with a verified
// server signature.
func (t *scramTrace) failed() bool { return t.begun.Load() > t.verified.Load() }

type tracedSCRAM struct {
	sarama.SCRAMClient
	trace *scramTrace
}

func (c *tracedSCRAM) Begin(user, password, authzID string) error {
	c.trace.begun.Add(1)
	return c.SCRAMClient.Begin(user, password, authzID)
}

func (c *tracedSCRAM) Step(challenge string) (string, error) {
	resp, err := c.SCRAMClient.Step(challenge)
	if err == nil && c.SCRAMClient.Done() {
		c.trace.verified.Add(1)
	}
	return resp, err
}
