package notify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// testCert returns a TLS certificate for 127.0.0.1 and localhost and a
// pool that trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "notify test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}, pool
}

// captured is one request a test HTTP server received.
type captured struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// recorder is a loopback HTTP server that records requests and answers
// with the status, headers and body the test sets.
type recorder struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []captured
	status  int
	header  http.Header
	body    string
	handler http.HandlerFunc // when set, answers instead
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{status: http.StatusOK, header: http.Header{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		r.mu.Lock()
		r.reqs = append(r.reqs, captured{req.Method, req.URL.Path, req.Header.Clone(), b})
		h, status, body, header := r.handler, r.status, r.body, r.header.Clone()
		r.mu.Unlock()
		if h != nil {
			h(w, req)
			return
		}
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) respond(status int, body string, kv ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.body, r.header = status, body, http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		r.header.Set(kv[i], kv[i+1])
	}
}

func (r *recorder) requests() []captured {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]captured(nil), r.reqs...)
}

// asError returns err as an *Error or fails.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *notify.Error", err, err)
	}
	return e
}

// testNotification is a firing group of one alert plus a resolved one.
func testNotification() *Notification {
	n := sample()
	n.Alerts[0].Annotations = map[string]string{"summary": "disk / is full <script>", "description": "95% used & growing"}
	return n
}
