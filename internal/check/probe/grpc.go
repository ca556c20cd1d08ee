package probe

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// grpcRun is the state of one gRPC probe; gRPC dials and handshakes in
// its own goroutines, hence the mutex.
type grpcRun struct {
	s       *session
	service string

	mu     sync.Mutex
	step   step
	target string
	failed string // the connection failure, already worded
}

func (r *grpcRun) set(st step, target string) {
	r.mu.Lock()
	r.step, r.target = st, target
	r.mu.Unlock()
}

func (r *grpcRun) record(st step, target string, err error) {
	msg := reason(r.s.ctx, r.s.start, st, target, 0, err)
	r.mu.Lock()
	if r.failed == "" {
		r.failed = msg
	}
	r.mu.Unlock()
}

func (r *grpcRun) fail(err error) string {
	r.mu.Lock()
	st, target, failed := r.step, r.target, r.failed
	r.mu.Unlock()
	if failed != "" && r.s.ctx.Err() == nil {
		return failed
	}
	if r.s.ctx.Err() != nil {
		return reason(r.s.ctx, r.s.start, st, target, 0, err)
	}
	switch st := status.Convert(err); st.Code() {
	case codes.Unimplemented:
		return "health check: the server does not implement grpc.health.v1.Health"
	case codes.NotFound:
		return fmt.Sprintf("health check: the server knows no service %q (NotFound)", r.service)
	default:
		return fmt.Sprintf("health check: %s: %s", st.Code(), st.Message())
	}
}

// recordingCreds words the TLS handshake's failure, which gRPC would
// otherwise bury in a status message.
type recordingCreds struct {
	credentials.TransportCredentials
	run  *grpcRun
	addr string
}

func (c recordingCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	c.run.set(stepTLS, c.addr)
	nc, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, conn)
	if err != nil {
		c.run.record(stepTLS, c.addr, err)
		return nil, nil, err
	}
	c.run.set(stepRPC, "")
	return nc, info, nil
}

func (c recordingCreds) Clone() credentials.TransportCredentials {
	return recordingCreds{c.TransportCredentials.Clone(), c.run, c.addr}
}

// runGRPC calls grpc.health.v1.Health/Check over a connection of its own,
// closed afterwards.
func (p *Prober) runGRPC(s *session, spec *GRPCSpec) Result {
	vars := zeroVars(GRPC)
	run := &grpcRun{s: s, service: spec.Service, step: stepConnect, target: spec.Address}
	creds := insecure.NewCredentials()
	if spec.TLS {
		creds = credentials.NewTLS(&tls.Config{RootCAs: p.opts.RootCAs, InsecureSkipVerify: spec.TLSSkipVerify})
	}
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		run.set(stepConnect, addr)
		conn, err := p.dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			run.record(stepConnect, addr, err)
			return nil, err
		}
		run.set(stepRPC, "")
		return conn, nil
	}
	conn, err := grpc.NewClient("passthrough:///"+spec.Address,
		grpc.WithTransportCredentials(recordingCreds{creds, run, spec.Address}),
		grpc.WithContextDialer(dial),
		grpc.WithUserAgent(userAgent),
		grpc.WithNoProxy(),
		grpc.WithDisableRetry(),
		grpc.WithDisableServiceConfig(),
	)
	if err != nil {
		return Result{Err: "gRPC client: " + err.Error(), Vars: vars}
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(s.ctx, &healthpb.HealthCheckRequest{Service: spec.Service})
	if err != nil {
		return Result{Err: run.fail(err), Vars: vars}
	}
	vars["serving_status"] = resp.GetStatus().String()
	return Result{Vars: vars}
}
