package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxFileSize is the largest config file the package reads, 1 MiB: far
// more than any plugin's configuration, and little enough that a path
// pointing at the wrong file (a log, a disk image, /dev/zero) fails at once
// instead of filling memory. Larger data belongs in the key-value store.
const MaxFileSize = 1 << 20

// ErrNotRegular is wrapped by the errors of ReadFile for a path that is not
// a regular file: a directory, a FIFO (whose read would block until some
// writer came), a device or a socket.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by the errors of ReadFile for a file above its
// size limit.
var ErrTooLarge = errors.New("file too large")

// ReadFile reads the regular file at path, of at most limit bytes (0 for
// MaxFileSize). Anything else is an error that names the file: a path that
// is not a regular file (ErrNotRegular) is refused without opening it for
// reading, and a file above the limit (ErrTooLarge) is refused after
// reading at most limit+1 bytes, however large it is or claims to be. A
// missing file gives an error wrapping fs.ErrNotExist. Plugins that read
// files of their own (templates, programs' confs) use it too.
func ReadFile(path string, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = MaxFileSize
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, describeMode(st.Mode()))
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %w: %d bytes, the limit is %d", path, ErrTooLarge, st.Size(), limit)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The file may have been replaced or grown since the Stat: check again
	// what was opened, and never read past the limit.
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, describeMode(st.Mode()))
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %w: more than %d bytes", path, ErrTooLarge, limit)
	}
	return data, nil
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "mode " + m.String()
}
