package supervisor

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strconv"
	"time"
)

// Bounds of GET /supervisor/programs/{name}/log.
const (
	// DefaultLogTail is how many lines are served without tail=N.
	DefaultLogTail = 100
	// MaxLogTail caps tail=N.
	MaxLogTail = 10000
	// maxTailBytes bounds what a tail reads back from the end of the
	// files, so that a log of very long lines cannot make a request hold
	// hundreds of megabytes: the tail then has fewer lines.
	maxTailBytes = 16 << 20
	// followPoll is how often a follow checks the file for new lines and
	// for a rotation. A program may write to the file itself
	// (logfile-max-bytes: 0), so there is no write to be told of.
	followPoll = 100 * time.Millisecond
	// maxBackupScan bounds the backups a follow looks through to find
	// where its file was rotated to (logfile-backups is at most 1000).
	maxBackupScan = maxLogfileBackups
	// maxFollowLine bounds a line a follow holds while waiting for its
	// end: a longer one is sent in pieces of this size.
	maxFollowLine = 1 << 20
)

// tailLines returns the last n lines of the log file at path, reaching
// into its newest backup (path.1) when the file holds fewer than n lines.
// A missing file holds no lines.
func tailLines(path string, n int) ([][]byte, error) {
	return tailLinesOf(path, nil, 0, n)
}

// tailLinesOf is tailLines reading the file from f, open on path, up to
// end, rather than from the end of path: a follow then goes on from end.
// f may be nil.
func tailLinesOf(path string, f *os.File, end int64, n int) ([][]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	var lines [][]byte
	var err error
	if f != nil {
		lines, _, err = lastLinesAt(f, end, n, maxTailBytes)
	} else {
		lines, _, err = lastLines(path, n, maxTailBytes)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if len(lines) < n {
		need := n - len(lines)
		older, whole, err := lastLines(path+".1", need+1, maxTailBytes)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if !whole && len(older) > 0 && len(lines) > 0 {
			// The rotation cut a line: its start ends the backup.
			last := len(older) - 1
			lines[0] = append(slices.Clip(older[last]), lines[0]...)
			older = older[:last]
		}
		older = older[max(0, len(older)-need):]
		lines = append(older, lines...)
	}
	return lines, nil
}

// lastLines reads the file at path backwards, at most limit bytes, and
// returns its last n lines without their newlines, and whether the file
// ends with a newline. A last line without a newline counts.
func lastLines(path string, n, limit int) ([][]byte, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, true, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, true, err
	}
	return lastLinesAt(f, fi.Size(), n, limit)
}

// lastLinesAt is lastLines reading f up to end.
func lastLinesAt(f *os.File, end int64, n, limit int) ([][]byte, bool, error) {
	const chunk = 64 << 10
	var buf []byte
	off := end
	for off > 0 && len(buf) < limit {
		size := min(int64(chunk), off)
		off -= size
		b := make([]byte, size)
		if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, true, err
		}
		buf = append(b, buf...)
		// n lines need n newlines before the last line's start, one of
		// which may end the file.
		if bytes.Count(bytes.TrimSuffix(buf, []byte("\n")), []byte("\n")) >= n {
			break
		}
	}
	whole := len(buf) == 0 || buf[len(buf)-1] == '\n'
	body := bytes.TrimSuffix(buf, []byte("\n"))
	if len(body) == 0 {
		return nil, whole, nil
	}
	lines := bytes.Split(body, []byte("\n"))
	if off > 0 && len(lines) > 0 {
		// The first line read may be the end of a longer one.
		lines = lines[1:]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, whole, nil
}

// follower reads the lines appended to a log file, across its rotations.
type follower struct {
	path string
	f    *os.File
	fi   os.FileInfo // of f
	off  int64       // read up to here in f
	rest []byte      // a line begun and not yet ended
}

// openFollower starts following the file at path from its end. A file
// that does not exist yet is followed from its creation.
func openFollower(path string) *follower {
	fl := &follower{path: path}
	if f, err := os.Open(path); err == nil {
		if fi, err := f.Stat(); err == nil {
			fl.f, fl.fi, fl.off = f, fi, fi.Size()
		} else {
			f.Close()
		}
	}
	return fl
}

func (fl *follower) close() {
	if fl.f != nil {
		fl.f.Close()
		fl.f = nil
	}
}

// poll calls emit with each whole line appended since the last poll, in
// order, following the file through rotations: when path is a new file,
// the rest of the old one is read, then the backups written since (the
// old file moved to path.k: path.k-1 down to path.1), then the new file
// from its start. A file cut back to empty (logfile-backups: 0) is read
// again from its start.
func (fl *follower) poll(emit func([]byte) error) error {
	if fl.f == nil {
		f, err := os.Open(fl.path)
		if err != nil {
			return nil // not there yet
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil
		}
		fl.f, fl.fi, fl.off = f, fi, 0
	}
	if err := fl.readFrom(fl.f, &fl.off, emit); err != nil {
		return err
	}
	cur, err := os.Stat(fl.path)
	switch {
	case err != nil:
		return nil // between a rename and the new file: the next poll
	case os.SameFile(cur, fl.fi):
		if cur.Size() < fl.off {
			fl.off = 0 // truncated in place
			fl.rest = nil
		}
		return nil
	}
	// Rotated: what the writer wrote before the rename is in the old file.
	if err := fl.readFrom(fl.f, &fl.off, emit); err != nil {
		return err
	}
	k := 0
	for i := 1; i <= maxBackupScan; i++ {
		fi, err := os.Stat(fl.path + "." + strconv.Itoa(i))
		if err != nil {
			break
		}
		if os.SameFile(fi, fl.fi) {
			k = i
			break
		}
	}
	for i := k - 1; i >= 1; i-- {
		if f, err := os.Open(fl.path + "." + strconv.Itoa(i)); err == nil {
			var off int64
			err := fl.readFrom(f, &off, emit)
			f.Close()
			if err != nil {
				return err
			}
		}
	}
	fl.close()
	fl.off = 0
	return fl.poll(emit)
}

// readFrom emits the whole lines of f from *off to its end, keeping a
// line without its newline for later.
func (fl *follower) readFrom(f *os.File, off *int64, emit func([]byte) error) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := f.ReadAt(buf, *off)
		*off += int64(n)
		data := buf[:n]
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				fl.rest = append(fl.rest, data...)
				if len(fl.rest) >= maxFollowLine {
					// A line this long is served in pieces.
					line := fl.rest
					fl.rest = nil
					if err := emit(line); err != nil {
						return err
					}
				}
				break
			}
			line := data[:i]
			if len(fl.rest) > 0 {
				line = append(fl.rest, line...)
				fl.rest = nil
			}
			if err := emit(line); err != nil {
				return err
			}
			data = data[i+1:]
		}
		if err != nil || n == 0 {
			if errors.Is(err, io.EOF) || n == 0 {
				return nil
			}
			return err
		}
	}
}

// follow emits the last tail lines of the file at path (see tailLines),
// then the lines appended to it, until ctx ends or stop is closed; it
// checks the file every followPoll.
func follow(ctx context.Context, stop <-chan struct{}, path string, tail int, emit func([]byte) error) error {
	fl := openFollower(path)
	defer fl.close()
	lines, err := tailLinesOf(path, fl.f, fl.off, tail)
	if err != nil {
		return err
	}
	for _, l := range lines {
		if err := emit(l); err != nil {
			return err
		}
	}
	t := time.NewTicker(followPoll)
	defer t.Stop()
	for {
		if err := fl.poll(emit); err != nil {
			return err
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil
		case <-stop:
			return nil
		}
	}
}
