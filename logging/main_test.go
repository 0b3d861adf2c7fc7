package logging_test

import (
	"bytes"
	"os"
	"sync"
	"testing"

	"github.com/plinth-go/plinth/logging"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The child process of TestFatalLogsThenExits runs here, before any test.
	if msg, ok := os.LookupEnv(fatalChildEnv); ok {
		logging.NewRegistry(logging.WithOutput(os.Stdout), logging.WithoutTimestamps()).
			Get("child").Fatal(msg)
		return
	}
	goleak.VerifyTestMain(m)
}

// syncBuffer is a bytes.Buffer that tests may read while loggers write.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

func newTestRegistry(opts ...logging.RegistryOption) (*logging.Registry, *syncBuffer) {
	var buf syncBuffer
	opts = append([]logging.RegistryOption{logging.WithOutput(&buf), logging.WithoutTimestamps()}, opts...)
	return logging.NewRegistry(opts...), &buf
}
