package client_test

import (
	"errors"
	"testing"

	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/messaging/kafka/client"
)

var _ config.Checker = (*client.Config)(nil)

func TestConfigFileBadSettingNamesFileAndLine(t *testing.T) {
	tests := []struct {
		name, data string
		want       string
		wantLine   int
		wantKey    string
	}{
		{
			name:     "unknown acks",
			data:     "addrs: [127.0.0.1:9092]\nrequired-acks: maybe\n",
			want:     `kafka.conf:2: kafka: config key "required-acks": "maybe" is none of all, local, none`,
			wantLine: 2, wantKey: "required-acks",
		},
		{
			name:     "nested key",
			data:     "sasl:\n  mechanism: SCRAM-SHA-1\n  user: agent\n",
			want:     `kafka.conf:1: kafka: config key "sasl": mechanism "SCRAM-SHA-1" is none of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512`,
			wantLine: 1, wantKey: "sasl",
		},
		{
			name:     "acks that are a number",
			data:     "compression: snappy\nrequired-acks: 1\n",
			want:     `kafka.conf:2: kafka: config key "required-acks": "1" is none of all, local, none`,
			wantLine: 2, wantKey: "required-acks",
		},
		{
			// A rule between two settings is reported at the key that breaks it.
			name:     "setting that needs one the file lacks",
			data:     "required-acks: local\nidempotent: true\n",
			want:     `kafka.conf:2: kafka: config key "idempotent": needs required-acks all, not "local"`,
			wantLine: 2, wantKey: "idempotent",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c client.Config
			err := config.Decode("kafka.conf", []byte(tt.data), &c)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Decode(%q) = %v, want %s", tt.data, err, tt.want)
			}
			var e *config.Error
			if !errors.As(err, &e) || e.Line != tt.wantLine || e.Key != tt.wantKey {
				t.Errorf("Decode(%q) error = %#v, want line %d, key %q", tt.data, e, tt.wantLine, tt.wantKey)
			}
		})
	}
}

func TestConfigFileValidSettingsDecode(t *testing.T) {
	var c client.Config
	data := "addrs: [127.0.0.1:9092]\nrequired-acks: local\nsasl: {mechanism: SCRAM-SHA-512, user: a, password: b}\n"
	if err := config.Decode("kafka.conf", []byte(data), &c); err != nil {
		t.Fatalf("Decode(%q): %v", data, err)
	}
	if c.RequiredAcks != client.AcksLocal || c.SASL.Mechanism != client.SASLSCRAMSHA512 {
		t.Errorf("Decode(%q) = %+v", data, c)
	}
}
