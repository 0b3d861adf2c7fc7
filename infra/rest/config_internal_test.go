package rest

import (
	"testing"
	"time"
)

func TestZeroConfigGetsSafeDefaults(t *testing.T) {
	got := Config{}.withDefaults()
	want := Config{Endpoint: "0.0.0.0:9191", ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	if got.Endpoint != want.Endpoint || got.ReadHeaderTimeout != want.ReadHeaderTimeout || got.IdleTimeout != want.IdleTimeout {
		t.Errorf("Config{}.withDefaults() = %+v, want %+v", got, want)
	}
	if err := got.validate(); err != nil {
		t.Errorf("validate() = %v for the zero config", err)
	}
}

func TestNegativeTimeoutsTurnDefaultsOff(t *testing.T) {
	got := Config{ReadHeaderTimeout: -1, IdleTimeout: -1}.withDefaults()
	if got.ReadHeaderTimeout != -1 || got.IdleTimeout != -1 {
		t.Errorf("withDefaults() = %+v, want negative timeouts kept (net/http reads them as none)", got)
	}
}

func TestTimeoutsReachTheServer(t *testing.T) {
	p := NewPlugin(UseConf(Config{
		Endpoint: "127.0.0.1:0", ReadTimeout: time.Second, WriteTimeout: 2 * time.Second, MaxHeaderBytes: 4096,
	}))
	if err := p.Init(); err != nil {
		t.Fatal(err)
	}
	if err := p.AfterInit(); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.mu.Lock()
	srv := p.srv
	p.mu.Unlock()
	// read-timeout bounds the body, from the handler's start: the guard
	// sets it, not the server (whose ReadTimeout would also cut streams).
	if g := p.guard.Load(); g == nil || g.bodyTimeout != time.Second || g.maxBody != DefaultMaxBodyBytes {
		t.Errorf("guard = %+v, want body timeout 1s and the default body limit", g)
	}
	if srv.ReadTimeout != 0 || srv.WriteTimeout != 2*time.Second || srv.MaxHeaderBytes != 4096 ||
		srv.ReadHeaderTimeout != DefaultReadHeaderTimeout || srv.IdleTimeout != DefaultIdleTimeout {
		t.Errorf("server timeouts = read %v, write %v, header %v, idle %v, max header %d",
			srv.ReadTimeout, srv.WriteTimeout, srv.ReadHeaderTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
	}
}
