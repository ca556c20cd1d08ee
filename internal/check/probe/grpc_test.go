package probe

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// grpcServer starts a gRPC server on loopback, with the health service
// unless withHealth is false.
func grpcServer(t *testing.T, cert *tls.Certificate, withHealth bool) string {
	t.Helper()
	var opts []grpc.ServerOption
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewServerTLSFromCert(cert)))
	}
	srv := grpc.NewServer(opts...)
	if withHealth {
		h := health.NewServer()
		h.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		h.SetServingStatus("payments.v1.Ledger", healthpb.HealthCheckResponse_SERVING)
		h.SetServingStatus("db", healthpb.HealthCheckResponse_NOT_SERVING)
		healthpb.RegisterHealthServer(srv, h)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return l.Addr().String()
}

func TestGRPC(t *testing.T) {
	addr := grpcServer(t, nil, true)
	bare := grpcServer(t, nil, false)
	ca := newCA(t)
	cert := ca.issue(t, certOpts{})
	secure := grpcServer(t, &cert, true)
	refused := closedPort(t)
	spec := func(addr, service string) Spec {
		return Spec{Type: GRPC, GRPC: &GRPCSpec{Address: addr, Service: service}}
	}
	tlsSpec := func(addr string, skip bool) Spec {
		return Spec{Type: GRPC, GRPC: &GRPCSpec{Address: addr, TLS: true, TLSSkipVerify: skip}}
	}
	for _, tc := range []struct {
		name  string
		p     *Prober
		spec  Spec
		err   string
		conds []string
	}{
		{"server", nil, spec(addr, ""), "", []string{`serving_status == "SERVING"`}},
		{"named service", nil, spec(addr, "payments.v1.Ledger"), "", []string{`serving_status == "SERVING"`}},
		{"not serving", nil, spec(addr, "db"), "", []string{`serving_status == "NOT_SERVING"`, `!(serving_status == "SERVING")`}},
		{"unknown service", nil, spec(addr, "nosuch"), `^health check: the server knows no service "nosuch" \(NotFound\)$`, []string{`serving_status == ""`}},
		{"no health service", nil, spec(bare, ""), `^health check: the server does not implement grpc.health.v1.Health$`, nil},
		{"refused", nil, spec(refused, ""), `^connect ` + refused + `: connection refused$`, nil},
		{"TLS, unknown authority", nil, tlsSpec(secure, false), `^TLS handshake: x509: certificate signed by unknown authority`, nil},
		{"TLS, skip verify", nil, tlsSpec(secure, true), "", []string{`serving_status == "SERVING"`}},
		{"TLS, trusted", NewProber(Options{RootCAs: ca.pool}), tlsSpec(secure, false), "", []string{`serving_status == "SERVING"`}},
		{"TLS to a plaintext server", nil, tlsSpec(addr, true), `^TLS handshake: `, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, tc.p, tc.spec, 2*time.Second)
			if tc.err == "" {
				wantOK(t, res)
			} else {
				wantErr(t, res, tc.err)
			}
			assertCond(t, GRPC, res, tc.conds...)
		})
	}
}

func TestGRPC_Timeout(t *testing.T) {
	// Accepts, never speaks HTTP/2.
	silent := listen(t, func(c net.Conn) { time.Sleep(2 * time.Second) })
	res := run(t, nil, Spec{Type: GRPC, GRPC: &GRPCSpec{Address: silent}}, 300*time.Millisecond)
	wantErr(t, res, `^timeout after 300ms while calling grpc.health.v1.Health/Check$`)
	within(t, res, 300*time.Millisecond)
}
