package probe

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/expr"
)

// All traffic in these tests stays on loopback; no test resolves a name
// through the system resolver.

// run runs spec with p (a fresh Prober when nil) under timeout and checks
// that the result carries every declared variable with its declared type.
func run(t *testing.T, p *Prober, spec Spec, timeout time.Duration) Result {
	t.Helper()
	if p == nil {
		p = NewProber(Options{})
		t.Cleanup(p.Close)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res := p.Run(ctx, &spec)
	checkVars(t, spec.Type, res)
	return res
}

// checkVars asserts res.Vars holds exactly the declared variables, each of
// the Go type CEL expects, and that the default conditions evaluate.
func checkVars(t *testing.T, typ Type, res Result) {
	t.Helper()
	decl := Vars(typ)
	if len(res.Vars) != len(decl) {
		t.Errorf("Vars has %d entries, %s declares %d: %v", len(res.Vars), typ, len(decl), keys(res.Vars))
	}
	for _, v := range decl {
		val, ok := res.Vars[v.Name]
		if !ok {
			t.Errorf("variable %q missing", v.Name)
			continue
		}
		var want any
		switch v.Type {
		case expr.Bool:
			want = false
		case expr.Int:
			want = int64(0)
		case expr.String:
			want = ""
		case expr.Duration:
			want = time.Duration(0)
		case expr.StringList:
			want = []string{}
		case expr.StringMap:
			want = map[string]string{}
		default:
			continue
		}
		if reflect.TypeOf(val) != reflect.TypeOf(want) {
			t.Errorf("variable %q is a %T, want %T", v.Name, val, want)
		}
	}
	if res.Vars["duration"] != res.Duration {
		t.Errorf("duration var %v != Duration %v", res.Vars["duration"], res.Duration)
	}
	for _, c := range DefaultConditions(typ) {
		evalErr(t, typ, res, c) // must not fail on a type error; its value is the test's business
	}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// eval evaluates a CEL condition over res like a check would.
func eval(t *testing.T, typ Type, res Result, src string) bool {
	t.Helper()
	ok, err := evalErr(t, typ, res, src)
	if err != nil {
		t.Fatalf("eval %s: %v", src, err)
	}
	return ok
}

func evalErr(t *testing.T, typ Type, res Result, src string) (bool, error) {
	t.Helper()
	env, err := expr.NewEnv(Vars(typ)...)
	if err != nil {
		t.Fatal(err)
	}
	prg, err := env.Compile("cond", src)
	if err != nil {
		t.Fatalf("compile %s: %v", src, err)
	}
	return prg.Eval(context.Background(), res.Vars)
}

// assertCond asserts each condition holds over res.
func assertCond(t *testing.T, typ Type, res Result, conds ...string) {
	t.Helper()
	for _, c := range conds {
		if !eval(t, typ, res, c) {
			t.Errorf("condition %s is false; vars %v", c, res.Vars)
		}
	}
}

func wantOK(t *testing.T, res Result) {
	t.Helper()
	if res.Err != "" {
		t.Fatalf("Err = %q, want none", res.Err)
	}
}

// wantErr asserts res.Err matches the regular expression re.
func wantErr(t *testing.T, res Result, re string) {
	t.Helper()
	t.Logf("Err: %s", res.Err)
	if !regexp.MustCompile(re).MatchString(res.Err) {
		t.Fatalf("Err = %q, want a match for %q", res.Err, re)
	}
}

// within asserts a probe with timeout returned soon after it.
func within(t *testing.T, res Result, timeout time.Duration) {
	t.Helper()
	if res.Duration > timeout+400*time.Millisecond {
		t.Errorf("took %v with a timeout of %v", res.Duration, timeout)
	}
}

// closedPort returns a loopback TCP address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// listen starts a TCP server on loopback running handle for each
// connection, until the test ends.
func listen(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				handle(c)
			}()
		}
	}()
	return l.Addr().String()
}

// testCA is a certificate authority made for one test.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	pool    *x509.CertPool
	pemFile string
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "groundcrew test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	file := filepath.Join(t.TempDir(), "ca.pem")
	writePEM(t, file, "CERTIFICATE", der)
	return &testCA{cert: cert, key: key, pool: pool, pemFile: file}
}

// certOpts describe a certificate to issue.
type certOpts struct {
	names     []string // DNS names; default localhost
	notBefore time.Time
	notAfter  time.Time
	client    bool
}

// issue returns a leaf certificate for 127.0.0.1 (and opts.names).
func (ca *testCA) issue(t *testing.T, o certOpts) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if o.names == nil {
		o.names = []string{"localhost"}
	}
	if o.notBefore.IsZero() {
		o.notBefore = time.Now().Add(-time.Hour)
	}
	if o.notAfter.IsZero() {
		o.notAfter = time.Now().Add(30 * 24 * time.Hour)
	}
	usage := x509.ExtKeyUsageServerAuth
	if o.client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: o.names[0]},
		DNSNames:     o.names,
		NotBefore:    o.notBefore,
		NotAfter:     o.notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if !o.client {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// writeKeyPair writes c as PEM files and returns their paths.
func writeKeyPair(t *testing.T, dir string, c tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", c.Certificate[0])
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, keyFile, "PRIVATE KEY", der)
	return certFile, keyFile
}

func writePEM(t *testing.T, file, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRun_InvalidSpecs(t *testing.T) {
	p := NewProber(Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		spec *Spec
		want string
	}{
		{nil, "invalid probe: no spec"},
		{&Spec{Type: "gopher"}, `invalid probe: unknown type "gopher"`},
		{&Spec{Type: HTTP}, "invalid probe: http settings missing"},
		{&Spec{Type: HTTP, HTTP: &HTTPSpec{URL: "::nonsense"}}, "invalid request: "},
	} {
		res := p.Run(ctx, tc.spec)
		if !strings.HasPrefix(res.Err, tc.want) {
			t.Errorf("Run(%+v).Err = %q, want %q", tc.spec, res.Err, tc.want)
		}
		if _, ok := res.Vars["duration"]; !ok {
			t.Errorf("Run(%+v): no duration", tc.spec)
		}
	}
}

func TestRun_NoDeadlineGetsDefault(t *testing.T) {
	addr := listen(t, func(c net.Conn) { time.Sleep(2 * time.Second) })
	p := NewProber(Options{DefaultTimeout: 200 * time.Millisecond})
	res := p.Run(context.Background(), &Spec{Type: TCP, TCP: &TCPSpec{Address: addr, Expect: "x"}})
	wantErr(t, res, `^timeout after 200ms while waiting for "x" \(0 bytes received\)$`)
	within(t, res, 200*time.Millisecond)
}

func TestRun_Canceled(t *testing.T) {
	addr := listen(t, func(c net.Conn) { time.Sleep(2 * time.Second) })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	res := NewProber(Options{}).Run(ctx, &Spec{Type: SSH, SSH: &SSHSpec{Address: addr}})
	wantErr(t, res, `^canceled while waiting for the SSH banner \(0 bytes received\)$`)
	within(t, res, 100*time.Millisecond)
}

// TestRun_FakeClockTimeout runs under clock.WithTimeout on a fake clock,
// as the check runner does in tests: the context has no deadline and ends
// with the cause DeadlineExceeded, which is a timeout, not a cancellation.
func TestRun_FakeClockTimeout(t *testing.T) {
	addr := listen(t, func(c net.Conn) { time.Sleep(2 * time.Second) })
	fake := clock.NewFake(time.Now())
	ctx, cancel := clock.WithTimeout(context.Background(), fake, 10*time.Second)
	defer cancel()
	time.AfterFunc(100*time.Millisecond, func() { fake.Advance(10 * time.Second) })
	res := NewProber(Options{}).Run(ctx, &Spec{Type: SSH, SSH: &SSHSpec{Address: addr}})
	wantErr(t, res, `^timeout while waiting for the SSH banner \(0 bytes received\)$`)
	within(t, res, 100*time.Millisecond)
}

// TestRun_LeavesNoGoroutines runs probes that fail in every way and checks
// that nothing they started outlives them (a stuck worker in disguise).
func TestRun_LeavesNoGoroutines(t *testing.T) {
	hold := func(c net.Conn) { io.Copy(io.Discard, c) } // until the prober hangs up
	silent := listen(t, hold)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte("x"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	udpSilent := udpServer(t, func([]byte) []byte { return nil })
	refused := closedPort(t)
	specs := []Spec{
		httpSpec(srv.URL), httpSpec("http://" + silent), httpSpec("https://" + silent), httpSpec("http://" + refused),
		tcpSpec(silent, "x", "y"), tcpSpec(refused, "", ""),
		{Type: UDP, UDP: &UDPSpec{Address: udpSilent, Send: "x"}},
		{Type: DNS, DNS: &DNSSpec{Name: "example.test", Resolver: udpSilent}},
		{Type: DNS, DNS: &DNSSpec{Name: "example.test", Resolver: silent, Protocol: "tcp"}},
		{Type: TLS, TLS: &TLSSpec{Address: silent}}, {Type: TLS, TLS: &TLSSpec{Address: silent, StartTLS: "smtp"}},
		{Type: GRPC, GRPC: &GRPCSpec{Address: silent}}, {Type: GRPC, GRPC: &GRPCSpec{Address: refused}},
		{Type: SSH, SSH: &SSHSpec{Address: silent}},
	}
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()
	p := NewProber(Options{})
	for _, s := range specs {
		if res := run(t, p, s, 100*time.Millisecond); res.Err == "" {
			t.Errorf("%s probe succeeded against a silent server", s.Type)
		}
	}
	p.Close()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before the probes, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
