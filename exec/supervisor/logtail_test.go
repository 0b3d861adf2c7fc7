//go:build linux

package supervisor_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/infra/rest"
)

// lineWriter is a program (cat of a FIFO) that writes to its log the
// lines the test gives it.
type lineWriter struct{ fifo *os.File }

func newLineWriter(t *testing.T, dir string) (string, *lineWriter) {
	t.Helper()
	path := filepath.Join(dir, "in")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// Read-write: the open does not wait for cat, and cat sees no end
	// while the test holds it.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return path, &lineWriter{fifo: f}
}

func (w *lineWriter) write(t *testing.T, from, to int) {
	t.Helper()
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "line %03d\n", i)
	}
	if _, err := w.fifo.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
}

func lineRange(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("line %03d", i))
	}
	return out
}

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// awaitTail waits until the tail of n lines ends with want: the agent
// copies the program's output to the file as it comes.
func awaitTail(t *testing.T, url, want string) string {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for {
		code, _, body := get(t, url)
		if code == http.StatusOK && strings.HasSuffix(body, want+"\n") {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s = %d %q, want it to end with %q within %v", url, code, body, want, waitBound)
		}
		time.Sleep(10 * time.Millisecond) // polls a condition; orders nothing
	}
}

// sseLines reads the data of server-sent events, one line each.
func sseLines(body io.Reader) <-chan string {
	ch := make(chan string, 1024)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				ch <- d
			}
		}
	}()
	return ch
}

func expectLines(t *testing.T, ch <-chan string, want []string) {
	t.Helper()
	timeout := time.After(waitBound)
	var got []string
	for len(got) < len(want) {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("the follow ended after %d lines of %d: %v", len(got), len(want), got)
			}
			got = append(got, l)
		case <-timeout:
			t.Fatalf("followed %d lines of %d within %v", len(got), len(want), waitBound)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("followed %v, want %v", got, want)
	}
}

func TestLogTailAndFollowAcrossRotations(t *testing.T) {
	dir := t.TempDir()
	fifo, w := newLineWriter(t, dir)
	logPath := filepath.Join(dir, "writer.log")
	server := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0", WriteTimeout: time.Second}))
	// Lines of 9 bytes: 113 fit in a file of 1KiB.
	r := start(t, writeConf(t, `
programs:
  - name: writer
    executable-path: cat
    executable-args: [%[1]s]
    logfile-path: %[2]s
    logfile-max-bytes: 1KB
    logfile-backups: 20
  - name: quiet
    executable-path: sleep
    executable-args: ["1000"]
`, fifo, logPath), server)
	r.events.next(t, "writer", supervisor.EventTypeStarted)
	base := "http://" + server.Addr().(*net.TCPAddr).String() + supervisor.ProgramsPath

	w.write(t, 0, 400)
	body := awaitTail(t, base+"/writer/log?tail=150", "line 399")
	// 400 lines: three full files of 113, 61 in the current one; 150 lines
	// reach 89 back into writer.log.1.
	if want := strings.Join(lineRange(250, 400), "\n") + "\n"; body != want {
		t.Errorf("tail=150 = %q, want lines 250 to 399", body)
	}
	if _, ctype, body := get(t, base+"/writer/log"); ctype != "text/plain; charset=utf-8" || body != strings.Join(lineRange(300, 400), "\n")+"\n" {
		t.Errorf("default tail = %s %q, want the last 100 lines as text/plain", ctype, body)
	}
	for _, c := range []struct {
		path string
		code int
		msg  string
	}{
		{"/nobody/log", http.StatusNotFound, "unknown program"},
		{"/quiet/log", http.StatusNotFound, "no log file"},
		{"/writer/log?stream=stderr", http.StatusNotFound, "stream=stdout"},
		{"/writer/log?tail=x", http.StatusBadRequest, "tail"},
		{"/writer/log?stream=both", http.StatusBadRequest, "stream"},
	} {
		if code, _, body := get(t, base+c.path); code != c.code || !strings.Contains(body, c.msg) {
			t.Errorf("GET %s = %d %q, want %d mentioning %q", c.path, code, body, c.code, c.msg)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/writer/log?tail=5&follow=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("follow = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := sseLines(resp.Body)
	expectLines(t, lines, lineRange(395, 400))
	// 1000 lines more: about nine rotations while following, several
	// between two looks at the file. The server's write timeout (1s)
	// does not cut the follow.
	for i := 400; i < 1400; i += 100 {
		w.write(t, i, i+100)
	}
	expectLines(t, lines, lineRange(400, 1400))
	cancel()

	// A follow ends when the agent stops, and leaves no goroutine (the
	// leak check of TestMain).
	resp2, err := http.Get(base + "/writer/log?tail=1&follow=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	lines2 := sseLines(resp2.Body)
	expectLines(t, lines2, []string{"line 1399"})
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case l, ok := <-lines2:
		if ok {
			t.Errorf("follow sent %q after the agent stopped", l)
		}
	case <-time.After(waitBound):
		t.Errorf("follow still open %v after the agent stopped", waitBound)
	}
}
