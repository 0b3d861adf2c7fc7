package dashboard

import (
	"net/http"
	"strconv"
	"time"

	"github.com/plinth-go/plinth/infra/rest"
)

// eventWriteTimeout bounds the write of one event or heartbeat: a client that
// stops reading without closing its connection ends its stream instead of
// holding a handler (and Close) forever.
const eventWriteTimeout = 10 * time.Second

// serveEvents answers GET /events with a text/event-stream: the agent status
// as an event "status" at once and after every change, and a comment every
// heartbeat. It returns when the client leaves, a write fails, the status
// check closes its subscription or the plugin closes.
func (p *Plugin) serveEvents(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		rest.WriteError(w, http.StatusServiceUnavailable, "dashboard: closing")
		return
	}
	p.streams.Add(1)
	p.mu.Unlock()
	defer p.streams.Done()

	// Subscribe before the first snapshot: a change between the two is then
	// seen, at worst as one event too many.
	changed, cancel := p.Status.Subscribe()
	defer cancel()

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// Tell nginx and similar proxies not to buffer the stream.
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	buf := make([]byte, 0, 1024)
	// retry makes browsers reconnect after 2s instead of their default
	// (3s in Chromium), once the agent is back.
	buf = append(buf, "retry: 2000\n"...)
	var last uint64
	send := func() bool {
		s := p.Status.Snapshot()
		if s.Seq == last && len(buf) == 0 {
			return true
		}
		last = s.Seq
		buf = append(buf, "id: "...)
		buf = strconv.AppendUint(buf, s.Seq, 10)
		buf = append(buf, "\nevent: status\ndata: "...)
		buf = s.Agent.AppendJSON(buf) // one line: the JSON has no newline
		buf = append(buf, "\n\n"...)
		return p.flush(rc, w, &buf)
	}
	if !send() {
		return
	}
	tick := time.NewTicker(p.heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-p.ctx.Done():
			return
		case _, ok := <-changed:
			if !ok || !send() {
				return
			}
		case <-tick.C:
			buf = append(buf, ": heartbeat\n\n"...)
			if !p.flush(rc, w, &buf) {
				return
			}
		}
	}
}

// flush writes buf and flushes it to the client within eventWriteTimeout,
// and reports whether the stream can go on.
func (p *Plugin) flush(rc *http.ResponseController, w http.ResponseWriter, buf *[]byte) bool {
	// The server's write timeout, if any, was meant for ordinary answers;
	// each write of the stream gets its own deadline instead. Writers that
	// cannot set one (httptest recorders) just write.
	_ = rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
	_, err := w.Write(*buf)
	*buf = (*buf)[:0]
	if err == nil {
		err = rc.Flush()
	}
	return err == nil
}
