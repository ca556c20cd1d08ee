package probe

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/clock"
)

// tlsListener serves TLS handshakes with cert, then closes.
func tlsListener(t *testing.T, cert tls.Certificate) string {
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	return listen(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		tc.Handshake()
		io.Copy(io.Discard, tc)
	})
}

func TestTLS(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	valid := tlsListener(t, ca.issue(t, certOpts{notAfter: now.Add(60 * 24 * time.Hour)}))
	expired := tlsListener(t, ca.issue(t, certOpts{notBefore: now.Add(-48 * time.Hour), notAfter: now.Add(-24 * time.Hour)}))
	otherName := tlsListener(t, ca.issue(t, certOpts{names: []string{"other.example.test"}}))
	p := NewProber(Options{RootCAs: ca.pool})
	tlsSpec := func(addr, name string) Spec {
		return Spec{Type: TLS, TLS: &TLSSpec{Address: addr, ServerName: name}}
	}
	for _, tc := range []struct {
		name  string
		p     *Prober
		spec  Spec
		conds []string
	}{
		{"valid", p, tlsSpec(valid, ""), []string{
			`chain_valid && hostname_valid && cert.expires_in > duration("0s")`, // the default
			`chain_error == ""`,
			`tls_version == "TLS 1.3"`,
			`cert.expires_in > duration("1400h") && cert.expires_in < duration("1441h")`,
			`cert.subject == "CN=localhost" && cert.dns_names == ["localhost"]`,
		}},
		{"valid by name", p, tlsSpec(valid, "localhost"), []string{`chain_valid && hostname_valid`}},
		{"expired", p, tlsSpec(expired, ""), []string{
			`!chain_valid`, `chain_error.contains("expired")`, `hostname_valid`, `cert.expires_in < duration("-23h")`,
			`!(chain_valid && hostname_valid && cert.expires_in > duration("0s"))`,
		}},
		{"hostname mismatch", p, tlsSpec(otherName, "localhost"), []string{`chain_valid`, `!hostname_valid`}},
		{"unknown authority", NewProber(Options{}), tlsSpec(valid, ""), []string{
			`!chain_valid`, `chain_error == "x509: certificate signed by unknown authority"`, `hostname_valid`,
		}},
		{"CA from a file", NewProber(Options{}), Spec{Type: TLS, TLS: &TLSSpec{Address: valid, CAFile: ca.pemFile}}, []string{`chain_valid`}},
		{"expiry by the prober's clock", NewProber(Options{RootCAs: ca.pool, Clock: clock.NewFake(now.Add(59 * 24 * time.Hour))}), tlsSpec(valid, ""), []string{
			`chain_valid && cert.expires_in < duration("25h")`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, tc.p, tc.spec, 2*time.Second)
			wantOK(t, res)
			assertCond(t, TLS, res, tc.conds...)
		})
	}
}

func TestTLS_Failures(t *testing.T) {
	notTLS := listen(t, func(c net.Conn) { io.WriteString(c, "220 plain text here\r\n"); time.Sleep(time.Second) })
	res := run(t, nil, Spec{Type: TLS, TLS: &TLSSpec{Address: notTLS}}, 2*time.Second)
	wantErr(t, res, `^TLS handshake: tls: first record does not look like a TLS handshake$`)
	assertCond(t, TLS, res, `!chain_valid`, `cert == null`)

	silent := listen(t, func(c net.Conn) { time.Sleep(2 * time.Second) })
	res = run(t, nil, Spec{Type: TLS, TLS: &TLSSpec{Address: silent}}, 300*time.Millisecond)
	wantErr(t, res, `^timeout after 300ms during the TLS handshake with `+silent+`$`)
	within(t, res, 300*time.Millisecond)
}

// fakeSMTP speaks just enough SMTP for STARTTLS, then TLS with cert;
// offer=false leaves STARTTLS out of the EHLO reply.
func fakeSMTP(t *testing.T, cert tls.Certificate, offer bool) string {
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	return listen(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		io.WriteString(c, "220-mail.example.test ESMTP ready\r\n220 no UCE\r\n")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
			case strings.HasPrefix(cmd, "EHLO "):
				io.WriteString(c, "250-mail.example.test greets "+cmd[5:]+"\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n")
				if offer {
					io.WriteString(c, "250-STARTTLS\r\n")
				}
				io.WriteString(c, "250 8BITMIME\r\n")
			case cmd == "STARTTLS" && offer:
				io.WriteString(c, "220 2.0.0 go ahead\r\n")
				tc := tls.Server(c, cfg)
				tc.Handshake()
				io.Copy(io.Discard, tc)
				return
			default:
				io.WriteString(c, "502 5.5.2 command not recognized\r\n")
			}
		}
	})
}

func TestTLS_STARTTLS(t *testing.T) {
	ca := newCA(t)
	cert := ca.issue(t, certOpts{names: []string{"mail.example.test"}})
	p := NewProber(Options{RootCAs: ca.pool})
	spec := Spec{Type: TLS, TLS: &TLSSpec{Address: fakeSMTP(t, cert, true), ServerName: "mail.example.test", StartTLS: "smtp"}}
	res := run(t, p, spec, 2*time.Second)
	wantOK(t, res)
	assertCond(t, TLS, res, `chain_valid && hostname_valid`, `cert.subject == "CN=mail.example.test"`)

	spec.TLS.Address = fakeSMTP(t, cert, false)
	wantErr(t, run(t, p, spec, 2*time.Second), `^SMTP server does not offer STARTTLS$`)

	// Not an SMTP server at all.
	spec.TLS.Address = listen(t, func(c net.Conn) { io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n"); time.Sleep(time.Second) })
	wantErr(t, run(t, p, spec, 2*time.Second), `^SMTP STARTTLS: greeting: short response: "HTTP/1.1 400 Bad Request"$`)

	// A server that goes away mid-conversation.
	spec.TLS.Address = listen(t, func(c net.Conn) { io.WriteString(c, "220-hello\r\n") })
	wantErr(t, run(t, p, spec, 2*time.Second), `^SMTP STARTTLS: greeting: connection closed by the peer$`)
}
