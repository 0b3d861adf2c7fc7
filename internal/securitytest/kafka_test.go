package securitytest

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/plinth-go/plinth/internal/testpki"
	"github.com/plinth-go/plinth/messaging/kafka/client"
	"github.com/plinth-go/plinth/messaging/kafka/mux"
)

const kafkaPassword = "Vb7nQ2xL9pR4tW1zK8mC"

// kafkaDialTimeout bounds a connection to the broker, TLS handshake
// included. It takes milliseconds on an idle machine, seconds with the race
// detector on a busy one; a refused setup fails at once whatever it is.
const kafkaDialTimeout = 20 * time.Second

// startSecureBroker starts a kfake broker that requires TLS with client
// certificates signed by ca, and SASL with the user "agent".
func startSecureBroker(t *testing.T, ca *testpki.Authority, mechanism string) *kfake.Cluster {
	t.Helper()
	server := ca.Issue(t, "broker", testpki.Server)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "secure"),
		kfake.TLS(&tls.Config{
			MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{server.TLS},
			ClientCAs: ca.Pool, ClientAuth: tls.RequireAndVerifyClientCert,
		}),
		kfake.EnableSASL(), kfake.Superuser(mechanism, "agent", kafkaPassword))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	return cluster
}

// TestKafkaClientWithTLSAndSASL connects through TLS with a client
// certificate and SASL: the right setup publishes; a wrong authority,
// a missing certificate, plain text or a wrong password is refused.
func TestKafkaClientWithTLSAndSASL(t *testing.T) {
	ca := testpki.NewAuthority(t, "kafka CA")
	other := testpki.NewAuthority(t, "another CA")
	stranger := other.Issue(t, "stranger", testpki.Client)
	clientCert := ca.Issue(t, "agent", testpki.Client)
	for _, mechanism := range []string{client.SASLPlain, client.SASLSCRAMSHA256, client.SASLSCRAMSHA512} {
		t.Run(mechanism, func(t *testing.T) {
			cluster := startSecureBroker(t, ca, mechanism)
			good := client.Config{
				Addrs: cluster.ListenAddrs(), DialTimeout: kafkaDialTimeout,
				TLS:  client.TLS{Enabled: true, CAFile: ca.CertFile, CertFile: clientCert.CertFile, KeyFile: clientCert.KeyFile},
				SASL: client.SASL{Mechanism: mechanism, User: "agent", Password: kafkaPassword},
			}
			c, err := client.Connect(good)
			if err != nil {
				t.Fatalf("Connect over TLS with SASL: %v", err)
			}
			defer c.Close()
			p, err := client.NewProducer(c)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 3*kafkaDialTimeout)
			defer cancel()
			if err := p.SendSync(ctx, &client.ProducerMessage{Topic: "secure", Value: []byte("v")}); err != nil {
				t.Errorf("SendSync: %v", err)
			}

			for _, bad := range []struct {
				name   string
				mutate func(c *client.Config)
			}{
				{"wrong password", func(c *client.Config) { c.SASL.Password = kafkaPassword + "-wrong" }},
				{"plain text", func(c *client.Config) { c.TLS = client.TLS{} }},
				{"no client certificate", func(c *client.Config) { c.TLS.CertFile, c.TLS.KeyFile = "", "" }},
				{"client certificate of another authority", func(c *client.Config) {
					c.TLS.CertFile, c.TLS.KeyFile = stranger.CertFile, stranger.KeyFile
				}},
				{"broker certificate not trusted", func(c *client.Config) { c.TLS.CAFile = other.CertFile }},
			} {
				cfg := good
				bad.mutate(&cfg)
				c, err := client.Connect(cfg)
				if err == nil {
					c.Close()
					t.Errorf("%s: Connect succeeded", bad.name)
					continue
				}
				assertNoSecret(t, bad.name+": the error", err.Error(), kafkaPassword)
			}
		})
	}
}

// TestKafkaMultiplexerNeverLogsThePassword runs the multiplexer of the
// Kafka plugin at trace level against a broker that rejects its password
// until it reports the rejection, then against one that accepts it until it
// reports itself connected: no record carries the password.
func TestKafkaMultiplexerNeverLogsThePassword(t *testing.T) {
	ca := testpki.NewAuthority(t, "kafka CA")
	clientCert := ca.Issue(t, "agent", testpki.Client)
	cluster := startSecureBroker(t, ca, client.SASLSCRAMSHA256)
	for _, password := range []string{kafkaPassword + "-wrong", kafkaPassword} {
		reg, logs := newTraceRegistry()
		states := make(chan error, 16)
		cfg := mux.Config{
			Config: client.Config{
				Addrs: cluster.ListenAddrs(), DialTimeout: kafkaDialTimeout,
				TLS:  client.TLS{Enabled: true, CAFile: ca.CertFile, CertFile: clientCert.CertFile, KeyFile: clientCert.KeyFile},
				SASL: client.SASL{Mechanism: client.SASLSCRAMSHA256, User: "agent", Password: password},
			},
			ReconnectBackoffMax: 100 * time.Millisecond,
		}
		m, err := mux.New(cfg, mux.WithLogger(reg.ForPlugin("kafka")), mux.WithStateFunc(func(err error) {
			select {
			case states <- err:
			default:
			}
		}))
		if err != nil {
			t.Fatal(err)
		}
		m.Start()
		// The wrong password is reported at the first attempt; the right one
		// connects, perhaps after an attempt that ran out of time.
		wantConnected := password == kafkaPassword
		timeout := time.After(3 * kafkaDialTimeout)
	wait:
		for {
			select {
			case err := <-states:
				if err != nil {
					assertNoSecret(t, "the reported state", err.Error(), kafkaPassword)
				}
				if (err == nil) == wantConnected {
					break wait
				}
			case <-timeout:
				t.Errorf("the multiplexer did not report itself connected=%v within %v", wantConnected, 3*kafkaDialTimeout)
				break wait
			}
		}
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if logs.String() == "" {
			t.Error("the multiplexer logged nothing at trace level; the check would prove nothing")
		}
		assertNoSecret(t, "the log", logs.String(), kafkaPassword)
	}
}
