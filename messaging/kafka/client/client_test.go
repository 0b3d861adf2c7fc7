package client_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/plinth-go/plinth/messaging/kafka/client"
)

func TestSASLMechanismsAuthenticate(t *testing.T) {
	tests := []struct {
		name      string
		mechanism string
		user      string // the broker knows this user, with the password "secret"
		password  string
		wantErr   string // "" when Connect must succeed
	}{
		{"plain", client.SASLPlain, "agent", "secret", ""},
		{"scram-sha-256", client.SASLSCRAMSHA256, "agent", "secret", ""},
		{"scram-sha-512", client.SASLSCRAMSHA512, "agent", "secret", ""},
		// ',' and '=' delimit SCRAM attributes and must be escaped in the
		// user name.
		{"scram name with delimiters", client.SASLSCRAMSHA256, "team=a,agent", "secret", ""},
		{"scram non-ascii password", client.SASLSCRAMSHA512, "agent", "sécret ", ""},
		{"scram-sha-256 wrong password", client.SASLSCRAMSHA256, "agent", "wrong",
			`SASL SCRAM-SHA-256 authentication as "agent" failed`},
		{"scram-sha-512 wrong password", client.SASLSCRAMSHA512, "agent", "wrong",
			`SASL SCRAM-SHA-512 authentication as "agent" failed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			password := "secret"
			if tt.wantErr == "" {
				password = tt.password
			}
			cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
				kfake.Superuser(tt.mechanism, tt.user, password), kfake.SeedTopics(1, "auth"))
			if err != nil {
				t.Fatal(err)
			}
			defer cluster.Close()
			cfg := client.Config{Addrs: cluster.ListenAddrs(), DialTimeout: 5 * time.Second,
				SASL: client.SASL{Mechanism: tt.mechanism, User: tt.user, Password: tt.password}}
			c, err := client.Connect(cfg)
			if tt.wantErr != "" {
				if err == nil {
					c.Close()
					t.Fatal("Connect with a wrong password succeeded")
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Connect with a wrong password = %v, want it to say %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			defer c.Close()
			p, err := client.NewProducer(c)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if err := p.SendSync(context.Background(), &client.ProducerMessage{Topic: "auth", Value: []byte("v")}); err != nil {
				t.Errorf("SendSync: %v", err)
			}
		})
	}
}

func TestConnectFailureWithoutAuthIsNotBlamedOnSASL(t *testing.T) {
	// Nothing listens: the SCRAM exchange never begins, so the error must
	// not suggest a wrong password.
	cfg := client.Config{Addrs: []string{"127.0.0.1:1"}, DialTimeout: time.Second,
		SASL: client.SASL{Mechanism: client.SASLSCRAMSHA256, User: "agent", Password: "secret"}}
	c, err := client.Connect(cfg)
	if err == nil {
		c.Close()
		t.Fatal("Connect to a closed port succeeded")
	}
	if strings.Contains(err.Error(), "authentication") {
		t.Errorf("Connect to a closed port = %v, want no mention of authentication", err)
	}
}

func TestSendSyncHonoursContext(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "ctx"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	c, err := client.Connect(client.Config{Addrs: cluster.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := client.NewProducer(c)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = p.SendSync(ctx, &client.ProducerMessage{Topic: "ctx", Value: []byte("v")})
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("SendSync with a cancelled context = %v, want context canceled", err)
	}
}

func TestTLSConfigNeedsBothCertAndKey(t *testing.T) {
	cfg := client.Config{TLS: client.TLS{Enabled: true, CertFile: "c.pem"}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "tls") {
		t.Errorf("Validate = %v, want an error about tls", err)
	}
}

func TestLingerAndBatchLimitsReachSarama(t *testing.T) {
	tests := []struct {
		name                 string
		cfg                  client.Config
		frequency            time.Duration
		messages, batchBytes int
	}{
		{"default: every request as soon as possible", client.Config{}, 0, 0, 0},
		{"linger alone", client.Config{Linger: 5 * time.Millisecond}, 5 * time.Millisecond, 0, 0},
		{"linger ended by a batch size", client.Config{Linger: time.Second, BatchMessages: 500, BatchBytes: 64 << 10}, time.Second, 500, 64 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := tt.cfg.Sarama()
			if err != nil {
				t.Fatal(err)
			}
			f := sc.Producer.Flush
			if f.Frequency != tt.frequency || f.Messages != tt.messages || f.Bytes != tt.batchBytes || f.MaxMessages != 0 {
				t.Errorf("Producer.Flush = %+v, want Frequency %s, Messages %d, Bytes %d, MaxMessages 0", f, tt.frequency, tt.messages, tt.batchBytes)
			}
		})
	}
}

func TestBadLingerOrBatchLimitIsRejectedNamingTheKey(t *testing.T) {
	tests := []struct {
		name string
		cfg  client.Config
		key  string
	}{
		{"negative linger", client.Config{Linger: -time.Millisecond}, `"linger"`},
		{"negative batch-messages", client.Config{Linger: time.Millisecond, BatchMessages: -1}, `"batch-messages"`},
		{"negative batch-bytes", client.Config{Linger: time.Millisecond, BatchBytes: -1}, `"batch-bytes"`},
		// Without a linger, a batch that never fills would never leave.
		{"batch-messages without linger", client.Config{BatchMessages: 100}, `"batch-messages"`},
		{"batch-bytes without linger", client.Config{BatchBytes: 16 << 10}, `"batch-bytes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.key) {
				t.Errorf("Validate = %v, want an error naming %s", err, tt.key)
			}
		})
	}
}

// A producer on a client; SendSync waits until the broker stored the message.
func ExampleProducer_SendSync() {
	brokers, _ := kfake.NewCluster(kfake.SeedTopics(1, "events"))
	defer brokers.Close()

	c, err := client.Connect(client.Config{Addrs: brokers.ListenAddrs()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close() // last: after the producer
	p, err := client.NewProducer(c)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	msg := &client.ProducerMessage{Topic: "events", Key: "k", Value: []byte("v")}
	if err := p.SendSync(context.Background(), msg); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("stored at %s/%d@%d\n", msg.GetTopic(), msg.GetPartition(), msg.GetOffset())
	// Output: stored at events/0@0
}

// dial-timeout also bounds how long sarama keeps trying a metadata request,
// which the health check and a producer's renewal wait for.
func TestDialTimeoutBoundsMetadataRequests(t *testing.T) {
	tests := []struct {
		name string
		cfg  client.Config
		want time.Duration
	}{
		{"default", client.Config{}, 10 * time.Second},
		{"configured", client.Config{DialTimeout: 2 * time.Second}, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := tt.cfg.Sarama()
			if err != nil {
				t.Fatal(err)
			}
			if sc.Net.DialTimeout != tt.want || sc.Metadata.Timeout != tt.want {
				t.Errorf("Net.DialTimeout %v, Metadata.Timeout %v, want both %v", sc.Net.DialTimeout, sc.Metadata.Timeout, tt.want)
			}
		})
	}
}
