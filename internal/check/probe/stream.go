package probe

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// runTCP connects (with TLS if asked), sends spec.Send if any, and reads
// the reply when it expects one: up to spec.Expect, or the first chunk
// after a send. A probe with neither only connects.
func (p *Prober) runTCP(s *session, spec *TCPSpec) Result {
	vars := zeroVars(TCP)
	conn, stop, err := p.connect(s, "tcp", spec.Address)
	if err != nil {
		return Result{Err: s.fail(err), Vars: vars}
	}
	defer conn.Close()
	defer stop()
	if spec.TLS {
		host, _, _ := net.SplitHostPort(spec.Address)
		s.set(stepTLS, spec.Address)
		tc := tls.Client(conn, &tls.Config{ServerName: host, RootCAs: p.opts.RootCAs, InsecureSkipVerify: spec.TLSSkipVerify})
		if err := tc.HandshakeContext(s.ctx); err != nil {
			return Result{Err: s.fail(err), Vars: vars}
		}
		conn = tc
	}
	vars["connected"] = true
	if spec.Send != "" {
		s.set(stepSend, spec.Address)
		if _, err := io.WriteString(conn, spec.Send); err != nil {
			return Result{Err: s.fail(err), Vars: vars}
		}
	}
	if spec.Send == "" && spec.Expect == "" {
		return Result{Vars: vars}
	}
	s.set(stepReply, spec.Expect)
	resp, err := readReply(s, conn, spec.Expect)
	vars["response"] = resp
	if err != nil {
		return Result{Err: s.fail(err), Vars: vars}
	}
	return Result{Vars: vars}
}

// readReply reads from conn until expect arrives (or, when expect is
// empty, until anything arrives), the peer closes, or 64 KiB have come.
func readReply(s *session, conn net.Conn, expect string) (string, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf, n := *bp, 0
	for {
		m, err := conn.Read(buf[n:])
		n += m
		s.received = n
		if expect == "" && n > 0 {
			return string(buf[:n]), nil
		}
		// Only the new bytes, with enough before them to complete a match.
		if expect != "" && bytes.Contains(buf[max(0, n-m-len(expect)+1):n], []byte(expect)) {
			return string(buf[:n]), nil
		}
		switch {
		case errors.Is(err, io.EOF) && expect == "":
			return "", &probeError{"connection closed without a reply"}
		case errors.Is(err, io.EOF):
			return string(buf[:n]), &probeError{fmt.Sprintf("connection closed before %q was received (%d bytes received)", expect, n)}
		case err != nil:
			return string(buf[:n]), err
		case n == len(buf):
			return string(buf[:n]), &probeError{fmt.Sprintf("%q not found in the first 64 KiB of the reply", expect)}
		}
	}
}

// runUDP sends one datagram and reads one reply.
func (p *Prober) runUDP(s *session, spec *UDPSpec) Result {
	vars := zeroVars(UDP)
	conn, stop, err := p.connect(s, "udp", spec.Address)
	if err != nil {
		return Result{Err: s.fail(err), Vars: vars}
	}
	defer conn.Close()
	defer stop()
	s.set(stepSend, spec.Address)
	if _, err := io.WriteString(conn, spec.Send); err != nil {
		return Result{Err: s.fail(err), Vars: vars}
	}
	s.set(stepReply, "")
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	n, err := conn.Read(*bp)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return Result{Err: fmt.Sprintf("no reply: %s is unreachable (ICMP port unreachable: nothing listens there)", spec.Address), Vars: vars}
	}
	if err != nil {
		return Result{Err: s.fail(err), Vars: vars}
	}
	resp := string((*bp)[:n])
	vars["response"] = resp
	if !bytes.Contains((*bp)[:n], []byte(spec.Expect)) {
		return Result{Err: fmt.Sprintf("the reply does not contain %q", spec.Expect), Vars: vars}
	}
	return Result{Vars: vars}
}

// Limits of the SSH identification exchange (RFC 4253, 4.2): lines of at
// most 255 bytes; we read at most 8 KiB of lines before the banner.
const (
	maxSSHLine     = 255
	maxSSHPreamble = 8 << 10
)

// runSSH reads the server's identification line ("SSH-2.0-…"), skipping
// the other lines a server may send first.
func (p *Prober) runSSH(s *session, spec *SSHSpec) Result {
	vars := zeroVars(SSH)
	conn, stop, err := p.connect(s, "tcp", spec.Address)
	if err != nil {
		return Result{Err: s.fail(err), Vars: vars}
	}
	defer conn.Close()
	defer stop()
	s.set(stepBanner, "")
	banner, err := readBanner(s, conn)
	if err != nil {
		return Result{Err: s.fail(err), Vars: vars}
	}
	vars["banner"] = banner
	return Result{Vars: vars}
}

func readBanner(s *session, conn net.Conn) (string, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := (*bp)[:maxSSHPreamble]
	n, lineStart := 0, 0
	for {
		m, err := conn.Read(buf[n:])
		n += m
		s.received = n
		for {
			i := bytes.IndexByte(buf[lineStart:n], '\n')
			if i < 0 {
				break
			}
			line := bytes.TrimSuffix(buf[lineStart:lineStart+i], []byte("\r"))
			if len(line) > maxSSHLine {
				return "", &probeError{fmt.Sprintf("a line of %d bytes before the SSH banner (at most %d allowed)", len(line), maxSSHLine)}
			}
			if bytes.HasPrefix(line, []byte("SSH-")) {
				return string(line), nil
			}
			lineStart += i + 1
		}
		switch {
		case n-lineStart > maxSSHLine:
			return "", &probeError{fmt.Sprintf("a line of more than %d bytes before the SSH banner", maxSSHLine)}
		case errors.Is(err, io.EOF):
			return "", &probeError{fmt.Sprintf("connection closed before the SSH banner (%d bytes received)", n)}
		case err != nil:
			return "", err
		case n == len(buf):
			return "", &probeError{"no SSH banner in the first 8 KiB"}
		}
	}
}
