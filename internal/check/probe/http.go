package probe

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// userAgent identifies probes to the servers they check.
const userAgent = "groundcrew-check/1"

var userAgentHeader = []string{userAgent}

const (
	defaultMaxBody      = 1 << 20
	defaultMaxRedirects = 10
)

// transportKey is what distinguishes one HTTP transport from another: the
// TLS configuration. Everything else is per request.
type transportKey struct {
	skipVerify                bool
	caFile, certFile, keyFile string
}

// transport is an HTTP transport with the state of the files its TLS
// configuration was loaded from, so that a renewed certificate is picked up.
type transport struct {
	rt    *http.Transport
	stamp fileStamp
}

// fileStamp identifies the versions of up to three files.
type fileStamp [3]struct{ mod, size int64 }

// stampFiles stats the named files ("" is skipped); errors say which
// setting names the missing file.
func stampFiles(files ...[2]string) (fileStamp, error) {
	var st fileStamp
	for i, f := range files {
		if f[1] == "" {
			continue
		}
		fi, err := os.Stat(f[1])
		if err != nil {
			return st, fmt.Errorf("%s: %w", f[0], err)
		}
		st[i].mod, st[i].size = fi.ModTime().UnixNano(), fi.Size()
	}
	return st, nil
}

// transport returns the shared transport for s's TLS configuration,
// (re)loading the CA bundle and client certificate when their files
// changed.
func (p *Prober) transport(s *HTTPSpec) (*http.Transport, error) {
	key := transportKey{s.TLSSkipVerify, s.CAFile, s.ClientCertFile, s.ClientKeyFile}
	var stamp fileStamp
	if key.caFile != "" || key.certFile != "" || key.keyFile != "" {
		var err error
		stamp, err = stampFiles([2]string{"ca_file", key.caFile}, [2]string{"client certificate", key.certFile}, [2]string{"client key", key.keyFile})
		if err != nil {
			return nil, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.transports[key]
	if old != nil && old.stamp == stamp {
		return old.rt, nil
	}
	cfg := &tls.Config{
		InsecureSkipVerify: key.skipVerify,
		RootCAs:            p.opts.RootCAs,
		NextProtos:         []string{"http/1.1"},
		// Resumption makes a fresh connection to a known server cheap.
		ClientSessionCache: tls.NewLRUClientSessionCache(1024),
		// Classical key exchange only: the hybrid post-quantum one
		// (X25519MLKEM768, Go's default) costs about a third of a fresh
		// handshake's CPU, and a probe's traffic is not worth harvesting.
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384},
	}
	if key.caFile != "" {
		pool, err := p.caPoolLocked(key.caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if key.certFile != "" {
		pair, err := tls.LoadX509KeyPair(key.certFile, key.keyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %s", cleanErr(err))
		}
		// Always present it: the server's list of acceptable CAs is a
		// hint, and a probe should show what the server does with it.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
	}
	rt := &http.Transport{
		Proxy:       nil, // a check probes the server it names, not a proxy
		DialContext: p.dialHTTP,
		DialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return p.dialHTTPS(ctx, addr, cfg)
		},
		MaxIdleConns:           p.opts.MaxIdleConns,
		MaxIdleConnsPerHost:    8,
		IdleConnTimeout:        p.opts.IdleConnTimeout,
		MaxResponseHeaderBytes: 256 << 10,
	}
	if old != nil {
		old.rt.CloseIdleConnections()
	}
	p.transports[key] = &transport{rt: rt, stamp: stamp}
	return rt, nil
}

// httpRunKey carries the *httpRun into the transport's dial functions.
type httpRunKey struct{}

// httpRun is the state of one HTTP probe. The transport dials in its own
// goroutine, hence the mutex.
type httpRun struct {
	ctx      context.Context
	start    time.Time
	deadline time.Time
	spec     *HTTPSpec
	max      int

	mu        sync.Mutex
	step      step
	target    string
	received  int
	redirects int
}

func (r *httpRun) set(st step, target string) {
	r.mu.Lock()
	r.step, r.target = st, target
	r.mu.Unlock()
}

func (r *httpRun) fail(err error) string {
	var pe *probeError
	if errors.As(err, &pe) {
		return pe.msg
	}
	r.mu.Lock()
	st, target, received := r.step, r.target, r.received
	r.mu.Unlock()
	return reason(r.ctx, r.start, st, target, received, err)
}

// checkRedirect applies the redirect policy; its errors end the probe.
func (r *httpRun) checkRedirect(req *http.Request, via []*http.Request) error {
	switch r.spec.Redirects {
	case RedirectsNone:
		return http.ErrUseLastResponse
	case RedirectsSameHost:
		if req.URL.Host != via[0].URL.Host {
			return &probeError{"redirect to another host: " + req.URL.Redacted()}
		}
	}
	next := req.URL.String()
	for _, v := range via {
		if v.URL.String() == next {
			return &probeError{"redirect loop at " + req.URL.Redacted()}
		}
	}
	if len(via) > r.max {
		return &probeError{fmt.Sprintf("stopped after %d redirects", r.max)}
	}
	r.mu.Lock()
	r.redirects = len(via)
	r.mu.Unlock()
	return nil
}

// dialHTTP connects for the transport, within the deadline of the probe
// that asked (the transport itself detaches dials from the request).
func (p *Prober) dialHTTP(ctx context.Context, network, addr string) (net.Conn, error) {
	r, _ := ctx.Value(httpRunKey{}).(*httpRun)
	if r == nil {
		return p.dialer.DialContext(ctx, network, addr)
	}
	r.set(stepConnect, addr)
	ctx, cancel := context.WithDeadline(ctx, r.deadline)
	defer cancel()
	conn, err := p.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, &probeError{reason(ctx, r.start, stepConnect, addr, 0, err)}
	}
	r.set(stepResponse, "")
	return conn, nil
}

// dialHTTPS connects and completes the TLS handshake, so that its errors
// are worded as such.
func (p *Prober) dialHTTPS(ctx context.Context, addr string, cfg *tls.Config) (net.Conn, error) {
	conn, err := p.dialHTTP(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	r, _ := ctx.Value(httpRunKey{}).(*httpRun)
	deadline := time.Now().Add(time.Minute)
	if r != nil {
		r.set(stepTLS, addr)
		deadline = r.deadline
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	c := cfg.Clone()
	c.ServerName, _, _ = net.SplitHostPort(addr)
	tc := tls.Client(conn, c)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		if r != nil {
			return nil, &probeError{reason(ctx, r.start, stepTLS, addr, 0, err)}
		}
		return nil, err
	}
	if r != nil {
		r.set(stepResponse, "")
	}
	return tc, nil
}

func (p *Prober) runHTTP(ctx context.Context, start time.Time, s *HTTPSpec) Result {
	vars := zeroVars(HTTP)
	tr, err := p.transport(s)
	if err != nil {
		return Result{Err: err.Error(), Vars: vars}
	}
	deadline, _ := ctx.Deadline()
	r := &httpRun{ctx: ctx, start: start, deadline: deadline, spec: s, max: s.MaxRedirects, step: stepResponse}
	if r.max == 0 {
		r.max = defaultMaxRedirects
	}
	method := s.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if s.Body != "" {
		body = strings.NewReader(s.Body)
	}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, httpRunKey{}, r), method, s.URL, body)
	if err != nil {
		return Result{Err: "invalid request: " + cleanErr(err), Vars: vars}
	}
	vars["url"] = req.URL.Redacted()
	req.Header["User-Agent"] = userAgentHeader
	for k, v := range s.Headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	client := http.Client{Transport: tr, CheckRedirect: r.checkRedirect}
	resp, err := client.Do(req)
	r.mu.Lock()
	vars["redirects"] = int64(r.redirects)
	r.mu.Unlock()
	if resp != nil {
		p.responseVars(vars, resp)
	}
	if err != nil {
		return Result{Err: r.fail(err), Vars: vars}
	}
	defer resp.Body.Close()

	r.set(stepBody, "")
	limit := s.MaxBodyBytes
	if limit <= 0 {
		limit = defaultMaxBody
	}
	buf, truncated, err := readBody(resp.Body, resp.ContentLength, limit)
	defer putBody(buf)
	if err != nil {
		r.mu.Lock()
		r.received = len(*buf)
		r.mu.Unlock()
		return Result{Err: r.fail(err), Vars: vars}
	}
	vars["body"] = string(*buf)
	vars["body_truncated"] = truncated
	if !truncated {
		vars["json"] = decodeJSON(resp.Header.Get("Content-Type"), *buf)
	}
	return Result{Vars: vars}
}

// responseVars sets the variables that come from the response head.
func (p *Prober) responseVars(vars map[string]any, resp *http.Response) {
	vars["status"] = int64(resp.StatusCode)
	vars["url"] = resp.Request.URL.Redacted()
	h := make(map[string]string, len(resp.Header))
	for k, vs := range resp.Header {
		name, ok := lowerHeaders[k]
		if !ok {
			name = strings.ToLower(k)
		}
		if len(vs) == 1 {
			h[name] = vs[0]
		} else {
			h[name] = strings.Join(vs, ", ")
		}
	}
	vars["headers"] = h
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		vars["cert"] = certVars(resp.TLS.PeerCertificates[0], p.opts.Clock.Now())
	}
}

// lowerHeaders spares the common response headers a lower-casing
// allocation.
var lowerHeaders = func() map[string]string {
	m := map[string]string{}
	for _, h := range []string{
		"Accept-Ranges", "Age", "Cache-Control", "Connection", "Content-Encoding", "Content-Language",
		"Content-Length", "Content-Security-Policy", "Content-Type", "Date", "Etag", "Expires",
		"Keep-Alive", "Last-Modified", "Location", "Server", "Set-Cookie", "Strict-Transport-Security",
		"Transfer-Encoding", "Vary", "Via", "Www-Authenticate", "X-Content-Type-Options",
		"X-Frame-Options", "X-Request-Id", "X-Powered-By", "Retry-After", "Alt-Svc",
	} {
		m[h] = strings.ToLower(h)
	}
	return m
}()

// bodyPool holds body buffers, so that a run allocates only the string
// handed to the conditions.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledBody is the largest buffer kept for reuse.
const maxPooledBody = 1<<20 + 1

// readBody reads up to limit bytes of body, plus one to tell whether
// there is more; it never reads an endless body to the end. The buffer
// goes back with putBody.
func readBody(body io.Reader, length, limit int64) (buf *[]byte, truncated bool, err error) {
	buf = bodyPool.Get().(*[]byte)
	b := (*buf)[:0]
	defer func() { *buf = b }()
	if length > 0 && length <= limit {
		b = slices.Grow(b, int(length)+1)
	}
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, int(min(int64(len(b)), limit+1-int64(len(b)), 1<<20))+512)
		}
		end := min(int64(cap(b)), limit+1)
		n, rerr := body.Read(b[len(b):end])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			b = b[:limit]
			return buf, true, nil
		}
		if rerr == io.EOF {
			return buf, false, nil
		}
		if rerr != nil {
			return buf, false, rerr
		}
	}
}

func putBody(buf *[]byte) {
	if cap(*buf) <= maxPooledBody {
		*buf = (*buf)[:0]
		bodyPool.Put(buf)
	}
}

// decodeJSON returns body decoded as JSON when it is JSON (by content
// type, or by its look when the type says nothing), else nil.
func decodeJSON(contentType string, body []byte) any {
	i := 0
	for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n') {
		i++
	}
	if i == len(body) {
		return nil
	}
	looksJSON := body[i] == '{' || body[i] == '['
	if !looksJSON && !strings.Contains(contentType, "json") {
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil
	}
	return v
}
