// Package probe runs one probe of a health check — an HTTP request, a TCP
// connection, a DNS query… — and reports what it saw as typed variables
// that check conditions (CEL) are evaluated against.
//
// A probe never panics and never blocks past its context: a refused
// connection, a TLS error, a redirect loop, an endless body or a server that
// trickles bytes all end as a Result with a precise reason.
package probe

import (
	"encoding/json"
	"fmt"
	"time"
)

// Type names a kind of probe.
type Type string

// The probe types.
const (
	HTTP Type = "http"
	TCP  Type = "tcp"
	UDP  Type = "udp"
	DNS  Type = "dns"
	TLS  Type = "tls"
	ICMP Type = "icmp"
	GRPC Type = "grpc"
	SSH  Type = "ssh"
)

// Types lists every probe type.
var Types = []Type{HTTP, TCP, UDP, DNS, TLS, ICMP, GRPC, SSH}

// Duration is a time.Duration written as a Go duration string ("30s",
// "1m30s") in JSON and YAML.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration such as \"30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"30s\"", s)
	}
	*d = Duration(v)
	return nil
}

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// HTTPSpec is an HTTP(S) request.
type HTTPSpec struct {
	URL     string            `json:"url"`
	Method  string            `json:"method,omitempty"`  // default GET
	Headers map[string]string `json:"headers,omitempty"` // request headers
	Body    string            `json:"body,omitempty"`    // request body
	// Redirects is "follow" (default, up to MaxRedirects), "none" (the
	// redirect response itself is the result) or "same-host".
	Redirects    string `json:"redirects,omitempty"`
	MaxRedirects int    `json:"max_redirects,omitempty"` // default 10
	// TLSSkipVerify accepts any server certificate (the cert variable still
	// describes it).
	TLSSkipVerify bool `json:"tls_skip_verify,omitempty"`
	// ClientCertFile and ClientKeyFile (PEM files on the probing host) are
	// presented for mutual TLS.
	ClientCertFile string `json:"client_cert_file,omitempty"`
	ClientKeyFile  string `json:"client_key_file,omitempty"`
	// CAFile is a PEM bundle trusted instead of the system roots.
	CAFile       string `json:"ca_file,omitempty"`
	MaxBodyBytes int64  `json:"max_body_bytes,omitempty"` // default 1 MiB; more is cut and flagged
}

// TCPSpec opens a TCP connection, optionally sends a line and expects a reply.
type TCPSpec struct {
	Address string `json:"address"`          // host:port
	Send    string `json:"send,omitempty"`   // sent after connecting
	Expect  string `json:"expect,omitempty"` // the reply must contain it (read until found, EOF or timeout)
	TLS     bool   `json:"tls,omitempty"`    // connect with TLS
	// TLSSkipVerify accepts any server certificate when TLS is set.
	TLSSkipVerify bool `json:"tls_skip_verify,omitempty"`
}

// UDPSpec sends a datagram and expects a reply.
type UDPSpec struct {
	Address string `json:"address"`
	Send    string `json:"send"`
	Expect  string `json:"expect,omitempty"`
}

// DNSSpec queries a resolver.
type DNSSpec struct {
	Name     string `json:"name"`               // the name to look up
	Type     string `json:"type,omitempty"`     // A (default), AAAA, CNAME, MX, TXT, NS, SOA, SRV, PTR, CAA
	Resolver string `json:"resolver,omitempty"` // host:port; default the first nameserver of /etc/resolv.conf
	Protocol string `json:"protocol,omitempty"` // udp (default) or tcp
}

// TLSSpec inspects a server's certificate.
type TLSSpec struct {
	Address    string `json:"address"`               // host:port
	ServerName string `json:"server_name,omitempty"` // SNI and the name to verify; default the address's host
	StartTLS   string `json:"starttls,omitempty"`    // "smtp" to upgrade a plain SMTP connection first
	// CAFile is a PEM bundle trusted instead of the system roots when
	// judging chain_valid.
	CAFile string `json:"ca_file,omitempty"`
}

// ICMPSpec pings a host.
type ICMPSpec struct {
	Host  string `json:"host"`
	Count int    `json:"count,omitempty"` // echo requests, default 1
}

// GRPCSpec calls grpc.health.v1.Health/Check.
type GRPCSpec struct {
	Address       string `json:"address"`
	Service       string `json:"service,omitempty"` // the health service name; "" is the server as a whole
	TLS           bool   `json:"tls,omitempty"`
	TLSSkipVerify bool   `json:"tls_skip_verify,omitempty"`
}

// SSHSpec reads an SSH server's banner.
type SSHSpec struct {
	Address string `json:"address"`
}

// Spec is one probe: Type says which of the pointers is set.
type Spec struct {
	Type Type      `json:"type"`
	HTTP *HTTPSpec `json:"http,omitempty"`
	TCP  *TCPSpec  `json:"tcp,omitempty"`
	UDP  *UDPSpec  `json:"udp,omitempty"`
	DNS  *DNSSpec  `json:"dns,omitempty"`
	TLS  *TLSSpec  `json:"tls,omitempty"`
	ICMP *ICMPSpec `json:"icmp,omitempty"`
	GRPC *GRPCSpec `json:"grpc,omitempty"`
	SSH  *SSHSpec  `json:"ssh,omitempty"`
}
