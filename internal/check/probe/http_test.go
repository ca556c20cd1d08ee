package probe

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func httpSpec(url string) Spec { return Spec{Type: HTTP, HTTP: &HTTPSpec{URL: url}} }

func TestHTTP_Vars(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("X-Test", "a")
		w.Header().Add("X-Test", "b")
		w.WriteHeader(201)
		io.WriteString(w, `{"status": "ok", "items": [1, 2], "nested": {"on": true}}`)
	}))
	defer srv.Close()
	res := run(t, nil, httpSpec(srv.URL+"/health"), 2*time.Second)
	wantOK(t, res)
	assertCond(t, HTTP, res,
		`status == 201`,
		`body.startsWith("{\"status\"")`,
		`!body_truncated`,
		`headers["content-type"] == "application/json"`,
		`headers["x-test"] == "a, b"`,
		`json.status == "ok" && json.items[1] == 2 && json.nested.on`,
		`url.endsWith("/health")`,
		`redirects == 0`,
		`cert == null`,
		`duration < duration("2s")`,
		`status < 400`, // the default
	)
}

func TestHTTP_NotJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(503)
		io.WriteString(w, "down for maintenance")
	}))
	defer srv.Close()
	res := run(t, nil, httpSpec(srv.URL), 2*time.Second)
	wantOK(t, res)
	assertCond(t, HTTP, res, `json == null`, `status == 503`, `body.contains("maintenance")`, `!(status < 400)`)
	// A condition over json on a non-JSON body fails with an error, as a
	// check treats a failing condition.
	if _, err := evalErr(t, HTTP, res, `json.status == "ok"`); err == nil {
		t.Error("json.status on a null json evaluated without error")
	}
}

func TestHTTP_RequestFromSpec(t *testing.T) {
	type seen struct{ method, ua, host, auth, body string }
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.UserAgent(), r.Host, r.Header.Get("Authorization"), string(b)}
	}))
	defer srv.Close()
	spec := httpSpec(srv.URL)
	spec.HTTP.Method = "POST"
	spec.HTTP.Body = `{"ping": 1}`
	spec.HTTP.Headers = map[string]string{"Authorization": "Bearer t", "Host": "api.example.test"}
	wantOK(t, run(t, nil, spec, 2*time.Second))
	want := seen{"POST", "groundcrew-check/1", "api.example.test", "Bearer t", `{"ping": 1}`}
	if s := <-got; s != want {
		t.Errorf("server saw %+v, want %+v", s, want)
	}
}

func TestHTTP_Redirects(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "elsewhere") }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/hop/"):
			var n int
			fmt.Sscanf(r.URL.Path, "/hop/%d", &n)
			if n == 0 {
				io.WriteString(w, "arrived")
				return
			}
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
		case r.URL.Path == "/a":
			http.Redirect(w, r, "/b", http.StatusMovedPermanently)
		case r.URL.Path == "/b":
			http.Redirect(w, r, "/a", http.StatusMovedPermanently)
		case r.URL.Path == "/away":
			http.Redirect(w, r, other.URL+"/x", http.StatusFound)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name, path, policy string
		max                int
		err                string   // regexp; "" for success
		conds              []string // when successful
	}{
		{"follow", "/hop/3", "", 0, "", []string{`status == 200`, `redirects == 3`, `url.endsWith("/hop/0")`, `body == "arrived"`}},
		{"follow up to the max", "/hop/10", RedirectsFollow, 0, "", []string{`redirects == 10`}},
		{"none", "/hop/3", RedirectsNone, 0, "", []string{`status == 302`, `redirects == 0`, `headers["location"] == "/hop/2"`}},
		{"loop", "/a", "", 0, `^redirect loop at http://127\.0\.0\.1:\d+/a$`, nil},
		{"past the max", "/hop/5", "", 2, `^stopped after 2 redirects$`, nil},
		{"past the default max", "/hop/11", "", 0, `^stopped after 10 redirects$`, nil},
		{"same host", "/hop/2", RedirectsSameHost, 0, "", []string{`redirects == 2`}},
		{"same host refuses another", "/away", RedirectsSameHost, 0, `^redirect to another host: http://127\.0\.0\.1:\d+/x$`, nil},
		{"follow to another host", "/away", "", 0, "", []string{`body == "elsewhere"`, `redirects == 1`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := httpSpec(srv.URL + tc.path)
			spec.HTTP.Redirects, spec.HTTP.MaxRedirects = tc.policy, tc.max
			res := run(t, nil, spec, 2*time.Second)
			if tc.err != "" {
				wantErr(t, res, tc.err)
				return
			}
			wantOK(t, res)
			assertCond(t, HTTP, res, tc.conds...)
		})
	}
}

func TestHTTP_BodyLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/exact" {
			io.WriteString(w, strings.Repeat("x", 1000))
			return
		}
		chunk := []byte(strings.Repeat("y", 4096))
		for { // endless, until the client goes
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()

	spec := httpSpec(srv.URL + "/endless")
	spec.HTTP.MaxBodyBytes = 10000
	res := run(t, nil, spec, 2*time.Second)
	wantOK(t, res)
	assertCond(t, HTTP, res, `body_truncated`, `size(body) == 10000`, `json == null`)

	res = run(t, nil, httpSpec(srv.URL+"/endless"), 2*time.Second) // the default limit
	wantOK(t, res)
	assertCond(t, HTTP, res, `body_truncated`, `size(body) == 1048576`)

	spec = httpSpec(srv.URL + "/exact")
	spec.HTTP.MaxBodyBytes = 1000
	res = run(t, nil, spec, 2*time.Second)
	wantOK(t, res)
	assertCond(t, HTTP, res, `!body_truncated`, `size(body) == 1000`)
}

func TestHTTP_Timeouts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		switch r.URL.Path {
		case "/trickle":
			w.Header().Set("Content-Length", "100000")
			for i := 0; ; i++ {
				w.Write([]byte("z"))
				w.(http.Flusher).Flush()
				select {
				case <-ctx.Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		case "/slow":
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	}))
	defer srv.Close()
	const timeout = 400 * time.Millisecond

	res := run(t, nil, httpSpec(srv.URL+"/trickle"), timeout)
	wantErr(t, res, `^timeout after 400ms while reading the body \([1-9]\d* bytes? received\)$`)
	within(t, res, timeout)

	res = run(t, nil, httpSpec(srv.URL+"/slow"), timeout)
	wantErr(t, res, `^timeout after 400ms while waiting for the response$`)
	within(t, res, timeout)
	assertCond(t, HTTP, res, `status == 0`)
}

func TestHTTP_ConnectErrors(t *testing.T) {
	dns := startDNS(t)
	p := NewProber(Options{HostResolver: dns.netResolver()})
	defer p.Close()
	addr := closedPort(t)

	res := run(t, p, httpSpec("http://"+addr+"/"), 2*time.Second)
	wantErr(t, res, `^connect `+addr+`: connection refused$`)

	res = run(t, p, httpSpec("http://nosuch.example.test/"), 2*time.Second)
	wantErr(t, res, `^resolve nosuch.example.test: no such host$`)

	// A server that answers garbage.
	bad := listen(t, func(c net.Conn) { c.Read(make([]byte, 4096)); io.WriteString(c, "SSH-2.0-not-http\r\n") })
	res = run(t, p, httpSpec("http://"+bad+"/"), 2*time.Second)
	wantErr(t, res, `^HTTP exchange: malformed HTTP response "SSH-2.0-not-http"$`)

	// A server that speaks first, as SSH does: which of the two the
	// transport sees depends on who is faster.
	first := listen(t, func(c net.Conn) { io.WriteString(c, "SSH-2.0-not-http\r\n"); c.Read(make([]byte, 4096)) })
	res = run(t, p, httpSpec("http://"+first+"/"), 2*time.Second)
	wantErr(t, res, `^HTTP exchange: (malformed HTTP response|the server spoke before the request \(not an HTTP server\?\)$)`)

	// A server that closes without answering.
	closer := listen(t, func(c net.Conn) { c.Read(make([]byte, 1024)) })
	res = run(t, p, httpSpec("http://"+closer+"/"), 2*time.Second)
	wantErr(t, res, `^HTTP exchange: connection closed by the peer$`)
}

func TestHTTP_KeepAlive(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	p := NewProber(Options{})
	defer p.Close()
	for range 5 {
		wantOK(t, run(t, p, httpSpec(srv.URL), 2*time.Second))
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 runs opened %d connections, want 1 (keep-alive)", n)
	}
}

// tlsServer starts an HTTPS server with cert; clientCAs, when set, makes
// it require a client certificate they signed.
func tlsServer(t *testing.T, cert tls.Certificate, clientCAs *testCA) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := ""
		if len(r.TLS.PeerCertificates) > 0 {
			name = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		io.WriteString(w, "hello "+name)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	if clientCAs != nil {
		srv.TLS.ClientCAs = clientCAs.pool
		srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTP_TLS(t *testing.T) {
	ca := newCA(t)
	srv := tlsServer(t, ca.issue(t, certOpts{notAfter: time.Now().Add(20 * 24 * time.Hour)}), nil)

	res := run(t, nil, httpSpec(srv.URL), 2*time.Second)
	wantErr(t, res, `^TLS handshake: x509: certificate signed by unknown authority`)

	spec := httpSpec(srv.URL)
	spec.HTTP.TLSSkipVerify = true
	res = run(t, nil, spec, 2*time.Second)
	wantOK(t, res)
	assertCond(t, HTTP, res,
		`status == 200`,
		`cert.expires_in > duration("240h") && cert.expires_in < duration("481h")`,
		`cert.not_after > timestamp("2020-01-01T00:00:00Z")`,
		`cert.subject == "CN=localhost"`,
		`cert.issuer == "CN=groundcrew test CA"`,
		`"localhost" in cert.dns_names`,
	)

	spec = httpSpec(srv.URL)
	spec.HTTP.CAFile = ca.pemFile
	wantOK(t, run(t, nil, spec, 2*time.Second))

	wantOK(t, run(t, NewProber(Options{RootCAs: ca.pool}), httpSpec(srv.URL), 2*time.Second))

	spec.HTTP.CAFile = "/nonexistent/ca.pem"
	wantErr(t, run(t, nil, spec, 2*time.Second), `^ca_file: stat /nonexistent/ca.pem: no such file or directory$`)
}

func TestHTTP_ClientCertificate(t *testing.T) {
	ca := newCA(t)
	srv := tlsServer(t, ca.issue(t, certOpts{}), ca)
	p := NewProber(Options{RootCAs: ca.pool})
	defer p.Close()

	res := run(t, p, httpSpec(srv.URL), 2*time.Second)
	wantErr(t, res, `certificate required`)

	// A certificate from another CA is refused; renewing the files with
	// one the server trusts is picked up without a restart.
	dir := t.TempDir()
	certFile, keyFile := writeKeyPair(t, dir, newCA(t).issue(t, certOpts{names: []string{"intruder"}, client: true}))
	spec := httpSpec(srv.URL)
	spec.HTTP.ClientCertFile, spec.HTTP.ClientKeyFile = certFile, keyFile
	res = run(t, p, spec, 2*time.Second)
	// With TLS 1.3 the client finishes its handshake before the server
	// judges the certificate, so the refusal arrives either as the alert or,
	// when the server closes first, as a reset.
	wantErr(t, res, `bad certificate|unknown certificate authority|connection reset by peer`)

	writeKeyPair(t, dir, ca.issue(t, certOpts{names: []string{"prober"}, client: true}))
	later := time.Now().Add(time.Minute)
	os.Chtimes(certFile, later, later)
	res = run(t, p, spec, 2*time.Second)
	wantOK(t, res)
	assertCond(t, HTTP, res, `body == "hello prober"`)

	spec.HTTP.ClientKeyFile = certFile // not a key
	wantErr(t, run(t, p, spec, 2*time.Second), `^client certificate: tls: `)
}

// BenchmarkHTTP measures the prober's cost per HTTP probe against a
// loopback server (whose cost is included): over a kept-alive connection,
// over a fresh one each time, and the same over TLS.
func BenchmarkHTTP(b *testing.B) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, `{"status":"ok","version":"1.2.3"}`)
	})
	plain := httptest.NewServer(handler)
	defer plain.Close()
	secure := httptest.NewTLSServer(handler)
	defer secure.Close()
	for _, bc := range []struct {
		name, url string
		skip      bool
	}{
		{"keepalive", plain.URL + "/", false},
		{"fresh", plain.URL + "/close", false},
		{"tls-keepalive", secure.URL + "/", true},
		{"tls-fresh", secure.URL + "/close", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := NewProber(Options{})
			defer p.Close()
			spec := &Spec{Type: HTTP, HTTP: &HTTPSpec{URL: bc.url, TLSSkipVerify: bc.skip}}
			ctx := b.Context()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if res := p.Run(ctx, spec); res.Err != "" {
					b.Fatal(res.Err)
				}
			}
		})
	}
}
