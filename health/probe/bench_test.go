package probe_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/servicelabel"
)

// BenchmarkReadinessWhileEtcdIsDown serves /readiness for an agent with 50
// plugins (a large agent) whose etcd has gone away, with the status changing
// between requests in the "changing" case so that the cache is rebuilt and
// the publisher keeps failing. "handler" calls the handler in process;
// "socket" goes through the HTTP server over loopback.
func BenchmarkReadinessWhileEtcdIsDown(b *testing.B) {
	e := startEtcd(b)
	kv := etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: e.ep, DialTimeout: time.Second}))
	s := startServer(b, nil, nil, kv, servicelabel.NewPlugin())
	for i := range 50 {
		_ = s.sc.ReportStateChange(fmt.Sprintf("plugin%02d", i), statuscheck.StateOK, nil)
	}
	e.Stop()
	h := s.http.Handler()
	req := httptest.NewRequest(http.MethodGet, "/readiness", nil)
	for _, changing := range []bool{false, true} {
		name := "steady"
		if changing {
			name = "changing"
		}
		b.Run("handler/"+name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if changing {
					i++
					_ = s.sc.ReportStateChange("plugin07", statuscheck.PluginState(1+i%2), nil)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 && w.Code != 503 {
					b.Fatalf("code %d", w.Code)
				}
			}
		})
	}
	b.Run("socket/steady", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := s.client.Get(s.base + "/readiness")
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
