package client

import (
	"strings"
	"testing"

	"github.com/xdg-go/scram"
)

// TestSCRAMClientRefusesServerWithoutTheKeys runs the client against a SCRAM
// server that accepts any proof (it holds the stored key) but does not know
// the server key: the client must refuse it, or a broker impersonator could
// pass for the real one.
func TestSCRAMClientRefusesServerWithoutTheKeys(t *testing.T) {
	for _, tt := range []struct {
		name string
		hash scram.HashGeneratorFcn
	}{
		{"sha-256", scram.SHA256},
		{"sha-512", scram.SHA512},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kf := scram.KeyFactors{Salt: "salty", Iters: 4096}
			real, err := tt.hash.NewClientUnprepped("agent", "secret", "")
			if err != nil {
				t.Fatal(err)
			}
			good, err := real.GetStoredCredentialsWithError(kf)
			if err != nil {
				t.Fatal(err)
			}
			for _, forged := range []bool{false, true} {
				creds := good
				if forged {
					creds.ServerKey = append([]byte(nil), good.ServerKey...)
					creds.ServerKey[0] ^= 1
				}
				srv, err := tt.hash.NewServer(func(string) (scram.StoredCredentials, error) { return creds, nil })
				if err != nil {
					t.Fatal(err)
				}
				err = exchange(newSCRAMClient(tt.hash), srv.NewConversation())
				switch {
				case !forged && err != nil:
					t.Errorf("exchange with the real server: %v", err)
				case forged && (err == nil || !strings.Contains(err.Error(), "scram:")):
					t.Errorf("exchange with a forged server = %v, want a scram error", err)
				}
			}
		})
	}
}

// exchange runs c against srv the way sarama drives a SCRAMClient.
func exchange(c *scramClient, srv *scram.ServerConversation) error {
	if err := c.Begin("agent", "secret", ""); err != nil {
		return err
	}
	challenge := ""
	for !c.Done() {
		resp, err := c.Step(challenge)
		if err != nil {
			return err
		}
		if c.Done() {
			break
		}
		if challenge, err = srv.Step(resp); err != nil {
			return err
		}
	}
	return nil
}
