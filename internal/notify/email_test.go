package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/errs"
)

const (
	smtpUser = "alerts@example.com"
	smtpPass = "correct horse battery staple"
)

// smtpServer is a real SMTP server (emersion/go-smtp) on loopback that
// requires authentication and captures what it receives.
type smtpServer struct {
	host string
	port int
	mu   sync.Mutex
	msgs []smtpMessage
	// mechs are the AUTH mechanisms offered.
	mechs []string
	// rcptErr, when set, is the answer to RCPT TO.
	rcptErr error
	// authTries counts AUTH attempts.
	authTries int
}

type smtpMessage struct {
	from string
	to   []string
	data []byte
}

type smtpOpts struct {
	tls          *tls.Config // nil: no STARTTLS
	implicit     bool        // TLS from the first byte
	insecureAuth bool        // offer AUTH without TLS
	mechs        []string
}

func startSMTP(t *testing.T, o smtpOpts) *smtpServer {
	t.Helper()
	srv := &smtpServer{mechs: o.mechs}
	if srv.mechs == nil {
		srv.mechs = []string{sasl.Plain, sasl.Login}
	}
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		return &smtpSession{srv: srv}, nil
	}))
	s.Domain = "localhost"
	s.TLSConfig = o.tls
	s.AllowInsecureAuth = o.insecureAuth
	s.ReadTimeout, s.WriteTimeout = 5*time.Second, 5*time.Second
	s.ErrorLog = testLogger{t}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.implicit {
		l = tls.NewListener(l, o.tls)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close(); <-done })
	addr := l.Addr().(*net.TCPAddr)
	srv.host, srv.port = "127.0.0.1", addr.Port
	return srv
}

type testLogger struct{ t *testing.T }

func (l testLogger) Printf(format string, v ...any) {}
func (l testLogger) Println(v ...any)               {}

func (s *smtpServer) messages() []smtpMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMessage(nil), s.msgs...)
}

type smtpSession struct {
	srv    *smtpServer
	authed bool
	from   string
	to     []string
}

func (s *smtpSession) AuthMechanisms() []string { return s.srv.mechs }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	s.srv.mu.Lock()
	s.srv.authTries++
	s.srv.mu.Unlock()
	check := func(user, pass string) error {
		if user != smtpUser || pass != smtpPass {
			return gosmtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, gosmtp.ErrAuthUnknownMechanism
}

// loginServer is the server side of the LOGIN mechanism (go-sasl has only
// the client).
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if len(resp) > 0 { // initial response carries the user name
			l.user = string(resp)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	case 3:
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, false, errors.New("unexpected response")
}

func (s *smtpSession) Mail(from string, _ *gosmtp.MailOptions) error {
	if !s.authed {
		return gosmtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if s.srv.rcptErr != nil {
		return s.srv.rcptErr
	}
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, smtpMessage{s.from, s.to, b})
	s.srv.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        { s.from, s.to = "", nil }
func (s *smtpSession) Logout() error { return nil }

// emailConfig is a configuration for srv.
func emailConfig(srv *smtpServer, mode string) EmailConfig {
	return EmailConfig{
		From: "groundcrew <alerts@example.com>",
		To:   []string{"Ops Team <ops@example.com>", "jörg@example.com"},
		SMTP: SMTPConfig{
			Host: srv.host, Port: srv.port, TLS: mode, Username: smtpUser, Password: smtpPass,
			Timeout: Duration(5 * time.Second), HelloName: "notify.test",
		},
	}
}

func tlsPair(t *testing.T) (*tls.Config, *x509.CertPool) {
	cert, pool := testCert(t)
	return &tls.Config{Certificates: []tls.Certificate{cert}}, pool
}

func TestEmail_Send(t *testing.T) {
	serverTLS, pool := tlsPair(t)
	fake := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	tests := []struct {
		name  string
		opts  smtpOpts
		mode  string
		auth  string
		setup func(*EmailConfig)
	}{
		{"starttls plain", smtpOpts{tls: serverTLS}, TLSStartTLS, "", nil},
		{"starttls login only", smtpOpts{tls: serverTLS, mechs: []string{sasl.Login}}, TLSStartTLS, "", nil},
		{"implicit tls login", smtpOpts{tls: serverTLS, implicit: true}, TLSImplicit, "login", nil},
		{"opportunistic", smtpOpts{tls: serverTLS}, TLSOpportunistic, "plain", nil},
		{"plaintext to loopback when allowed", smtpOpts{insecureAuth: true}, TLSNone, "", func(c *EmailConfig) { c.SMTP.AllowInsecureAuth = true }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startSMTP(t, tc.opts)
			cfg := emailConfig(srv, tc.mode)
			cfg.SMTP.Auth = tc.auth
			if tc.setup != nil {
				tc.setup(&cfg)
			}
			e, err := NewEmail(cfg, Options{Clock: fake, RootCAs: pool})
			if err != nil {
				t.Fatal(err)
			}
			n := testNotification()
			n.GroupLabels = map[string]string{"alertname": "Plattenplatz voll – Köln", "region": strings.Repeat("eu-central ", 8)}
			if err := e.Send(t.Context(), n); err != nil {
				t.Fatal(err)
			}
			msgs := srv.messages()
			if len(msgs) != 1 {
				t.Fatalf("server received %d messages", len(msgs))
			}
			m := msgs[0]
			if m.from != "alerts@example.com" || strings.Join(m.to, ",") != "ops@example.com,jörg@example.com" {
				t.Errorf("envelope from %q to %q", m.from, m.to)
			}
			checkMessage(t, m.data, fake.Now())
		})
	}
}

// checkMessage parses data as the recipient's mail program would.
func checkMessage(t *testing.T, data []byte, now time.Time) {
	t.Helper()
	for i, line := range strings.Split(string(data), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line %d is %d bytes long", i, len(line))
		}
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	wantSubject := "[FIRING:1] Plattenplatz voll – Köln " + strings.TrimSpace(strings.Repeat("eu-central ", 8))
	if subject != wantSubject {
		t.Errorf("subject %q, want %q", subject, wantSubject)
	}
	if d, err := h.Date(); err != nil || !d.Equal(now) {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != "alerts@example.com" || from[0].Name != "groundcrew" {
		t.Errorf("From %q: %v", h.Get("From"), err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Name != "Ops Team" || to[1].Address != "jörg@example.com" {
		t.Errorf("To %q: %v", h.Get("To"), err)
	}
	if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("Message-ID %q", id)
	}
	if h.Get("MIME-Version") != "1.0" || h.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("MIME-Version %q Auto-Submitted %q", h.Get("MIME-Version"), h.Get("Auto-Submitted"))
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	parts := map[string]string{}
	var order []string
	for range 10 {
		p, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, cp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if cp["charset"] != "utf-8" {
			t.Errorf("part %s charset %q", ct, cp["charset"])
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		parts[ct] = string(b)
		order = append(order, ct)
	}
	if strings.Join(order, ",") != "text/plain,text/html" {
		t.Fatalf("parts %v, want text then HTML", order)
	}
	text, html := parts["text/plain"], parts["text/html"]
	for _, want := range []string{
		"new alerts: 1 firing, 1 resolved",
		"Acknowledge: https://gc.example.com/a",
		"[FIRING] disk / is full <script>",
		"Labels: alertname=DiskFull service=payments-api severity=critical",
		"Started: 2026-01-02 03:04:05 UTC",
		"Ended:   2026-01-02 04:04:05 UTC",
		"Actions: acknowledge https://gc.example.com/a resolve https://gc.example.com/r silence https://gc.example.com/s",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{
		"disk / is full &lt;script&gt;", "95% used &amp; growing",
		`<a href="https://gc.example.com/a">Acknowledge</a>`, `<a href="https://prom.example.com/g">source</a>`,
		`· <a href="https://gc.example.com/s">silence</a>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(html, "<script>") {
		t.Error("HTML part is not escaped")
	}
}

func TestEmail_Failures(t *testing.T) {
	serverTLS, pool := tlsPair(t)
	tests := []struct {
		name      string
		opts      smtpOpts
		mode      string
		setup     func(*EmailConfig, *smtpServer)
		retryable bool
		status    int
		msg       string
		noAuth    bool // the password must not have been sent
	}{
		{"server without TLS, starttls required", smtpOpts{insecureAuth: true}, TLSStartTLS, nil, false, 0, "server does not offer STARTTLS", true},
		{"plaintext auth refused", smtpOpts{insecureAuth: true}, TLSOpportunistic, nil, false, 0, "refusing to send credentials without TLS", true},
		{"wrong password", smtpOpts{tls: serverTLS}, TLSStartTLS, func(c *EmailConfig, _ *smtpServer) { c.SMTP.Password = "wrong" }, false, 535, "auth: SMTP 535", false},
		{"untrusted certificate", smtpOpts{tls: serverTLS}, TLSStartTLS, func(c *EmailConfig, _ *smtpServer) { c.SMTP.ServerName = "other.example" }, false, 0, "starttls: TLS handshake failed", true},
		{"implicit TLS to a plaintext server", smtpOpts{insecureAuth: true}, TLSImplicit, nil, false, 0, "connect: TLS handshake failed", true},
		{"server 4xx", smtpOpts{tls: serverTLS}, TLSStartTLS, func(_ *EmailConfig, s *smtpServer) {
			s.rcptErr = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}, true, 451, "rcpt to: SMTP 451 4.3.0 try again later", false},
		{"server 5xx recipient", smtpOpts{tls: serverTLS}, TLSStartTLS, func(_ *EmailConfig, s *smtpServer) {
			s.rcptErr = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}, false, 550, "rcpt to: SMTP 550", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startSMTP(t, tc.opts)
			cfg := emailConfig(srv, tc.mode)
			if tc.setup != nil {
				tc.setup(&cfg, srv)
			}
			e, err := NewEmail(cfg, Options{RootCAs: pool})
			if err != nil {
				t.Fatal(err)
			}
			err = e.Send(t.Context(), testNotification())
			ne := asError(t, err)
			if ne.Channel != "email" || ne.Retryable != tc.retryable || ne.Status != tc.status || Retryable(err) != tc.retryable {
				t.Errorf("got %+v", ne)
			}
			if !strings.HasPrefix(err.Error(), "email: "+tc.msg) {
				t.Errorf("message %q, want prefix %q", err, "email: "+tc.msg)
			}
			if strings.Contains(err.Error(), "horse") || strings.Contains(err.Error(), "wrong") {
				t.Errorf("message leaks the password: %q", err)
			}
			if n := len(srv.messages()); n != 0 {
				t.Errorf("%d messages delivered", n)
			}
			srv.mu.Lock()
			tries := srv.authTries
			srv.mu.Unlock()
			if tc.noAuth && tries != 0 {
				t.Errorf("credentials were offered %d times", tries)
			}
		})
	}
}

func TestEmail_NetworkFailures(t *testing.T) {
	// Connection refused: a port that was just free.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cfg := EmailConfig{From: "a@example.com", To: []string{"b@example.com"}, SMTP: SMTPConfig{Host: "127.0.0.1", Port: port}}
	e, err := NewEmail(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = e.Send(t.Context(), testNotification())
	if ne := asError(t, err); !ne.Retryable || !strings.Contains(err.Error(), "connect failed") {
		t.Errorf("connection refused: %v", err)
	}

	// A server that accepts and never greets: the conversation timeout.
	l, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	cfg.SMTP.Port = l.Addr().(*net.TCPAddr).Port
	cfg.SMTP.Timeout = Duration(300 * time.Millisecond)
	e, err = NewEmail(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = e.Send(t.Context(), testNotification())
	if ne := asError(t, err); !ne.Retryable || !strings.Contains(err.Error(), "greeting: timed out") {
		t.Errorf("silent server: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timeout took %v", d)
	}
}

func TestEmailConfig_Validate(t *testing.T) {
	ok := func() EmailConfig {
		return EmailConfig{From: "a@example.com", To: []string{"b@example.com"}, SMTP: SMTPConfig{Host: "smtp.example.com"}}
	}
	tests := []struct {
		name  string
		edit  func(*EmailConfig)
		field string
	}{
		{"ok", func(*EmailConfig) {}, ""},
		{"no from", func(c *EmailConfig) { c.From = "" }, "from"},
		{"bad from", func(c *EmailConfig) { c.From = "not an address" }, "from"},
		{"no to", func(c *EmailConfig) { c.To = nil }, "to"},
		{"bad second to", func(c *EmailConfig) { c.To = append(c.To, "x@") }, "to[1]"},
		{"no host", func(c *EmailConfig) { c.SMTP.Host = "" }, "smtp.host"},
		{"bad host", func(c *EmailConfig) { c.SMTP.Host = "a b" }, "smtp.host"},
		{"port", func(c *EmailConfig) { c.SMTP.Port = 70000 }, "smtp.port"},
		{"tls", func(c *EmailConfig) { c.SMTP.TLS = "ssl" }, "smtp.tls"},
		{"auth", func(c *EmailConfig) { c.SMTP.Auth = "cram-md5" }, "smtp.auth"},
		{"password without user", func(c *EmailConfig) { c.SMTP.Password = "x" }, "smtp.username"},
		{"insecure auth remote", func(c *EmailConfig) { c.SMTP.AllowInsecureAuth = true }, "smtp.allow_insecure_auth"},
		{"insecure auth loopback", func(c *EmailConfig) { c.SMTP.AllowInsecureAuth = true; c.SMTP.Host = "::1" }, ""},
		{"hello", func(c *EmailConfig) { c.SMTP.HelloName = "a\r\nRCPT TO:<x>" }, "smtp.hello_name"},
		{"timeout", func(c *EmailConfig) { c.SMTP.Timeout = -1 }, "smtp.timeout"},
		{"subject", func(c *EmailConfig) { c.Subject = "{{ .Subject }}" }, "subject"},
		{"text", func(c *EmailConfig) { c.Text = "{{ if }}" }, "text"},
		{"html", func(c *EmailConfig) { c.HTML = "<a href='{{ .ExternalURL }}'>{{ .Nope }}</a>" }, "html"},
		{"max alerts", func(c *EmailConfig) { c.MaxAlerts = 10001 }, "max_alerts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok()
			tc.edit(&c)
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field {
				t.Fatalf("got %v (field %q), want invalid %s", err, errs.FieldOf(err), tc.field)
			}
		})
	}
	c := ok()
	c.SMTP.Port = 70000
	if got := c.Validate().Error(); got != "smtp.port: must be 1-65535" {
		t.Errorf("message %q", got)
	}
}

func TestEncodeSubject(t *testing.T) {
	tests := []string{
		"short",
		strings.Repeat("word ", 40),
		strings.Repeat("x", 120) + " tail",
		"Ärger mit der Festplatte – " + strings.Repeat("ü", 60),
		"line\r\nBcc: injected@example.com",
	}
	for _, s := range tests {
		h := encodeSubject(s)
		if !strings.HasSuffix(h, "\r\n") {
			t.Errorf("%q: no CRLF at the end", h)
		}
		lines := strings.Split(strings.TrimSuffix(h, "\r\n"), "\r\n")
		for i, l := range lines {
			if i > 0 && !strings.HasPrefix(l, " ") {
				t.Errorf("%q: continuation line %d does not start with a space", h, i)
			}
			if len(l) > 78 && strings.Contains(strings.TrimSpace(l[9:]), " ") {
				t.Errorf("%q: line %d is %d long though it could fold", h, i, len(l))
			}
		}
		m, err := mail.ReadMessage(strings.NewReader(h + "\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Header) != 1 {
			t.Errorf("%q: header injection: %v", s, m.Header)
		}
		var dec mime.WordDecoder
		got, err := dec.DecodeHeader(m.Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		if want := oneLine(s); got != want {
			t.Errorf("decoded %q, want %q", got, want)
		}
	}
}

func TestEmail_ConcurrentAndCancelled(t *testing.T) {
	serverTLS, pool := tlsPair(t)
	srv := startSMTP(t, smtpOpts{tls: serverTLS})
	e, err := NewEmail(emailConfig(srv, TLSStartTLS), Options{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for range 4 {
		wg.Go(func() { errc <- e.Send(t.Context(), testNotification()) })
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(srv.messages()); n != 4 {
		t.Errorf("server received %d messages, want 4", n)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = e.Send(ctx, testNotification())
	if ne := asError(t, err); ne.Retryable {
		t.Errorf("cancelled send is retryable: %v", err)
	}
}
