package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

// DefaultAddr is the broker used when Config.Addrs is empty.
const DefaultAddr = "127.0.0.1:9092"

// Names accepted by Config.RequiredAcks.
const (
	AcksAll   = "all"   // every in-sync replica stored the message
	AcksLocal = "local" // the partition leader stored the message
	AcksNone  = "none"  // the broker does not answer; nothing is confirmed
)

// Names accepted by Config.Partitioner.
const (
	PartitionerHash       = "hash"        // by the hash of the key; random when the key is empty
	PartitionerRandom     = "random"      // a random partition per message
	PartitionerRoundRobin = "round-robin" // partitions in turn
	PartitionerManual     = "manual"      // Config.Partition, unless the publisher names one
)

// Names accepted by Config.InitialOffset.
const (
	OffsetOldest = "oldest" // a new consumer group reads topics from their start
	OffsetNewest = "newest" // a new consumer group reads only what is published after it joined
)

// Names accepted by SASL.Mechanism.
const (
	SASLPlain       = "PLAIN"
	SASLSCRAMSHA256 = "SCRAM-SHA-256"
	SASLSCRAMSHA512 = "SCRAM-SHA-512"
)

// Config holds the settings of a connection to Kafka brokers. The zero
// Config is valid: it connects to DefaultAddr in plain text, waits for every
// in-sync replica, partitions by key hash and reads new groups from the
// oldest offset. The keys addrs and group_id keep the names of the original
// kafka.conf; the others are kebab-case.
type Config struct {
	// Addrs are the bootstrap brokers, as host:port. If empty,
	// [DefaultAddr] is used.
	Addrs []string `yaml:"addrs"`
	// GroupID names the consumer group of the topics watched by topic (not
	// by partition). If empty, the user of the Config chooses: the Kafka
	// plugin uses the microservice label of the agent.
	GroupID string `yaml:"group_id"`
	// ClientID identifies the client in broker logs and quotas. If empty,
	// "plinth" is used.
	ClientID string `yaml:"client-id"`
	// Version is the Kafka protocol version to speak, such as "3.6.0". It
	// must not be newer than the oldest broker. If empty, 2.8.0 is used.
	Version string `yaml:"version"`
	// RequiredAcks is how many replicas must store a message before it is
	// acknowledged: "all", "local" or "none". If empty, "all" is used.
	RequiredAcks string `yaml:"required-acks"`
	// Compression of produced batches: "none", "gzip", "snappy", "lz4" or
	// "zstd". If empty, "none" is used.
	Compression string `yaml:"compression"`
	// Idempotent makes the broker discard duplicates caused by producer
	// retries, such as the retry of a batch stored by a broker that crashed
	// before it answered. It needs RequiredAcks "all" and Version 0.11 or
	// newer.
	Idempotent bool `yaml:"idempotent"`
	// Partitioner chooses the partition of a message whose publisher names
	// none: "hash", "random", "round-robin" or "manual". If empty, "hash"
	// is used.
	Partitioner string `yaml:"partitioner"`
	// Partition is the partition used by the "manual" partitioner. If zero,
	// partition 0 is used.
	Partition int32 `yaml:"partition"`
	// InitialOffset is where a consumer group without a committed offset
	// starts reading: "oldest" or "newest". If empty, "oldest" is used, so
	// that nothing published before the first start is missed.
	InitialOffset string `yaml:"initial-offset"`
	// Linger is how long the producers wait, after a message arrives for a
	// broker that has nothing waiting, for more messages to send in the same
	// request. If zero, a request goes out as soon as the previous one to the
	// broker left, with whatever arrived meanwhile (sarama's
	// Producer.Flush.Frequency; Kafka's linger.ms). A longer linger makes
	// fewer, larger requests: less CPU per message, more latency.
	Linger time.Duration `yaml:"linger"`
	// BatchMessages and BatchBytes end the linger early: a request goes out
	// once the messages waiting for a broker number BatchMessages or hold
	// BatchBytes bytes. Zero means no such limit. Either needs Linger, or
	// messages would wait until enough others arrive (sarama's
	// Producer.Flush.Messages and Producer.Flush.Bytes).
	BatchMessages int `yaml:"batch-messages"`
	BatchBytes    int `yaml:"batch-bytes"`
	// DialTimeout bounds opening a connection to a broker. If zero, 10s is
	// used.
	DialTimeout time.Duration `yaml:"dial-timeout"`
	// TLS encrypts the connections when enabled.
	TLS TLS `yaml:"tls"`
	// SASL authenticates the client when a mechanism is set.
	SASL SASL `yaml:"sasl"`
}

// TLS holds the TLS settings of the connections to the brokers. TLS 1.2 is
// the oldest version accepted.
type TLS struct {
	// Enabled turns TLS on.
	Enabled bool `yaml:"enabled"`
	// SkipVerify accepts any broker certificate. Use only in tests.
	SkipVerify bool `yaml:"skip-verify"`
	// CertFile and KeyFile are the PEM files of the client certificate, for
	// brokers that authenticate clients; set both or neither.
	CertFile string `yaml:"cert-file"`
	KeyFile  string `yaml:"key-file"`
	// CAFile is a PEM bundle of the authorities that sign broker
	// certificates. If empty, the system roots are used.
	CAFile string `yaml:"ca-file"`
}

// SASL holds the SASL settings of the connections to the brokers.
type SASL struct {
	// Mechanism is "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512". If empty,
	// SASL is off. PLAIN sends the password in clear text: use it with TLS.
	Mechanism string `yaml:"mechanism"`
	// User and Password are the credentials.
	User     string `yaml:"user"`
	Password string `yaml:"password"`
}

// Brokers returns Addrs, or [DefaultAddr] when Addrs is empty.
func (c *Config) Brokers() []string {
	if len(c.Addrs) == 0 {
		return []string{DefaultAddr}
	}
	return slices.Clone(c.Addrs)
}

// Validate reports every invalid setting of c, joined.
func (c *Config) Validate() error {
	_, err := c.Sarama()
	return err
}

// CheckConfig implements config.Checker: it is Validate, so that a file
// with a bad setting (required-acks: maybe) is refused when it is loaded,
// with the file and line of the key.
func (c *Config) CheckConfig() error { return c.Validate() }

// keyError is an invalid setting. ConfigKey lets infra/config find the key
// in the config file.
type keyError struct {
	key, msg string
}

func (e *keyError) Error() string { return fmt.Sprintf("kafka: config key %q: %s", e.key, e.msg) }

// ConfigKey returns the key of the setting, such as "required-acks".
func (e *keyError) ConfigKey() string { return e.key }

// Sarama returns the sarama configuration for c. The producer settings
// suit the producers of this package: successes and errors are returned and
// the partitioner honours partitions chosen per message.
func (c *Config) Sarama() (*sarama.Config, error) {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &keyError{key: key, msg: fmt.Sprintf(format, args...)})
	}
	sc := sarama.NewConfig()

	for _, a := range c.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			bad("addrs", "%q is not host:port", a)
		}
	}
	sc.ClientID = "plinth"
	if c.ClientID != "" {
		sc.ClientID = c.ClientID
	}
	if c.Version != "" {
		v, err := sarama.ParseKafkaVersion(c.Version)
		if err != nil {
			bad("version", "%q is not a Kafka version such as 3.6.0", c.Version)
		} else {
			sc.Version = v
		}
	}
	switch strings.ToLower(c.RequiredAcks) {
	case "", AcksAll:
		sc.Producer.RequiredAcks = sarama.WaitForAll
	case AcksLocal:
		sc.Producer.RequiredAcks = sarama.WaitForLocal
	case AcksNone:
		sc.Producer.RequiredAcks = sarama.NoResponse
	default:
		bad("required-acks", "%q is none of all, local, none", c.RequiredAcks)
	}
	switch strings.ToLower(c.Compression) {
	case "", "none":
		sc.Producer.Compression = sarama.CompressionNone
	case "gzip":
		sc.Producer.Compression = sarama.CompressionGZIP
	case "snappy":
		sc.Producer.Compression = sarama.CompressionSnappy
	case "lz4":
		sc.Producer.Compression = sarama.CompressionLZ4
	case "zstd":
		sc.Producer.Compression = sarama.CompressionZSTD
	default:
		bad("compression", "%q is none of none, gzip, snappy, lz4, zstd", c.Compression)
	}
	if c.Idempotent {
		if sc.Producer.RequiredAcks != sarama.WaitForAll {
			bad("idempotent", "needs required-acks all, not %q", c.RequiredAcks)
		}
		if !sc.Version.IsAtLeast(sarama.V0_11_0_0) {
			bad("idempotent", "needs version 0.11.0 or newer, not %s", sc.Version)
		}
		sc.Producer.Idempotent = true
		// The broker keeps the order of one producer's batches only with
		// one request in flight per connection.
		sc.Net.MaxOpenRequests = 1
	}
	fallback, err := fallbackPartitioner(c.Partitioner)
	if err != nil {
		bad("partitioner", "%v", err)
	}
	if c.Partition < 0 {
		bad("partition", "%d is negative", c.Partition)
	}
	sc.Producer.Partitioner = newPartitioner(fallback, c.Partition)
	// A request goes out when any of linger, batch-messages and
	// batch-bytes is reached; all zero: at once.
	if c.Linger < 0 {
		bad("linger", "%s is negative", c.Linger)
	}
	if c.BatchMessages < 0 {
		bad("batch-messages", "%d is negative", c.BatchMessages)
	} else if c.BatchMessages > 0 && c.Linger <= 0 {
		bad("batch-messages", "needs linger: without it, messages wait until %d are waiting", c.BatchMessages)
	}
	if c.BatchBytes < 0 {
		bad("batch-bytes", "%d is negative", c.BatchBytes)
	} else if c.BatchBytes > 0 && c.Linger <= 0 {
		bad("batch-bytes", "needs linger: without it, messages wait until they hold %d bytes", c.BatchBytes)
	}
	sc.Producer.Flush.Frequency = c.Linger
	sc.Producer.Flush.Messages = c.BatchMessages
	sc.Producer.Flush.Bytes = c.BatchBytes
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true

	switch strings.ToLower(c.InitialOffset) {
	case "", OffsetOldest:
		sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	case OffsetNewest:
		sc.Consumer.Offsets.Initial = sarama.OffsetNewest
	default:
		bad("initial-offset", "%q is neither oldest nor newest", c.InitialOffset)
	}
	sc.Consumer.Return.Errors = true

	sc.Net.DialTimeout = 10 * time.Second
	if c.DialTimeout < 0 {
		bad("dial-timeout", "%s is negative", c.DialTimeout)
	} else if c.DialTimeout > 0 {
		sc.Net.DialTimeout = c.DialTimeout
	}
	// Without it, a metadata request tries every broker and retries 3
	// times: against brokers that drop connection attempts it took up to
	// 4 x brokers x DialTimeout. With it, sarama stops trying once
	// DialTimeout has passed (a connection attempt in progress then still
	// ends at its own timeout), so the health check reports an outage, the
	// producers give up a lookup and Close waits for a check in progress
	// within about twice DialTimeout. Against brokers that refuse
	// connections, the retries take about a second and are unaffected.
	sc.Metadata.Timeout = sc.Net.DialTimeout

	if c.TLS.Enabled {
		tc, err := c.TLS.config()
		if err != nil {
			bad("tls", "%v", err)
		}
		sc.Net.TLS.Enable = true
		sc.Net.TLS.Config = tc
	}
	if c.SASL.Mechanism != "" {
		if err := c.SASL.apply(sc); err != nil {
			bad("sasl", "%v", err)
		}
	}
	if len(errs) == 0 {
		if err := sc.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("kafka: invalid config: %w", err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return sc, nil
}

func (t *TLS) config() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.SkipVerify} //nolint:gosec // SkipVerify is an explicit, documented test setting.
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("cert-file and key-file must be set together")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca-file %s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

func (s *SASL) apply(sc *sarama.Config) error {
	if s.User == "" {
		return errors.New("user is empty")
	}
	sc.Net.SASL.Enable = true
	sc.Net.SASL.Handshake = true
	sc.Net.SASL.User = s.User
	sc.Net.SASL.Password = s.Password
	switch strings.ToUpper(s.Mechanism) {
	case SASLPlain:
		sc.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	case SASLSCRAMSHA256:
		sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return newSCRAMClient(scram.SHA256) }
	case SASLSCRAMSHA512:
		sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return newSCRAMClient(scram.SHA512) }
	default:
		return fmt.Errorf("mechanism %q is none of %s, %s, %s", s.Mechanism, SASLPlain, SASLSCRAMSHA256, SASLSCRAMSHA512)
	}
	return nil
}

// Connect opens a sarama client to the brokers of c. It fails when no
// broker answers; sarama then retries on its own inside the client, so one
// successful Connect is enough for the life of the client. When a SCRAM
// exchange began but the broker did not accept it, the error says that
// authentication failed, even when the broker just closed the connection.
func Connect(c Config) (sarama.Client, error) {
	sc, err := c.Sarama()
	if err != nil {
		return nil, err
	}
	var trace scramTrace
	if gen := sc.Net.SASL.SCRAMClientGeneratorFunc; gen != nil {
		sc.Net.SASL.SCRAMClientGeneratorFunc = trace.wrap(gen)
	}
	cl, err := sarama.NewClient(c.Brokers(), sc)
	if err != nil {
		brokers := strings.Join(c.Brokers(), ",")
		if trace.failed() {
			return nil, fmt.Errorf("kafka: connect to %s: SASL %s authentication as %q failed (check user, password and mechanism): %w",
				brokers, sc.Net.SASL.Mechanism, c.SASL.User, err)
		}
		return nil, fmt.Errorf("kafka: connect to %s: %w", brokers, err)
	}
	return cl, nil
}
