//go:build unix

package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/plinth-go/plinth/infra/config"
)

// TestConfigFilesThatAreNotRegularOrTooLargeAreRefused: a config path
// pointing at a device, a FIFO, a directory or a huge file fails at once
// with an error that names the file and how it was named, and reads
// (allocates) next to nothing.
func TestConfigFilesThatAreNotRegularOrTooLargeAreRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.conf")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.conf")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(300 << 20); err != nil { // 300 MB, sparse
		t.Fatal(err)
	}
	f.Close()
	justOver := filepath.Join(dir, "over.conf")
	if err := os.WriteFile(justOver, []byte(strings.Repeat("#\n", config.MaxFileSize/2)+"x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path string
		want       error
	}{
		{"/dev/zero", "/dev/zero", config.ErrNotRegular},
		{"/dev/urandom", "/dev/urandom", config.ErrNotRegular},
		{"a FIFO nobody writes to", fifo, config.ErrNotRegular},
		{"a directory", dir, config.ErrNotRegular},
		{"300 MB", huge, config.ErrTooLarge},
		{"one byte over the limit", justOver, config.ErrTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := config.NewSource(nil, func(k string) string {
				if k == "STATUSCHECK_CONFIG" {
					return tt.path
				}
				return ""
			})
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var v struct{}
			found, err := src.ForPlugin("statuscheck").LoadValue(&v)
			runtime.ReadMemStats(&after)
			if found || !errors.Is(err, tt.want) {
				t.Fatalf("LoadValue = %v, %v; want an error wrapping %v", found, err, tt.want)
			}
			for _, part := range []string{tt.path, "statuscheck", "env STATUSCHECK_CONFIG"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not name %q", err, part)
				}
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
				t.Errorf("refusing it allocated %d bytes", grew)
			}
		})
	}
}

func TestAConfigFileOfExactlyTheLimitIsRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "max.conf")
	data := strings.Repeat("#\n", config.MaxFileSize/2) // comments only: valid, empty
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	var v struct{ A int }
	if err := config.LoadFile(path, &v); err != nil {
		t.Fatalf("LoadFile of %d bytes = %v", len(data), err)
	}
	got, err := config.ReadFile(path, 10)
	if !errors.Is(err, config.ErrTooLarge) || got != nil {
		t.Errorf("ReadFile with a 10-byte limit = %d bytes, %v; want ErrTooLarge", len(got), err)
	}
}
