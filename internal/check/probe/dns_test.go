package probe

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// testDNS is an authoritative server for example.test on loopback, over
// UDP and TCP on the same port.
type testDNS struct{ addr string }

// startDNS serves:
//
//	example.test        A 192.0.2.1, 192.0.2.2; MX 10 mx.example.test.; TXT "v=spf1 " "-all"
//	www.example.test    CNAME example.test.
//	big.example.test    A 192.0.2.10 (truncated over UDP, whole over TCP)
//	1.2.0.192.in-addr.arpa. PTR example.test.
//	anything else       NXDOMAIN
func startDNS(t *testing.T) *testDNS {
	t.Helper()
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	zone := map[string][]dns.RR{
		"example.test.": {
			rr("example.test. 60 IN A 192.0.2.1"), rr("example.test. 60 IN A 192.0.2.2"),
			rr("example.test. 60 IN MX 10 mx.example.test."), rr(`example.test. 60 IN TXT "v=spf1 " "-all"`),
		},
		"www.example.test.":       {rr("www.example.test. 60 IN CNAME example.test."), rr("example.test. 60 IN A 192.0.2.1")},
		"big.example.test.":       {rr("big.example.test. 60 IN A 192.0.2.10")},
		"1.2.0.192.in-addr.arpa.": {rr("1.2.0.192.in-addr.arpa. 60 IN PTR example.test.")},
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		q := req.Question[0]
		rrs, ok := zone[q.Name]
		if !ok {
			m.Rcode = dns.RcodeNameError
		}
		_, udp := w.RemoteAddr().(*net.UDPAddr)
		if q.Name == "big.example.test." && udp {
			m.Truncated = true
			rrs = nil
		}
		for _, r := range rrs {
			if r.Header().Rrtype == q.Qtype || r.Header().Rrtype == dns.TypeCNAME || q.Name == "www.example.test." {
				m.Answer = append(m.Answer, r)
			}
		}
		w.WriteMsg(m)
	})
	// The same port over UDP and TCP: a free UDP port may be taken over
	// TCP by another process, so try a few.
	var pc net.PacketConn
	var l net.Listener
	for attempt := 0; ; attempt++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		if attempt == 20 {
			t.Fatal(err)
		}
	}
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: l, Handler: handler}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	return &testDNS{addr: pc.LocalAddr().String()}
}

// netResolver is a Go resolver that asks the test server, so that name
// resolution in tests never leaves loopback.
func (d *testDNS) netResolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var dialer net.Dialer
		return dialer.DialContext(ctx, network, d.addr)
	}}
}

func TestDNS(t *testing.T) {
	srv := startDNS(t)
	for _, tc := range []struct {
		name, qname, qtype, proto string
		conds                     []string
	}{
		{"A", "example.test", "", "", []string{`rcode == "NOERROR"`, `answers == ["192.0.2.1", "192.0.2.2"]`, `rcode == "NOERROR" && size(answers) > 0`}},
		{"MX", "example.test.", "MX", "", []string{`answers == ["10 mx.example.test."]`}},
		{"TXT joined", "example.test", "txt", "", []string{`answers == ["v=spf1 -all"]`, `answers.exists(a, a.startsWith("v=spf1"))`}},
		{"A over TCP", "example.test", "A", "tcp", []string{`"192.0.2.2" in answers`}},
		{"only the queried type", "www.example.test", "A", "", []string{`answers == ["192.0.2.1"]`}},
		{"CNAME", "www.example.test", "CNAME", "", []string{`answers == ["example.test."]`}},
		{"no record of the type", "example.test", "AAAA", "", []string{`rcode == "NOERROR"`, `size(answers) == 0`, `!(rcode == "NOERROR" && size(answers) > 0)`}},
		{"NXDOMAIN", "nosuch.example.test", "A", "", []string{`rcode == "NXDOMAIN"`, `answers == []`}},
		{"truncated over UDP, retried over TCP", "big.example.test", "A", "", []string{`answers == ["192.0.2.10"]`}},
		{"PTR by address", "192.0.2.1", "PTR", "", []string{`answers == ["example.test."]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, nil, Spec{Type: DNS, DNS: &DNSSpec{Name: tc.qname, Type: tc.qtype, Resolver: srv.addr, Protocol: tc.proto}}, 2*time.Second)
			wantOK(t, res)
			assertCond(t, DNS, res, tc.conds...)
		})
	}
}

func TestDNS_Failures(t *testing.T) {
	// A resolver that never answers.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	res := run(t, nil, Spec{Type: DNS, DNS: &DNSSpec{Name: "example.test", Resolver: silent.LocalAddr().String()}}, 300*time.Millisecond)
	wantErr(t, res, `^timeout after 300ms while waiting for the answer from `+silent.LocalAddr().String()+`$`)
	within(t, res, 300*time.Millisecond)

	addr := closedPort(t)
	res = run(t, nil, Spec{Type: DNS, DNS: &DNSSpec{Name: "example.test", Resolver: addr, Protocol: "tcp"}}, 2*time.Second)
	wantErr(t, res, `^connect `+addr+`: connection refused$`)

	// Without a resolver, the configuration names none.
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(conf, []byte("search example.test\n"), 0o644)
	p := NewProber(Options{ResolvConf: conf})
	res = run(t, p, Spec{Type: DNS, DNS: &DNSSpec{Name: "example.test"}}, 2*time.Second)
	wantErr(t, res, `^no resolver: .*resolv.conf names no nameserver; set dns.resolver$`)
}

func TestDNS_SystemResolver(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(conf, []byte("nameserver 127.0.0.53\nnameserver 127.0.0.54\n"), 0o644)
	p := NewProber(Options{ResolvConf: conf})
	if got, err := p.systemResolver(); got != "127.0.0.53:53" || err != nil {
		t.Fatalf("systemResolver() = %q, %v", got, err)
	}
	os.WriteFile(conf, []byte("nameserver ::1\n"), 0o644)
	later := time.Now().Add(time.Minute)
	os.Chtimes(conf, later, later)
	if got, err := p.systemResolver(); got != "[::1]:53" || err != nil {
		t.Fatalf("after a change, systemResolver() = %q, %v", got, err)
	}
}
