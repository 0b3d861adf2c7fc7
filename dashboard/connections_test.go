package dashboard_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plinth-go/plinth/dashboard"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/messaging/kafka"
	"github.com/plinth-go/plinth/messaging/kafka/kafkatest"
	"github.com/plinth-go/plinth/servicelabel"
)

func (s *server) connection(path string) dashboard.Connection {
	s.t.Helper()
	var c dashboard.Connection
	if code := s.json(http.MethodGet, path, &c); code != http.StatusOK {
		s.t.Fatalf("GET %s = %d", path, code)
	}
	return c
}

func TestEtcdPanelShowsTheEndpointsTheConnectionAndTheLastError(t *testing.T) {
	t.Run("reachable", func(t *testing.T) {
		srv := etcdtest.Start(t)
		s := startServer(t, rest.Config{}, etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: srv.Endpoints()})),
			servicelabel.NewPlugin(), statuscheck.NewPlugin(), dashboard.NewPlugin())
		var c dashboard.Connection
		eventually(t, "etcd connected and OK", func() bool {
			c = s.connection(dashboard.EtcdPath)
			return c.Connected && c.State == "OK"
		})
		if c.Name != "etcd" || !slices.Equal(c.Endpoints, srv.Endpoints()) || c.Disabled || c.Error != "" || c.Since == 0 {
			t.Errorf("GET %s = %+v, want etcd at %v, OK since its start, without error", dashboard.EtcdPath, c, srv.Endpoints())
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		eps := []string{"127.0.0.1:1"}
		s := startServer(t, rest.Config{},
			etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: eps, DialTimeout: 200 * time.Millisecond})),
			servicelabel.NewPlugin(), statuscheck.NewPlugin(), dashboard.NewPlugin())
		var c dashboard.Connection
		eventually(t, "etcd in ERROR with its error", func() bool {
			c = s.connection(dashboard.EtcdPath)
			return c.State == "ERROR" && c.Error != "" && c.LastError != ""
		})
		if c.Connected || !slices.Equal(c.Endpoints, eps) || c.LastErrorAt == 0 {
			t.Errorf("GET %s = %+v, want not connected to %v, with when the error was seen", dashboard.EtcdPath, c, eps)
		}
	})

	t.Run("disabled", func(t *testing.T) {
		s := startServer(t, rest.Config{}, etcd.NewPlugin(), dashboard.NewPlugin())
		if c := s.connection(dashboard.EtcdPath); !c.Disabled || c.Connected || len(c.Endpoints) != 0 {
			t.Errorf("GET %s = %+v, want disabled", dashboard.EtcdPath, c)
		}
	})

	t.Run("no etcd", func(t *testing.T) {
		s := startServer(t, rest.Config{}, dashboard.NewPlugin())
		var e map[string]string
		if code := s.json(http.MethodGet, dashboard.EtcdPath, &e); code != http.StatusNotFound || e["error"] == "" {
			t.Errorf("GET %s = %d %v, want 404 with an error", dashboard.EtcdPath, code, e)
		}
	})
}

func TestKafkaPanelShowsTheBrokersStateAndTheGroup(t *testing.T) {
	t.Run("connected", func(t *testing.T) {
		brokers := kafkatest.Start(t, 2, "orders")
		path := filepath.Join(t.TempDir(), "kafka.conf")
		conf := fmt.Sprintf("addrs: [%s]\nhealth-check-interval: 100ms\n", strings.Join(brokers.ListenAddrs(), ", "))
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		s := startServerWith(t, setup{env: map[string]string{"KAFKA_CONFIG": path}},
			kafka.NewPlugin(), servicelabel.NewPlugin(), statuscheck.NewPlugin(), dashboard.NewPlugin())
		var c dashboard.Connection
		eventually(t, "Kafka connected and OK", func() bool {
			c = s.connection(dashboard.KafkaPath)
			return c.Connected && c.State == "OK"
		})
		if c.Name != "kafka" || c.Disabled || c.Group != "dash1" || c.Error != "" {
			t.Errorf("GET %s = %+v, want kafka in group dash1 (the label), without error", dashboard.KafkaPath, c)
		}
	})

	t.Run("disabled without kafka.conf", func(t *testing.T) {
		s := startServer(t, rest.Config{}, kafka.NewPlugin(), dashboard.NewPlugin())
		if c := s.connection(dashboard.KafkaPath); !c.Disabled || c.Connected {
			t.Errorf("GET %s = %+v, want disabled", dashboard.KafkaPath, c)
		}
	})

	t.Run("no Kafka plugin", func(t *testing.T) {
		s := startServer(t, rest.Config{}, dashboard.NewPlugin())
		if code, _, _ := s.do(http.MethodGet, dashboard.KafkaPath); code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", dashboard.KafkaPath, code)
		}
	})
}

func TestVersionComesFromTheStatusWhenTheAgentHasNone(t *testing.T) {
	for _, tc := range []struct {
		name      string
		noVersion bool
		want      [3]string
	}{
		{"agent.Version wins", false, [3]string{"1.2.3", "2025-01-02", "abc123"}},
		{"else the status check's build", true, [3]string{"2.5.0", "2026-01-02", "feedbeef"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServerWith(t, setup{noVersion: tc.noVersion},
				statuscheck.NewPlugin(statuscheck.WithBuildInfo("2.5.0", "2026-01-02", "feedbeef")), dashboard.NewPlugin())
			var p dashboard.Panels
			s.json(http.MethodGet, dashboard.PanelsPath, &p)
			if got := [3]string{p.Agent.Version, p.Agent.BuildDate, p.Agent.Commit}; got != tc.want {
				t.Errorf("GET %s: build %q, want %q", dashboard.PanelsPath, got, tc.want)
			}
		})
	}
}
