package probe

import (
	"encoding/json"
	"strings"
	"testing"

	"groundcrew.dev/groundcrew/internal/errs"
)

func TestSpec_Validate(t *testing.T) {
	h := func(mod func(*HTTPSpec)) *Spec {
		s := &HTTPSpec{URL: "https://api.example.com/health"}
		if mod != nil {
			mod(s)
		}
		return &Spec{Type: HTTP, HTTP: s}
	}
	for _, tc := range []struct {
		name  string
		spec  *Spec
		field string // "" when valid
		msg   string // part of the message
	}{
		{"nil", nil, "type", "is required"},
		{"unknown type", &Spec{Type: "ftp"}, "type", `"ftp" is not a probe type`},
		{"missing settings", &Spec{Type: DNS}, "dns", "is required for a dns probe"},
		{"other settings", &Spec{Type: HTTP, HTTP: &HTTPSpec{URL: "http://x"}, TCP: &TCPSpec{}}, "tcp", "must not be set for a http probe"},

		{"http ok", h(nil), "", ""},
		{"http full", h(func(s *HTTPSpec) {
			s.URL, s.Method, s.Body = "http://[::1]:8080/x?y=1#z", "PATCH", "{}"
			s.Headers = map[string]string{"X-Api-Key": "k", "Host": "svc.internal"}
			s.Redirects, s.MaxRedirects, s.MaxBodyBytes = RedirectsSameHost, 50, 64<<20
			s.ClientCertFile, s.ClientKeyFile, s.CAFile = "/etc/c.pem", "/etc/k.pem", "/etc/ca.pem"
		}), "", ""},
		{"http no url", h(func(s *HTTPSpec) { s.URL = "" }), "http.url", "is required"},
		{"http relative url", h(func(s *HTTPSpec) { s.URL = "/health" }), "http.url", "absolute http:// or https://"},
		{"http ftp url", h(func(s *HTTPSpec) { s.URL = "ftp://example.com/" }), "http.url", "absolute http:// or https://"},
		{"http no host", h(func(s *HTTPSpec) { s.URL = "http:///x" }), "http.url", "has no host"},
		{"http bad url", h(func(s *HTTPSpec) { s.URL = "http://exa mple.com/" }), "http.url", "is not a URL"},
		{"http bad host", h(func(s *HTTPSpec) { s.URL = "http://exa_$mple.com/" }), "http.url", "is not a valid host"},
		{"http bad port", h(func(s *HTTPSpec) { s.URL = "http://example.com:99999/" }), "http.url", `port "99999"`},
		{"http empty port", h(func(s *HTTPSpec) { s.URL = "http://example.com:/" }), "http.url", `port ""`},
		{"http bad method", h(func(s *HTTPSpec) { s.Method = "GET /" }), "http.method", "is not an HTTP method"},
		{"http bad header name", h(func(s *HTTPSpec) { s.Headers = map[string]string{"Bad Name": "x"} }), "http.headers", `"Bad Name" is not a valid header name`},
		{"http header injection", h(func(s *HTTPSpec) { s.Headers = map[string]string{"X": "a\r\nEvil: 1"} }), "http.headers.X", "without line breaks"},
		{"http redirects", h(func(s *HTTPSpec) { s.Redirects = "always" }), "http.redirects", `"always" is not a redirect policy`},
		{"http max redirects", h(func(s *HTTPSpec) { s.MaxRedirects = 51 }), "http.max_redirects", "must be 0"},
		{"http negative max redirects", h(func(s *HTTPSpec) { s.MaxRedirects = -1 }), "http.max_redirects", "must be 0"},
		{"http cert without key", h(func(s *HTTPSpec) { s.ClientCertFile = "/c.pem" }), "http.client_key_file", "is required with client_cert_file"},
		{"http key without cert", h(func(s *HTTPSpec) { s.ClientKeyFile = "/k.pem" }), "http.client_cert_file", "is required with client_key_file"},
		{"http body limit", h(func(s *HTTPSpec) { s.MaxBodyBytes = -5 }), "http.max_body_bytes", "must be 0"},
		{"http request body", h(func(s *HTTPSpec) { s.Body = strings.Repeat("x", 1<<20+1) }), "http.body", "at most 1 MiB"},

		{"tcp ok", &Spec{Type: TCP, TCP: &TCPSpec{Address: "db.internal:5432", Send: "PING\r\n", Expect: "PONG", TLS: true, TLSSkipVerify: true}}, "", ""},
		{"tcp ipv6", &Spec{Type: TCP, TCP: &TCPSpec{Address: "[2001:db8::1]:22"}}, "", ""},
		{"tcp no address", &Spec{Type: TCP, TCP: &TCPSpec{}}, "tcp.address", "is required"},
		{"tcp no port", &Spec{Type: TCP, TCP: &TCPSpec{Address: "db.internal"}}, "tcp.address", "must be host:port"},
		{"tcp port 0", &Spec{Type: TCP, TCP: &TCPSpec{Address: "db:0"}}, "tcp.address", `port "0"`},
		{"tcp named port", &Spec{Type: TCP, TCP: &TCPSpec{Address: "db:postgres"}}, "tcp.address", `port "postgres"`},
		{"tcp no host", &Spec{Type: TCP, TCP: &TCPSpec{Address: ":80"}}, "tcp.address", "has no host"},
		{"tcp skip verify without tls", &Spec{Type: TCP, TCP: &TCPSpec{Address: "db:1", TLSSkipVerify: true}}, "tcp.tls_skip_verify", "only applies with tls"},

		{"udp ok", &Spec{Type: UDP, UDP: &UDPSpec{Address: "ntp.internal:123", Send: "x"}}, "", ""},
		{"udp no send", &Spec{Type: UDP, UDP: &UDPSpec{Address: "ntp.internal:123"}}, "udp.send", "is required"},
		{"udp huge", &Spec{Type: UDP, UDP: &UDPSpec{Address: "h:1", Send: strings.Repeat("x", 70000)}}, "udp.send", "at most 65507"},

		{"dns ok", &Spec{Type: DNS, DNS: &DNSSpec{Name: "example.com", Type: "mx", Resolver: "192.0.2.53", Protocol: "tcp"}}, "", ""},
		{"dns srv name", &Spec{Type: DNS, DNS: &DNSSpec{Name: "_sip._tcp.example.com.", Type: "SRV", Resolver: "[2001:db8::53]:5353"}}, "", ""},
		{"dns ptr by ip", &Spec{Type: DNS, DNS: &DNSSpec{Name: "192.0.2.1", Type: "PTR"}}, "", ""},
		{"dns ip as A", &Spec{Type: DNS, DNS: &DNSSpec{Name: "192.0.2.1"}}, "dns.name", "with type PTR"},
		{"dns type", &Spec{Type: DNS, DNS: &DNSSpec{Name: "example.com", Type: "AXFR"}}, "dns.type", `"AXFR" is not a supported record type`},
		{"dns no name", &Spec{Type: DNS, DNS: &DNSSpec{}}, "dns.name", "is required"},
		{"dns bad name", &Spec{Type: DNS, DNS: &DNSSpec{Name: "exa mple.com"}}, "dns.name", "is not a domain name"},
		{"dns long label", &Spec{Type: DNS, DNS: &DNSSpec{Name: strings.Repeat("a", 64) + ".com"}}, "dns.name", "is not a domain name"},
		{"dns resolver", &Spec{Type: DNS, DNS: &DNSSpec{Name: "a.b", Resolver: "1.1.1.1:99999"}}, "dns.resolver", "host or host:port"},
		{"dns protocol", &Spec{Type: DNS, DNS: &DNSSpec{Name: "a.b", Protocol: "doh"}}, "dns.protocol", `"doh" is not a DNS transport`},

		{"tls ok", &Spec{Type: TLS, TLS: &TLSSpec{Address: "mail.example.com:25", StartTLS: "smtp", ServerName: "mail.example.com", CAFile: "/ca.pem"}}, "", ""},
		{"tls starttls", &Spec{Type: TLS, TLS: &TLSSpec{Address: "mail:143", StartTLS: "imap"}}, "tls.starttls", `"imap" is not supported`},
		{"tls server name", &Spec{Type: TLS, TLS: &TLSSpec{Address: "mail:443", ServerName: "a b"}}, "tls.server_name", "is not a host name"},
		{"tls address", &Spec{Type: TLS, TLS: &TLSSpec{Address: "mail"}}, "tls.address", "must be host:port"},

		{"icmp ok", &Spec{Type: ICMP, ICMP: &ICMPSpec{Host: "gw.internal", Count: 10}}, "", ""},
		{"icmp ipv6", &Spec{Type: ICMP, ICMP: &ICMPSpec{Host: "2001:db8::1"}}, "", ""},
		{"icmp no host", &Spec{Type: ICMP, ICMP: &ICMPSpec{}}, "icmp.host", "is required"},
		{"icmp bad host", &Spec{Type: ICMP, ICMP: &ICMPSpec{Host: "gw:1"}}, "icmp.host", "is not a host name or IP address"},
		{"icmp count", &Spec{Type: ICMP, ICMP: &ICMPSpec{Host: "gw", Count: 11}}, "icmp.count", "must be 0"},

		{"grpc ok", &Spec{Type: GRPC, GRPC: &GRPCSpec{Address: "api:443", Service: "payments.v1.Ledger", TLS: true, TLSSkipVerify: true}}, "", ""},
		{"grpc skip verify without tls", &Spec{Type: GRPC, GRPC: &GRPCSpec{Address: "api:443", TLSSkipVerify: true}}, "grpc.tls_skip_verify", "only applies with tls"},
		{"grpc address", &Spec{Type: GRPC, GRPC: &GRPCSpec{Address: "api"}}, "grpc.address", "must be host:port"},

		{"ssh ok", &Spec{Type: SSH, SSH: &SSHSpec{Address: "bastion:22"}}, "", ""},
		{"ssh address", &Spec{Type: SSH, SSH: &SSHSpec{Address: "bastion:-1"}}, "ssh.address", `port "-1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("Validate() = %v, want an Invalid error", err)
			}
			if f := errs.FieldOf(err); f != tc.field {
				t.Errorf("field = %q, want %q (%v)", f, tc.field, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

// FuzzValidate decodes arbitrary JSON into a Spec: Validate never panics,
// and a spec it accepts names its type's settings.
func FuzzValidate(f *testing.F) {
	for _, seed := range []string{
		`{"type":"http","http":{"url":"https://example.com/","method":"GET","headers":{"A":"b"},"redirects":"none"}}`,
		`{"type":"tcp","tcp":{"address":"[::1]:80","send":"x","expect":"y"}}`,
		`{"type":"dns","dns":{"name":"example.com","type":"MX","resolver":"1.1.1.1"}}`,
		`{"type":"tls","tls":{"address":"a:443","starttls":"smtp"}}`,
		`{"type":"icmp","icmp":{"host":"::1","count":3}}`,
		`{"type":"grpc","grpc":{"address":"a:1","service":"s"}}`,
		`{"type":"ssh","ssh":{"address":"a:22"}}`,
		`{"type":"udp","udp":{"address":"a:53","send":"x"}}`,
		`{"type":"http","http":{"url":"http://[::1]:/"}}`,
		`{}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Spec
		if json.Unmarshal(data, &s) != nil {
			return
		}
		err := s.Validate()
		if err != nil {
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) == "" {
				t.Fatalf("Validate() = %v: not an Invalid error naming a field", err)
			}
			return
		}
		if zeroVars(s.Type) == nil || len(Vars(s.Type)) == 0 {
			t.Fatalf("valid spec of type %q has no variables", s.Type)
		}
	})
}
