package probe

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"strings"
)

// loadedCA is a CA bundle with the state of its file when it was read.
type loadedCA struct {
	stamp fileStamp
	pool  *x509.CertPool
}

// caPool returns the certificates of the PEM file path, re-reading it
// when it changed.
func (p *Prober) caPool(path string) (*x509.CertPool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.caPoolLocked(path)
}

func (p *Prober) caPoolLocked(path string) (*x509.CertPool, error) {
	st, err := stampFiles([2]string{"ca_file", path})
	if err != nil {
		return nil, err
	}
	if c := p.cas[path]; c != nil && c.stamp == st {
		return c.pool, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", path)
	}
	p.cas[path] = &loadedCA{stamp: st, pool: pool}
	return pool, nil
}

// runTLS completes a handshake whatever the certificate, then judges the
// chain and the name itself, so that an expired or mismatched certificate
// is described (chain_valid, hostname_valid, cert) rather than only refused.
func (p *Prober) runTLS(s *session, spec *TLSSpec) Result {
	vars := zeroVars(TLS)
	roots := p.opts.RootCAs
	if spec.CAFile != "" {
		var err error
		if roots, err = p.caPool(spec.CAFile); err != nil {
			return Result{Err: err.Error(), Vars: vars}
		}
	}
	conn, stop, err := p.connect(s, "tcp", spec.Address)
	if err != nil {
		return Result{Err: s.fail(err), Vars: vars}
	}
	defer conn.Close()
	defer stop()
	if spec.StartTLS == "smtp" {
		s.set(stepSMTP, "")
		if err := startSMTP(conn, p.opts.HeloName); err != nil {
			return Result{Err: s.fail(err), Vars: vars}
		}
	}
	name := spec.ServerName
	if name == "" {
		name, _, _ = net.SplitHostPort(spec.Address)
	}
	s.set(stepTLS, spec.Address)
	tc := tls.Client(conn, &tls.Config{
		InsecureSkipVerify: true, // judged below, so that a bad chain is described, not only refused
		ServerName:         name,
		MinVersion:         tls.VersionTLS10,
	})
	if err := tc.HandshakeContext(s.ctx); err != nil {
		return Result{Err: s.fail(err), Vars: vars}
	}
	defer tc.Close()
	state := tc.ConnectionState()
	if len(state.PeerCertificates) == 0 {
		return Result{Err: "TLS handshake: the server sent no certificate", Vars: vars}
	}
	now := p.opts.Clock.Now()
	leaf := state.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range state.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, verr := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now})
	vars["cert"] = certVars(leaf, now)
	vars["chain_valid"] = verr == nil
	if verr != nil {
		vars["chain_error"] = cleanErr(verr)
	}
	vars["hostname_valid"] = leaf.VerifyHostname(name) == nil
	vars["tls_version"] = tls.VersionName(state.Version)
	return Result{Vars: vars}
}

// startSMTP upgrades a plain SMTP connection (RFC 3207): greeting, EHLO,
// STARTTLS. Replies are read with a size limit; the deadline is the
// connection's.
func startSMTP(conn net.Conn, helo string) error {
	br := bufio.NewReaderSize(io.LimitReader(conn, maxReply), 1024)
	r := textproto.NewReader(br)
	if _, _, err := r.ReadResponse(220); err != nil {
		return &contextError{"greeting", err}
	}
	if _, err := fmt.Fprintf(conn, "EHLO %s\r\n", helo); err != nil {
		return err
	}
	_, msg, err := r.ReadResponse(250)
	if err != nil {
		return &contextError{"EHLO", err}
	}
	offered := false
	for _, line := range strings.Split(msg, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.EqualFold(f[0], "STARTTLS") {
			offered = true
		}
	}
	if !offered {
		return &probeError{"SMTP server does not offer STARTTLS"}
	}
	if _, err := io.WriteString(conn, "STARTTLS\r\n"); err != nil {
		return err
	}
	if _, _, err := r.ReadResponse(220); err != nil {
		return &contextError{"STARTTLS", err}
	}
	if br.Buffered() > 0 {
		// Bytes before the handshake would be taken as encrypted
		// (the STARTTLS injection flaw): refuse.
		return &probeError{"SMTP server sent data after its STARTTLS reply"}
	}
	return nil
}
