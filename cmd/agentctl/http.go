package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxResponse bounds what agentctl reads from the agent, so that a wrong
// port serving something else cannot make it buffer without end.
const maxResponse = 16 << 20

// agentClient talks to the HTTP API of an agent (--host, --http-port,
// --http-basic-auth), every request bounded by --timeout. Commands that
// talk to the agent (log, status) use it.
type agentClient struct {
	base     url.URL
	user     string
	password string
	hasAuth  bool
	timeout  time.Duration
	hc       *http.Client
}

func (g *globalOptions) agentClient() *agentClient {
	// A command sends one request or two: keep-alive would only leave
	// idle connections (and their goroutines) behind.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	scheme := "http"
	if g.tlsConfig != nil {
		scheme = "https"
		tr.TLSClientConfig = g.tlsConfig.Clone()
		// One request needs no HTTP/2, and its connection errors hide the
		// TLS cause ("client conn could not be established").
		tr.ForceAttemptHTTP2 = false
	}
	c := &agentClient{
		base:    url.URL{Scheme: scheme, Host: net.JoinHostPort(g.host, strconv.Itoa(g.httpPort))},
		timeout: g.timeout,
		hc:      &http.Client{Timeout: g.timeout, Transport: tr},
	}
	if g.basicAuth != "" {
		c.user, c.password, _ = strings.Cut(g.basicAuth, ":") // validated by complete
		c.hasAuth = true
	}
	return c
}

// agentResponse is an answer of the agent, whatever its status.
type agentResponse struct {
	Status int
	Body   []byte
}

// url returns the URL of path at the agent. path is escaped, as
// url.PathEscape escapes each segment, and may end with a query.
func (c *agentClient) url(path string) (url.URL, error) {
	u := c.base
	path, u.RawQuery, _ = strings.Cut(path, "?")
	p, err := url.PathUnescape(path)
	if err != nil {
		return u, err
	}
	u.Path, u.RawPath = p, path
	return u, nil
}

// do sends a request and returns the answer. path is escaped, as
// url.PathEscape escapes each segment, and may end with a query. Only a
// failure to get an answer is an error; an unreachable agent or a timeout
// is an unavailableError naming the URL and the timeout.
func (c *agentClient) do(ctx context.Context, method, path string, body io.Reader) (*agentResponse, error) {
	u, err := c.url(path)
	if err != nil {
		return nil, fmt.Errorf("agent: %s %s: %w", method, path, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("agent: %s %s: %w", method, u.String(), err)
	}
	if c.hasAuth {
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.requestError(ctx, method, u.String(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("agent: %s %s: read the answer: %w", method, u.String(), err)
	}
	return &agentResponse{Status: resp.StatusCode, Body: b}, nil
}

// requestError describes a request to the agent at u that got no answer:
// the caller's context ended, a TLS setup to fix, or an unavailableError
// for an agent that refused the connection or did not answer in time.
func (c *agentClient) requestError(ctx context.Context, method, u string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("agent: %s %s: %w", method, u, ctx.Err())
	}
	if isTLSError(err) {
		return fmt.Errorf("agent: %s %s: TLS handshake failed: %v (check --http-ca-file, --http-cert-file and --http-key-file)",
			method, u, rootCause(err))
	}
	if isConnRefused(err) {
		// Nothing listens there: say so now, not as a timeout.
		return unavailableError{fmt.Errorf("cannot reach the agent at %s: connection refused", c.base.String())}
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return unavailableError{fmt.Errorf("agent: %s %s: no answer within %v: %v", method, u, c.timeout, rootCause(err))}
	}
	return fmt.Errorf("agent: %s %s: %w", method, u, err)
}

// agentStream is an answer whose body does not end by itself
// (text/event-stream). Close it to end the request.
type agentStream struct {
	Body   io.Reader
	close  func()
	closed bool
}

// Close ends the request and releases its connection.
func (s *agentStream) Close() {
	if !s.closed {
		s.closed = true
		s.close()
	}
}

// stream GETs path with the Accept header accept, and returns the body of
// a 200 answer unread, as a stream; any other answer is read whole and
// returned as an agentResponse. --timeout bounds the connection and the
// wait for the answer's headers, not the stream, which lasts until ctx
// ends or the agent closes it.
func (c *agentClient) stream(ctx context.Context, path, accept string) (*agentStream, *agentResponse, error) {
	u, err := c.url(path)
	if err != nil {
		return nil, nil, fmt.Errorf("agent: GET %s: %w", path, err)
	}
	sctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("agent: GET %s: %w", u.String(), err)
	}
	req.Header.Set("Accept", accept)
	if c.hasAuth {
		req.SetBasicAuth(c.user, c.password)
	}
	// The client of the other commands bounds the whole exchange, body
	// included; here only the wait for the headers is bounded.
	timer := time.AfterFunc(c.timeout, cancel)
	resp, err := (&http.Client{Transport: c.hc.Transport}).Do(req)
	if !timer.Stop() && err == nil {
		// The headers came just as the time ran out: the request is
		// cancelled all the same.
		resp.Body.Close()
		err = context.DeadlineExceeded
	}
	if err != nil {
		cancel()
		if ctx.Err() == nil && sctx.Err() != nil {
			err = fmt.Errorf("%w: %w", context.DeadlineExceeded, rootCause(err))
		}
		return nil, nil, c.requestError(ctx, http.MethodGet, u.String(), err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		if err != nil {
			return nil, nil, fmt.Errorf("agent: GET %s: read the answer: %w", u.String(), err)
		}
		return nil, &agentResponse{Status: resp.StatusCode, Body: b}, nil
	}
	return &agentStream{Body: resp.Body, close: func() { cancel(); resp.Body.Close() }}, nil, nil
}

// getJSON GETs path and decodes a 2xx JSON answer into out. Any other
// status is an error quoting the start of the body.
func (c *agentClient) getJSON(ctx context.Context, path string, out any) error {
	resp, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if resp.Status < 200 || resp.Status > 299 {
		return resp.error(http.MethodGet, path)
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("agent: GET %s: decode the answer: %w", path, err)
	}
	return nil
}

// message returns what the agent said in an error answer: the "error"
// field of a JSON body {"error": "..."}, which Plinth's handlers send, or
// else the start of the body. ok is false when the body is not such JSON.
func (r *agentResponse) message() (msg string, ok bool) {
	var body struct {
		Error *string `json:"error"`
	}
	if json.Unmarshal(r.Body, &body) == nil && body.Error != nil {
		return *body.Error, true
	}
	return snippet(r.Body), false
}

// statusError is an answer of the agent with an unexpected status.
type statusError struct {
	method, path string
	status       int
	msg          string // what the agent said, if anything
}

func (e *statusError) Error() string {
	s := fmt.Sprintf("agent: %s %s: %d %s", e.method, e.path, e.status, http.StatusText(e.status))
	if e.msg != "" {
		s += ": " + e.msg
	}
	switch e.status {
	case http.StatusUnauthorized, http.StatusForbidden:
		s += " (check --http-basic-auth)"
	}
	return s
}

// error describes an answer with an unexpected status: the status, what
// the agent said and, for the statuses an operator can fix, how.
func (r *agentResponse) error(method, path string) error {
	msg, _ := r.message()
	return &statusError{method: method, path: path, status: r.Status, msg: msg}
}

// snippet returns the first line of b, shortened, for error messages.
func snippet(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// isTLSError reports whether err is a failed TLS handshake: a certificate
// the client does not trust, or an alert from the agent (no or a wrong
// client certificate, no common version). It is the operator's setup to fix,
// not an unavailable agent.
func isTLSError(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		alert     tls.AlertError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		header    tls.RecordHeaderError
		op        *net.OpError
	)
	// crypto/tls reports an alert from the peer as a net.OpError with the op
	// "remote error"; the alert type itself is unexported.
	remoteAlert := errors.As(err, &op) && op.Op == "remote error"
	return remoteAlert || errors.As(err, &verify) || errors.As(err, &alert) || errors.As(err, &unknownCA) ||
		errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &header)
}

// rootCause drops the wrapping of url.Error, whose message repeats the URL.
func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
