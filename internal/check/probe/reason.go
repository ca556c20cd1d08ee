package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// step is what a probe was doing when it failed; it words the reason.
type step uint8

const (
	stepConnect  step = iota // target: the address
	stepTLS                  // target: the address
	stepSend                 // target: the address
	stepReply                // target: the expected text, if any
	stepResponse             // HTTP, up to the response headers
	stepBody                 // HTTP body
	stepBanner               // SSH
	stepSMTP                 // STARTTLS for SMTP
	stepQuery                // target: the resolver
	stepRPC                  // gRPC health check
	stepEcho                 // target: the pinged address
)

// session tracks the progress of one probe for its failure reason.
type session struct {
	ctx      context.Context
	start    time.Time
	step     step
	target   string
	received int // bytes received so far in a counting step
}

func (s *session) set(st step, target string) { s.step, s.target = st, target }

// fail returns the reason for err, which ended the session.
func (s *session) fail(err error) string {
	return reason(s.ctx, s.start, s.step, s.target, s.received, err)
}

// reason words the failure err of a probe that started at start and was
// at step (on target, with received bytes in) when it failed: a timeout
// names the time and the step, any other error the step and the cause
// stripped of Go's wrapping ("connect 127.0.0.1:1: connection refused").
func reason(ctx context.Context, start time.Time, st step, target string, received int, err error) string {
	var (
		pe     *probeError
		dnsErr *net.DNSError
	)
	if errors.As(err, &pe) {
		return pe.msg
	}
	deadline, hasDeadline := ctx.Deadline()
	timeoutErr := isTimeout(err) || errors.Is(err, context.DeadlineExceeded)
	switch {
	case hasDeadline && !time.Now().Before(deadline) && (ctx.Err() != nil || timeoutErr):
		return fmt.Sprintf("timeout after %s %s%s", roundTimeout(deadline.Sub(start)), st.while(target), st.count(received))
	case ctx.Err() != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded):
		// A timeout on another clock (clock.WithTimeout on a fake one):
		// its length is the caller's to tell.
		return fmt.Sprintf("timeout %s%s", st.while(target), st.count(received))
	case ctx.Err() != nil:
		return fmt.Sprintf("canceled %s%s", st.while(target), st.count(received))
	case timeoutErr:
		return fmt.Sprintf("timeout %s%s", st.while(target), st.count(received))
	case st == stepConnect && errors.As(err, &dnsErr):
		msg := dnsErr.Err
		if dnsErr.IsNotFound {
			msg = "no such host"
		}
		return fmt.Sprintf("resolve %s: %s", dnsErr.Name, msg)
	}
	return fmt.Sprintf("%s: %s%s", st.verb(target), cleanErr(err), st.count(received))
}

// roundTimeout shows a timeout as people set it: 2s, not 1.999873s.
func roundTimeout(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

func (st step) while(target string) string {
	switch st {
	case stepConnect:
		return "while connecting to " + target
	case stepTLS:
		return "during the TLS handshake with " + target
	case stepSend:
		return "while sending to " + target
	case stepReply:
		if target != "" {
			return fmt.Sprintf("while waiting for %q", target)
		}
		return "while waiting for a reply"
	case stepResponse:
		return "while waiting for the response"
	case stepBody:
		return "while reading the body"
	case stepBanner:
		return "while waiting for the SSH banner"
	case stepSMTP:
		return "during the SMTP STARTTLS exchange"
	case stepQuery:
		return "while waiting for the answer from " + target
	case stepRPC:
		return "while calling grpc.health.v1.Health/Check"
	case stepEcho:
		return "while waiting for an echo reply from " + target
	}
	return "while probing"
}

func (st step) verb(target string) string {
	switch st {
	case stepConnect:
		return "connect " + target
	case stepTLS:
		return "TLS handshake"
	case stepSend:
		return "send"
	case stepReply:
		return "read"
	case stepResponse:
		return "HTTP exchange"
	case stepBody:
		return "reading the body"
	case stepBanner:
		return "reading the SSH banner"
	case stepSMTP:
		return "SMTP STARTTLS"
	case stepQuery:
		return "DNS query to " + target
	case stepRPC:
		return "health check"
	case stepEcho:
		return "ping " + target
	}
	return "probe"
}

// count says how much a reading step had received, which tells a
// trickling server from a silent one.
func (st step) count(received int) string {
	switch st {
	case stepReply, stepBody, stepBanner:
		if received == 1 {
			return " (1 byte received)"
		}
		return fmt.Sprintf(" (%d bytes received)", received)
	}
	return ""
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// cleanErr strips Go's wrapping from err, keeping the cause a person
// acts on: "connection refused", not "dial tcp 127.0.0.1:1: connect:
// connection refused".
func cleanErr(err error) string {
	var (
		ce  *contextError
		cve *tls.CertificateVerificationError
		ue  *url.Error
		oe  *net.OpError
		se  *os.SyscallError
	)
	switch {
	case errors.As(err, &ce):
		return ce.context + ": " + cleanErr(ce.err)
	case errors.As(err, &cve):
		return cleanErr(cve.Err)
	case errors.As(err, &ue):
		return cleanErr(ue.Err)
	case errors.As(err, &oe) && oe.Err != nil:
		switch oe.Op {
		case "dial", "read", "write", "close":
			return cleanErr(oe.Err)
		}
		return oe.Op + ": " + cleanErr(oe.Err)
	case errors.As(err, &se):
		return se.Err.Error()
	case errors.Is(err, io.EOF):
		return "connection closed by the peer"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the peer before the end of the message"
	case strings.HasPrefix(err.Error(), "net/http: HTTP/1.x transport connection broken: ") && errors.Unwrap(err) != nil:
		return cleanErr(errors.Unwrap(err))
	case strings.HasPrefix(err.Error(), "readLoopPeekFailLocked: "):
		return "the server spoke before the request (not an HTTP server?)"
	}
	return err.Error()
}

// probeError is an error whose message is already a reason.
type probeError struct{ msg string }

func (e *probeError) Error() string { return e.msg }

// contextError says in which part of a step err happened ("greeting").
type contextError struct {
	context string
	err     error
}

func (e *contextError) Error() string { return e.context + ": " + e.err.Error() }
func (e *contextError) Unwrap() error { return e.err }
