package securitytest

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/logging"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// The meter arbiter of go-metrics, which sarama uses, is a
		// process-wide goroutine started with the first meter and never
		// stopped.
		if err := etcdtest.FindLeaks(goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick")); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// logBuffer collects every record of a registry at trace level.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTraceRegistry returns a registry that writes every level to the
// returned buffer.
func newTraceRegistry() (*logging.Registry, *logBuffer) {
	buf := &logBuffer{}
	return logging.NewRegistry(logging.WithOutput(buf), logging.WithDefaultLevel(logging.TraceLevel)), buf
}

// assertNoSecret fails the test when one of the secrets appears in text.
func assertNoSecret(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s contains the secret %q:\n%s", what, s, text)
		}
	}
}
