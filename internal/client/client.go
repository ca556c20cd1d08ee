// Package client is a typed Go client of groundcrew's JSON API (/api/v1),
// used by the command-line client, the host agent and end-to-end tests.
//
// A Client is safe for concurrent use. Failed requests return an *Error
// carrying the HTTP status and the problem details the server sent (RFC
// 9457), including the fields at fault. The client never logs, and no error
// it returns contains the API token.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// APIPrefix is where the API is mounted on the server.
const APIPrefix = "/api/v1"

// Defaults of a Client; see the options to change them.
const (
	DefaultTimeout      = 60 * time.Second // a whole request, response body included
	DefaultDialTimeout  = 10 * time.Second
	DefaultMaxBodyBytes = 64 << 20 // bound on a response body
)

// Client talks to one groundcrew server with one API token.
type Client struct {
	base      *url.URL // scheme://host[:port][/path], without the API prefix
	token     string
	http      *http.Client
	userAgent string
	maxBody   int64
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through h instead of
// its own HTTP client (whose timeouts then no longer apply).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithTimeout sets the time limit of a whole request (default 60 s).
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.http.Timeout = d } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithMaxBodyBytes bounds response bodies (default 64 MiB).
func WithMaxBodyBytes(n int64) Option { return func(c *Client) { c.maxBody = n } }

// New returns a client of the server at baseURL ("https://ops.example.com";
// a trailing /api/v1 is accepted) that authenticates with token, which may
// be empty for the calls that need none (LoginToken). It fails only for a
// base URL that is not an absolute http(s) URL.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := ParseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: DefaultDialTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = DefaultDialTimeout
	c := &Client{
		base:      u,
		token:     token,
		http:      &http.Client{Timeout: DefaultTimeout, Transport: tr},
		userAgent: "groundcrew-client",
		maxBody:   DefaultMaxBodyBytes,
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// ParseBaseURL checks and normalizes a server URL: an absolute http or
// https URL, without query, fragment, trailing slash or API prefix.
func ParseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http://HOST:PORT or https://HOST", s)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("server URL %q: want only scheme, host and path", s)
	}
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), APIPrefix)
	u.RawPath = ""
	return u, nil
}

// BaseURL returns the server URL the client talks to, without the API
// prefix.
func (c *Client) BaseURL() string { return c.base.String() }

// Error is a request the server refused or failed, with the problem
// details it sent.
type Error struct {
	Status int          // HTTP status
	Title  string       // short summary, e.g. "Unprocessable Entity"
	Detail string       // what went wrong, for people
	Fields []FieldError // the inputs at fault, if the server named them
}

// FieldError is one input the server found at fault.
type FieldError struct {
	Location string // where, e.g. "body.spec.owner" or "query.cursor"
	Message  string
}

// Field returns the location without its "body." prefix: the dotted path
// into the request body ("spec.owner"), or e.g. "query.cursor".
func (f FieldError) Field() string { return strings.TrimPrefix(f.Location, "body.") }

// Error returns the detail, followed by every field error whose message
// the detail does not already say. Values echoed back by the server are
// never included: they may be secrets.
func (e *Error) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Title
	}
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	var parts []string
	for _, f := range e.Fields {
		if f.Message == "" || strings.Contains(msg, f.Message) {
			continue
		}
		if f.Location != "" {
			parts = append(parts, f.Field()+": "+f.Message)
		} else {
			parts = append(parts, f.Message)
		}
	}
	if len(parts) > 0 {
		msg += ": " + strings.Join(parts, "; ")
	}
	return msg
}

// StatusOf returns the HTTP status of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// IsNotFound reports whether err is the server saying 404 Not Found.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsUnauthorized reports whether err is the server refusing the
// credentials (401).
func IsUnauthorized(err error) bool { return StatusOf(err) == http.StatusUnauthorized }

// problem is an RFC 9457 problem details body as huma writes it.
type problem struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Message  string `json:"message"`
		Location string `json:"location"`
	} `json:"errors"`
}

// Do sends a request to the API path (relative to /api/v1, e.g.
// "/services") with query parameters, in encoded as the JSON body when not
// nil, and decodes a JSON response into out when not nil. A status of 400
// or more returns an *Error.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	return c.doAt(ctx, APIPrefix, method, path, query, in, out)
}

// doAt is Do for an API mounted at prefix (the agent protocol has its own).
func (c *Client) doAt(ctx context.Context, prefix, method, path string, query url.Values, in, out any) error {
	u := *c.base
	u.Path = c.base.Path + prefix + path
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err // a *url.Error naming method and URL; never the token
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	if int64(len(data)) > c.maxBody {
		return fmt.Errorf("%s %s: response larger than %d MiB", method, path, c.maxBody>>20)
	}
	if resp.StatusCode >= 400 {
		return responseError(resp, data)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode response: %w", method, path, err)
		}
	}
	return nil
}

func responseError(resp *http.Response, data []byte) *Error {
	e := &Error{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
	var p problem
	ct := resp.Header.Get("Content-Type")
	if strings.Contains(ct, "json") && json.Unmarshal(data, &p) == nil {
		if p.Title != "" {
			e.Title = p.Title
		}
		e.Detail = p.Detail
		for _, f := range p.Errors {
			e.Fields = append(e.Fields, FieldError{Location: f.Location, Message: f.Message})
		}
		return e
	}
	// Not a problem document (a proxy's error page, say): show its start.
	text := strings.TrimSpace(string(data))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	if text != "" && !strings.HasPrefix(text, "<") {
		e.Detail = text
	}
	return e
}
