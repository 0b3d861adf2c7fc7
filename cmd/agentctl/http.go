package main

import (
	"context"
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
	c := &agentClient{
		base:    url.URL{Scheme: "http", Host: net.JoinHostPort(g.host, strconv.Itoa(g.httpPort))},
		timeout: g.timeout,
		hc:      &http.Client{Timeout: g.timeout},
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

// do sends a request and returns the answer. Only a failure to get an
// answer is an error; an unreachable agent or a timeout is an
// unavailableError naming the URL and the timeout.
func (c *agentClient) do(ctx context.Context, method, path string, body io.Reader) (*agentResponse, error) {
	u := c.base
	u.Path = path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("agent: %s %s: %w", method, u.String(), err)
	}
	if c.hasAuth {
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("agent: %s %s: %w", method, u.String(), ctx.Err())
		}
		var netErr net.Error
		if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
			return nil, unavailableError{fmt.Errorf("agent: %s %s: no answer within %v: %v", method, u.String(), c.timeout, rootCause(err))}
		}
		return nil, fmt.Errorf("agent: %s %s: %w", method, u.String(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("agent: %s %s: read the answer: %w", method, u.String(), err)
	}
	return &agentResponse{Status: resp.StatusCode, Body: b}, nil
}

// getJSON GETs path and decodes a 2xx JSON answer into out. Any other
// status is an error quoting the start of the body.
func (c *agentClient) getJSON(ctx context.Context, path string, out any) error {
	resp, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if resp.Status < 200 || resp.Status > 299 {
		return fmt.Errorf("agent: GET %s: %d %s: %s", path, resp.Status, http.StatusText(resp.Status), snippet(resp.Body))
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("agent: GET %s: decode the answer: %w", path, err)
	}
	return nil
}

// snippet returns the first line of b, shortened, for error messages.
func snippet(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// rootCause drops the wrapping of url.Error, whose message repeats the URL.
func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
