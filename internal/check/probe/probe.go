package probe

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"sync"
	"time"

	"groundcrew.dev/groundcrew/internal/clock"
)

// Result is what one probe saw.
type Result struct {
	// Err is "" when the exchange completed (the conditions then decide
	// the state); otherwise the precise reason it did not, such as
	// "connect 127.0.0.1:1: connection refused" or "timeout after 2s while
	// reading the body (412 bytes received)".
	Err string
	// Duration is how long the whole exchange took.
	Duration time.Duration
	// Vars are the variables the check's conditions are evaluated against:
	// every variable Vars declares for the type, zero-valued where the
	// probe got no value, and always "duration".
	Vars map[string]any
}

// Options configure a Prober. The zero value is a usable configuration.
type Options struct {
	// Clock tells the time certificate expiry is measured against; default
	// clock.Real. Durations are measured with the monotonic clock.
	Clock clock.Clock
	// RootCAs are the roots HTTPS, TLS, TCP-over-TLS and gRPC probes trust
	// when a spec names no ca_file; nil means the system's.
	RootCAs *x509.CertPool
	// DefaultTimeout bounds a probe whose context has no deadline; default
	// 30 s, so that no probe can hang a worker.
	DefaultTimeout time.Duration
	// MaxIdleConns caps the HTTP keep-alive connections kept open between
	// runs, over all hosts; default 4096. Reuse saves most of the cost of a
	// probe (a TLS handshake costs more CPU than the request).
	MaxIdleConns int
	// IdleConnTimeout closes a keep-alive connection unused for that long;
	// default 90 s, longer than the usual check interval.
	IdleConnTimeout time.Duration
	// Resolver (host:port) answers DNS probes that name none; default the
	// first nameserver of ResolvConf.
	Resolver string
	// ResolvConf is the resolver configuration read when Resolver is
	// empty; default /etc/resolv.conf. It is re-read when it changes.
	ResolvConf string
	// HeloName is the name sent in SMTP EHLO before STARTTLS; default
	// "localhost".
	HeloName string
	// HostResolver resolves the host names probes connect to; nil means
	// net.DefaultResolver.
	HostResolver *net.Resolver
	// NoRawICMP stops an ICMP probe from falling back to a raw socket
	// (which needs CAP_NET_RAW) when the kernel refuses unprivileged ping
	// sockets.
	NoRawICMP bool
}

// Prober runs probes and keeps what is worth keeping between runs: one
// HTTP transport (with its keep-alive connections) per distinct TLS
// configuration, loaded client certificates and CA bundles, the resolver
// configuration. Safe for concurrent use; the zero value is not usable, use
// NewProber.
type Prober struct {
	opts   Options
	dialer net.Dialer

	mu         sync.Mutex
	transports map[transportKey]*transport
	cas        map[string]*loadedCA
	resolv     resolvCache
}

// NewProber returns a Prober with opts (zero fields take their defaults).
func NewProber(opts Options) *Prober {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.DefaultTimeout <= 0 {
		opts.DefaultTimeout = 30 * time.Second
	}
	if opts.MaxIdleConns <= 0 {
		opts.MaxIdleConns = 4096
	}
	if opts.IdleConnTimeout <= 0 {
		opts.IdleConnTimeout = 90 * time.Second
	}
	if opts.ResolvConf == "" {
		opts.ResolvConf = "/etc/resolv.conf"
	}
	if opts.HeloName == "" {
		opts.HeloName = "localhost"
	}
	return &Prober{
		opts: opts,
		// The probe's context bounds every dial; this only caps a dial
		// that outlives its probe (an HTTP dial continues in the
		// background so that a later run may use the connection).
		dialer:     net.Dialer{Timeout: time.Minute, KeepAlive: -1, Resolver: opts.HostResolver},
		transports: map[transportKey]*transport{},
		cas:        map[string]*loadedCA{},
	}
}

// Close closes the idle keep-alive connections. The Prober stays usable.
func (p *Prober) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.transports {
		t.rt.CloseIdleConnections()
	}
}

// Run runs the probe s with a fresh Prober, so nothing is reused between
// calls; long-running callers keep a Prober instead.
func Run(ctx context.Context, s *Spec) Result {
	p := NewProber(Options{})
	defer p.Close()
	return p.Run(ctx, s)
}

// Run runs the probe s, bounded by ctx (or Options.DefaultTimeout when ctx
// has no deadline): the deadline applies to the whole exchange, so a
// server that trickles bytes cannot stretch it. Run never panics; a spec
// that fails Validate gives a Result whose Err says why.
func (p *Prober) Run(ctx context.Context, s *Spec) (res Result) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.opts.DefaultTimeout)
		defer cancel()
	}
	start := time.Now()
	var typ Type
	if s != nil {
		typ = s.Type
	}
	defer func() {
		if r := recover(); r != nil {
			res = Result{Err: fmt.Sprintf("internal error in the %s probe: %v", typ, r)}
		}
		res.Duration = time.Since(start)
		if res.Vars == nil {
			res.Vars = zeroVars(typ)
		}
		res.Vars["duration"] = res.Duration
	}()
	if s == nil {
		return Result{Err: "invalid probe: no spec"}
	}
	sess := &session{ctx: ctx, start: start}
	switch s.Type {
	case HTTP:
		if s.HTTP != nil {
			return p.runHTTP(ctx, start, s.HTTP)
		}
	case TCP:
		if s.TCP != nil {
			return p.runTCP(sess, s.TCP)
		}
	case UDP:
		if s.UDP != nil {
			return p.runUDP(sess, s.UDP)
		}
	case DNS:
		if s.DNS != nil {
			return p.runDNS(sess, s.DNS)
		}
	case TLS:
		if s.TLS != nil {
			return p.runTLS(sess, s.TLS)
		}
	case ICMP:
		if s.ICMP != nil {
			return p.runICMP(sess, s.ICMP)
		}
	case GRPC:
		if s.GRPC != nil {
			return p.runGRPC(sess, s.GRPC)
		}
	case SSH:
		if s.SSH != nil {
			return p.runSSH(sess, s.SSH)
		}
	default:
		return Result{Err: fmt.Sprintf("invalid probe: unknown type %q", s.Type)}
	}
	return Result{Err: fmt.Sprintf("invalid probe: %s settings missing", s.Type)}
}

// connect dials network/addr within the session's context and binds the
// connection to it: the context's deadline becomes the connection's, and
// cancelling the context unblocks any read or write. The returned stop
// function releases the binding; call it before closing the connection.
func (p *Prober) connect(s *session, network, addr string) (net.Conn, func() bool, error) {
	s.set(stepConnect, addr)
	conn, err := p.dialer.DialContext(s.ctx, network, addr)
	if err != nil {
		return nil, nil, err
	}
	if d, ok := s.ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	stop := context.AfterFunc(s.ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return conn, stop, nil
}

// bufPool holds 64 KiB read buffers, enough for any datagram and for the
// replies TCP and SSH probes read, so that a run allocates none.
var bufPool = sync.Pool{New: func() any { b := make([]byte, maxReply); return &b }}

// maxReply is the most a TCP, UDP or SSH probe reads.
const maxReply = 64 << 10
