package main

import "testing"

func TestHintNamesTheAddressesInUse(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    hint
		want string
	}{
		{"embedded etcd on a moved port, HTTP on another port",
			hint{label: "vpp1", prefix: "/vnf-agent/vpp1/", httpHost: "127.0.0.1", httpPort: 9292,
				etcd: []string{"127.0.0.1:22379"}, embedded: true},
			`demo agent "vpp1" ready with embedded etcd 127.0.0.1:22379. Try:
  open http://127.0.0.1:9292/ui/
  curl http://127.0.0.1:9292/liveness
  curl http://127.0.0.1:9292/readiness
  curl http://127.0.0.1:9292/log/list
  go run ./cmd/agentctl -H 127.0.0.1 --http-port 9292 status
  go run ./cmd/agentctl --etcd-endpoints 127.0.0.1:22379 kvdb get /vnf-agent/vpp1/check/status/v1/agent`},
		{"etcd cluster of ETCD_ENDPOINTS, another label, HTTP on one IPv6 address",
			hint{label: "edge7", prefix: "/vnf-agent/edge7/", httpHost: "::1", httpPort: 8080,
				etcd: []string{"10.0.0.1:2379", "10.0.0.2:2379"}},
			`demo agent "edge7" ready with etcd 10.0.0.1:2379,10.0.0.2:2379. Try:
  open http://[::1]:8080/ui/
  curl http://[::1]:8080/liveness
  curl http://[::1]:8080/readiness
  curl http://[::1]:8080/log/list
  go run ./cmd/agentctl -H ::1 --http-port 8080 status
  go run ./cmd/agentctl --etcd-endpoints 10.0.0.1:2379,10.0.0.2:2379 kvdb get /vnf-agent/edge7/check/status/v1/agent`},
		{"etcd off: no kvdb command",
			hint{label: "vpp1", prefix: "/vnf-agent/vpp1/", httpHost: "127.0.0.1", httpPort: 9191},
			`demo agent "vpp1" ready without etcd. Try:
  open http://127.0.0.1:9191/ui/
  curl http://127.0.0.1:9191/liveness
  curl http://127.0.0.1:9191/readiness
  curl http://127.0.0.1:9191/log/list
  go run ./cmd/agentctl -H 127.0.0.1 --http-port 9191 status`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.h.String(); got != tc.want {
				t.Errorf("hint:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
