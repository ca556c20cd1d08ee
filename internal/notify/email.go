package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/errs"
)

// TLS modes of an SMTP connection.
const (
	// TLSStartTLS upgrades with STARTTLS and fails when the server does
	// not offer it (the default).
	TLSStartTLS = "starttls"
	// TLSOpportunistic upgrades with STARTTLS when offered, else stays in
	// plaintext (then no credentials are sent).
	TLSOpportunistic = "opportunistic"
	// TLSImplicit speaks TLS from the first byte (port 465, "SMTPS").
	TLSImplicit = "implicit"
	// TLSNone never uses TLS.
	TLSNone = "none"
)

// SMTPConfig says how to reach the mail server. The zero value of every
// field but Host is a documented default.
type SMTPConfig struct {
	// Host is the mail server's host name or IP address. Required.
	Host string `json:"host" yaml:"host"`
	// Port is the server's port, 1-65535; 0 means 465 for implicit TLS,
	// 25 without TLS, else 587 (submission).
	Port int `json:"port,omitempty" yaml:"port,omitempty"`
	// TLS is starttls (default), opportunistic, implicit or none.
	TLS string `json:"tls,omitempty" yaml:"tls,omitempty"`
	// ServerName is the name the server's certificate must carry;
	// default Host.
	ServerName string `json:"server_name,omitempty" yaml:"server_name,omitempty"`
	// InsecureSkipVerify accepts any certificate. For tests only.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty" yaml:"insecure_skip_verify,omitempty"`
	// Username, when set, authenticates with Password. Credentials are
	// only ever sent over TLS (see AllowInsecureAuth).
	Username string `json:"username,omitempty" yaml:"username,omitempty"`
	// Password goes with Username. It is a secret: it never appears in
	// errors.
	Password string `json:"password,omitempty" yaml:"password,omitempty"`
	// Auth is the SASL mechanism: plain or login; empty picks PLAIN when
	// the server offers it, else LOGIN.
	Auth string `json:"auth,omitempty" yaml:"auth,omitempty"`
	// AllowInsecureAuth permits sending credentials without TLS. It is
	// accepted only when Host is a loopback address or "localhost" (a
	// local relay or a test).
	AllowInsecureAuth bool `json:"allow_insecure_auth,omitempty" yaml:"allow_insecure_auth,omitempty"`
	// HelloName is the name sent with EHLO; default "localhost".
	HelloName string `json:"hello_name,omitempty" yaml:"hello_name,omitempty"`
	// DialTimeout bounds connecting (and the TLS handshake of implicit
	// TLS); default 10 s.
	DialTimeout Duration `json:"dial_timeout,omitempty" yaml:"dial_timeout,omitempty"`
	// Timeout bounds the whole conversation, connecting included;
	// default 1 min.
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// EmailConfig configures the e-mail channel: one message, multipart
// text and HTML, to every address in To. The zero value is not valid:
// From, To and SMTP.Host are required.
type EmailConfig struct {
	// From is the sender, an RFC 5322 address ("groundcrew
	// <ops@example.com>"). Required.
	From string `json:"from" yaml:"from"`
	// To are the recipients (1-100 addresses). Required.
	To []string `json:"to" yaml:"to"`
	// Subject is the subject template (text/template); empty: the
	// default title ("[FIRING:2] DiskFull"). Line breaks become spaces.
	Subject string `json:"subject,omitempty" yaml:"subject,omitempty"`
	// Text is the plain-text body template (text/template); empty: the
	// default.
	Text string `json:"text,omitempty" yaml:"text,omitempty"`
	// HTML is the HTML body template (html/template: values are escaped
	// for their context); empty: the default.
	HTML string `json:"html,omitempty" yaml:"html,omitempty"`
	// MaxAlerts caps the alerts listed in one message; the rest are
	// counted in TruncatedAlerts and the default bodies say so. 0 means
	// 50.
	MaxAlerts int `json:"max_alerts,omitempty" yaml:"max_alerts,omitempty"`
	// SMTP says how to reach the mail server.
	SMTP SMTPConfig `json:"smtp" yaml:"smtp"`
}

// Validate reports the first invalid field, named as in the YAML
// ("smtp.port", "to[1]"), with the templates parsed and test-run on
// sample data.
func (c *EmailConfig) Validate() error {
	_, err := newEmail(c, Options{})
	return err
}

// Email sends notifications by SMTP. Safe for concurrent use; each Send
// opens its own connection.
type Email struct {
	cfg           EmailConfig
	from          *mail.Address
	to            []*mail.Address
	subject, text textTemplate
	html          htmlTemplate
	opts          Options
}

var _ Channel = (*Email)(nil)

// NewEmail validates cfg and returns its channel. Options.RootCAs, when
// set, are the roots the server's certificate is checked against.
func NewEmail(cfg EmailConfig, opts Options) (*Email, error) { return newEmail(&cfg, opts) }

func newEmail(c *EmailConfig, opts Options) (*Email, error) {
	e := &Email{cfg: *c, opts: opts}
	e.cfg.To = slices.Clone(c.To)
	var err error
	if c.From == "" {
		return nil, errs.Invalidf("from", "is required")
	}
	if e.from, err = mail.ParseAddress(c.From); err != nil {
		return nil, errs.Invalidf("from", "is not an e-mail address: %v", err)
	}
	if len(c.To) == 0 {
		return nil, errs.Invalidf("to", "is required")
	}
	if len(c.To) > 100 {
		return nil, errs.Invalidf("to", "must have at most 100 addresses")
	}
	for i, s := range c.To {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, errs.Invalidf(fmt.Sprintf("to[%d]", i), "is not an e-mail address: %v", err)
		}
		e.to = append(e.to, a)
	}
	if err := checkMaxAlerts("max_alerts", c.MaxAlerts); err != nil {
		return nil, err
	}
	if err := e.cfg.SMTP.normalize(); err != nil {
		return nil, errs.WithField("smtp", err)
	}
	if e.subject, err = parseText("subject", c.Subject, "title.tmpl"); err != nil {
		return nil, err
	}
	if e.text, err = parseText("text", c.Text, "email.txt.tmpl"); err != nil {
		return nil, err
	}
	if e.html, err = parseHTML("html", c.HTML, "email.html.tmpl"); err != nil {
		return nil, err
	}
	if e.cfg.MaxAlerts == 0 {
		e.cfg.MaxAlerts = 50
	}
	return e, nil
}

// normalize validates s and fills in the defaults.
func (s *SMTPConfig) normalize() error {
	if s.Host == "" {
		return errs.Invalidf("host", "is required")
	}
	if len(s.Host) > 253 || strings.ContainsAny(s.Host, " \t\r\n/:@") && net.ParseIP(s.Host) == nil {
		return errs.Invalidf("host", "must be a host name or an IP address")
	}
	if s.Port < 0 || s.Port > 65535 {
		return errs.Invalidf("port", "must be 1-65535")
	}
	switch s.TLS {
	case "":
		s.TLS = TLSStartTLS
	case TLSStartTLS, TLSOpportunistic, TLSImplicit, TLSNone:
	default:
		return errs.Invalidf("tls", "%q is not a TLS mode: want starttls, opportunistic, implicit or none", s.TLS)
	}
	if s.Port == 0 {
		switch s.TLS {
		case TLSImplicit:
			s.Port = 465
		case TLSNone:
			s.Port = 25
		default:
			s.Port = 587
		}
	}
	switch strings.ToLower(s.Auth) {
	case "", "plain", "login":
		s.Auth = strings.ToUpper(s.Auth)
	default:
		return errs.Invalidf("auth", "%q is not supported: want plain or login", s.Auth)
	}
	if s.Username == "" && s.Password != "" {
		return errs.Invalidf("username", "is required with a password")
	}
	if strings.ContainsAny(s.Username, "\x00\r\n") || strings.ContainsAny(s.Password, "\x00\r\n") {
		return errs.Invalidf("username", "credentials must not contain NUL or line breaks")
	}
	if s.AllowInsecureAuth && !isLoopback(s.Host) {
		return errs.Invalidf("allow_insecure_auth", "is only allowed for a loopback host")
	}
	if s.HelloName == "" {
		s.HelloName = "localhost"
	}
	if len(s.HelloName) > 253 || strings.ContainsAny(s.HelloName, " \t\r\n") {
		return errs.Invalidf("hello_name", "must be a host name")
	}
	if s.DialTimeout < 0 || s.DialTimeout.Std() > 10*time.Minute {
		return errs.Invalidf("dial_timeout", "must be 0 (the default) to 10m")
	}
	if s.Timeout < 0 || s.Timeout.Std() > 30*time.Minute {
		return errs.Invalidf("timeout", "must be 0 (the default) to 30m")
	}
	if s.DialTimeout == 0 {
		s.DialTimeout = Duration(10 * time.Second)
	}
	if s.Timeout == 0 {
		s.Timeout = Duration(time.Minute)
	}
	if s.ServerName == "" {
		s.ServerName = s.Host
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send renders n and delivers it in one SMTP conversation bounded by
// SMTP.Timeout. SMTP 4xx replies, network errors and timeouts are
// retryable; 5xx replies (a wrong password: 535), TLS failures and a
// server that refuses TLS or authentication are permanent.
func (e *Email) Send(ctx context.Context, n *Notification) error {
	if n == nil {
		return &Error{Channel: "email", Message: "nothing to send", Err: errNilNotification}
	}
	msg, err := e.message(n)
	if err != nil {
		return err
	}
	return e.deliver(ctx, msg)
}

// message renders n as a complete RFC 5322 message with CRLF line ends.
func (e *Email) message(n *Notification) ([]byte, error) {
	t := n.truncate(e.cfg.MaxAlerts)
	subject, err := e.subject.render(t)
	if err != nil {
		return nil, &Error{Channel: "email", Message: "subject template", Err: err}
	}
	text, err := e.text.render(t)
	if err != nil {
		return nil, &Error{Channel: "email", Message: "text template", Err: err}
	}
	html, err := e.html.render(t)
	if err != nil {
		return nil, &Error{Channel: "email", Message: "html template", Err: err}
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	now := e.opts.clock().Now()
	to := make([]string, len(e.to))
	for i, a := range e.to {
		to[i] = a.String()
	}
	hdr := func(name, value string) { b.WriteString(fold(name + ": " + value)) }
	hdr("From", e.from.String())
	hdr("To", strings.Join(to, ", "))
	b.WriteString(encodeSubject(subject))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", messageID(e.from.Address))
	hdr("MIME-Version", "1.0")
	hdr("Auto-Submitted", "auto-generated")
	hdr("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	b.WriteString("\r\n")
	for _, p := range []struct{ ctype, body string }{{"text/plain", text}, {"text/html", html}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.ctype + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, &Error{Channel: "email", Message: "build message", Err: err}
		}
		qp := quotedprintable.NewWriter(w)
		_, _ = qp.Write([]byte(strings.ReplaceAll(p.body, "\r\n", "\n")))
		if err := qp.Close(); err != nil {
			return nil, &Error{Channel: "email", Message: "build message", Err: err}
		}
	}
	if err := mw.Close(); err != nil {
		return nil, &Error{Channel: "email", Message: "build message", Err: err}
	}
	return b.Bytes(), nil
}

// messageID returns a fresh Message-ID in the sender's domain.
func messageID(from string) string {
	var r [16]byte
	_, _ = rand.Read(r[:])
	domain := "groundcrew.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		domain = from[i+1:]
	}
	return "<" + hex.EncodeToString(r[:]) + "@" + domain + ">"
}

// encodeSubject returns the Subject header line: one line of text (line
// breaks become spaces), RFC 2047-encoded when not plain ASCII, folded to
// lines of at most 78 characters where it can be.
func encodeSubject(s string) string {
	s = truncateRunes(oneLine(s), 900)
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			enc := mime.QEncoding.Encode("utf-8", s)
			// Encoded words never contain spaces: fold between them.
			return "Subject: " + strings.ReplaceAll(enc, "?= =?", "?=\r\n =?") + "\r\n"
		}
	}
	return fold("Subject: " + s)
}

// fold folds an ASCII header line at spaces so that lines stay within 78
// characters where a space allows, and terminates it with CRLF.
func fold(line string) string {
	var b strings.Builder
	for len(line) > 78 {
		i := strings.LastIndexByte(line[:78], ' ')
		if i <= 0 {
			i = strings.IndexByte(line[78:], ' ')
			if i < 0 {
				break
			}
			i += 78
		}
		b.WriteString(line[:i])
		b.WriteString("\r\n")
		line = line[i:] // keeps the space: it starts the continuation line
	}
	b.WriteString(line)
	b.WriteString("\r\n")
	return b.String()
}

// deliver runs one SMTP conversation.
func (e *Email) deliver(ctx context.Context, msg []byte) error {
	s := &e.cfg.SMTP
	ctx, cancel := context.WithTimeout(ctx, s.Timeout.Std())
	defer cancel()
	tcfg := &tls.Config{ServerName: s.ServerName, RootCAs: e.opts.RootCAs, InsecureSkipVerify: s.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	dctx, dcancel := context.WithTimeout(ctx, s.DialTimeout.Std())
	defer dcancel()
	var conn net.Conn
	var err error
	if s.TLS == TLSImplicit {
		conn, err = (&tls.Dialer{Config: tcfg}).DialContext(dctx, "tcp", addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(dctx, "tcp", addr)
	}
	if err != nil {
		return smtpError(dctx, "connect", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		_ = conn.Close()
		return smtpError(ctx, "greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.HelloName); err != nil {
		return smtpError(ctx, "hello", err)
	}
	secure := s.TLS == TLSImplicit
	if s.TLS == TLSStartTLS || s.TLS == TLSOpportunistic {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tcfg); err != nil {
				return smtpError(ctx, "starttls", err)
			}
			secure = true
		} else if s.TLS == TLSStartTLS {
			return &Error{Channel: "email", Message: "server does not offer STARTTLS (tls: starttls requires it)"}
		}
	}
	if s.Username != "" {
		if !secure && !s.AllowInsecureAuth {
			return &Error{Channel: "email", Message: "refusing to send credentials without TLS"}
		}
		ok, mechs := c.Extension("AUTH")
		if !ok {
			return &Error{Channel: "email", Message: "server offers no authentication (AUTH)"}
		}
		offered := strings.Fields(strings.ToUpper(mechs))
		mech := s.Auth
		if mech == "" {
			mech = "LOGIN"
			if slices.Contains(offered, "PLAIN") {
				mech = "PLAIN"
			}
		}
		if !slices.Contains(offered, mech) {
			return &Error{Channel: "email", Message: fmt.Sprintf("server does not offer AUTH %s (offers %s)", mech, excerpt([]byte(mechs)))}
		}
		if err := c.Auth(&smtpAuth{mech: mech, user: s.Username, pass: s.Password}); err != nil {
			return smtpError(ctx, "auth", err)
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return smtpError(ctx, "mail from", err)
	}
	for _, a := range e.to {
		if err := c.Rcpt(a.Address); err != nil {
			return smtpError(ctx, "rcpt to", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpError(ctx, "data", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpError(ctx, "data", err)
	}
	if err := w.Close(); err != nil {
		return smtpError(ctx, "data", err)
	}
	// The message is accepted; a failing QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// smtpAuth is PLAIN or LOGIN. Whether TLS is up was decided before; it
// does not check again (net/smtp's PlainAuth would refuse a loopback
// test server without TLS only by name).
type smtpAuth struct {
	mech, user, pass string
	step             int
}

// Start begins the exchange; PLAIN sends its initial response at once.
func (a *smtpAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	if a.mech == "PLAIN" {
		return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
	}
	return "LOGIN", nil, nil
}

// Next answers LOGIN's "Username:" and "Password:" challenges.
func (a *smtpAuth) Next(challenge []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	if a.mech != "LOGIN" {
		return nil, errors.New("unexpected server challenge")
	}
	a.step++
	c := strings.ToLower(string(challenge))
	switch {
	case strings.Contains(c, "user"):
		return []byte(a.user), nil
	case strings.Contains(c, "pass"):
		return []byte(a.pass), nil
	case a.step == 1:
		return []byte(a.user), nil
	case a.step == 2:
		return []byte(a.pass), nil
	}
	return nil, errors.New("unexpected server challenge")
}

// smtpError classifies an error of one step of the conversation.
func smtpError(ctx context.Context, step string, err error) *Error {
	e := &Error{Channel: "email", Message: step + " failed", Retryable: true}
	switch context.Cause(ctx) {
	case context.DeadlineExceeded:
		// Closing the connection at the deadline surfaces as "use of
		// closed network connection"; say what happened instead.
		e.Message = step + ": timed out"
		return e
	case context.Canceled:
		e.Message, e.Retryable = step+": cancelled", false
		return e
	}
	var tp *textproto.Error
	var cv *tls.CertificateVerificationError
	var rh tls.RecordHeaderError
	var ae tls.AlertError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	switch {
	case errors.As(err, &tp):
		e.Status = tp.Code
		e.Retryable = tp.Code >= 400 && tp.Code < 500
		e.Message = fmt.Sprintf("%s: SMTP %d", step, tp.Code)
		if x := excerpt([]byte(tp.Msg)); x != "" {
			e.Message += " " + x
		}
		return e
	case errors.As(err, &cv), errors.As(err, &rh), errors.As(err, &ae), errors.As(err, &ua), errors.As(err, &he):
		e.Retryable = false
		e.Message = step + ": TLS handshake failed"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		e.Message = step + ": timed out"
	}
	e.Err = errors.New(excerpt([]byte(err.Error())))
	return e
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
