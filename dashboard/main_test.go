package dashboard_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// FindLeaks is goleak.Find that first lets etcd's peer connections
		// end; chromium's connections and chromedp's goroutines must be gone
		// too once the browser test cancelled its contexts.
		err := etcdtest.FindLeaks(
			// The meter arbiter of go-metrics, which the Kafka client uses,
			// is a process-wide goroutine started with the first meter and
			// never stopped.
			goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}
