package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
)

// rotatingFile is a log file that never grows past max bytes: a write that
// would take it past max first renames it to path.1 (path.1 to path.2…,
// dropping path.<backups>), and starts a new file. With no backups the
// file starts again empty. So the log takes at most (backups+1)*max bytes.
// Programs that share the file share one rotatingFile; it is safe for
// concurrent use.
type rotatingFile struct {
	path    string
	max     int64
	backups int

	mu   sync.Mutex // guards f and size
	f    *os.File
	size int64
}

func openRotating(path string, max int64, backups int) (*rotatingFile, error) {
	r := &rotatingFile{path: path, max: max, backups: backups}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.size = f, fi.Size()
	return nil
}

// Write appends b, rotating the file as often as needed. A rotation cuts
// b after its last line that fits, else where the file is full.
func (r *rotatingFile) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	written := 0
	for len(b) > 0 {
		if r.f == nil {
			return written, fmt.Errorf("log file %s: closed", r.path)
		}
		room := r.max - r.size
		if room <= 0 {
			if err := r.rotateLocked(); err != nil {
				return written, err
			}
			continue
		}
		n := len(b)
		if int64(n) > room {
			n = int(room)
			// Keep whole lines together when one ends in the room left;
			// a longer line is cut where the file is full.
			if i := bytes.LastIndexByte(b[:n], '\n'); i >= 0 && r.size > 0 {
				n = i + 1
			}
		}
		m, err := r.f.Write(b[:n])
		r.size += int64(m)
		written += m
		if err != nil {
			return written, err
		}
		b = b[n:]
		if len(b) > 0 && int64(n) < room {
			// The rest of the room was left to keep a line whole.
			r.size = r.max
		}
	}
	return written, nil
}

// rotateLocked moves the full file to the backups and opens a new one.
func (r *rotatingFile) rotateLocked() error {
	if err := r.f.Close(); err != nil {
		r.f = nil
		return fmt.Errorf("log file %s: rotate: %w", r.path, err)
	}
	r.f = nil
	if r.backups == 0 {
		if err := os.Truncate(r.path, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("log file %s: rotate: %w", r.path, err)
		}
	} else {
		backup := func(i int) string { return r.path + "." + strconv.Itoa(i) }
		if err := os.Remove(backup(r.backups)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("log file %s: rotate: %w", r.path, err)
		}
		for i := r.backups - 1; i >= 1; i-- {
			if err := os.Rename(backup(i), backup(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("log file %s: rotate: %w", r.path, err)
			}
		}
		if err := os.Rename(r.path, backup(1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("log file %s: rotate: %w", r.path, err)
		}
	}
	if err := r.open(); err != nil {
		return fmt.Errorf("log file %s: rotate: %w", r.path, err)
	}
	return nil
}

// Close closes the file; later writes fail.
func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
