package probe

import (
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"

	"groundcrew.dev/groundcrew/internal/errs"
)

// Limits on what a spec may ask for.
const (
	maxURLLength      = 4096
	maxRequestBody    = 1 << 20
	maxHeaders        = 50
	maxHeaderValue    = 8 << 10
	maxRedirectsLimit = 50
	maxBodyLimit      = 64 << 20
	maxDatagram       = 65507
	maxPings          = 10
)

// The HTTP redirect policies.
const (
	RedirectsFollow   = "follow"
	RedirectsNone     = "none"
	RedirectsSameHost = "same-host"
)

// dnsTypes are the record types a DNS probe may query.
var dnsTypes = []string{"A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "SRV", "PTR", "CAA"}

// Validate reports whether s is a runnable probe: the settings for its
// Type, and only those, are set and well-formed. Errors are errs.Invalid
// naming the field as the YAML has it ("http.url", "dns.type").
func (s *Spec) Validate() error {
	if s == nil {
		return errs.Invalidf("type", "is required")
	}
	if !slices.Contains(Types, s.Type) {
		return errs.Invalidf("type", "%q is not a probe type: want one of http, tcp, udp, dns, tls, icmp, grpc, ssh", s.Type)
	}
	set := map[Type]bool{
		HTTP: s.HTTP != nil, TCP: s.TCP != nil, UDP: s.UDP != nil, DNS: s.DNS != nil,
		TLS: s.TLS != nil, ICMP: s.ICMP != nil, GRPC: s.GRPC != nil, SSH: s.SSH != nil,
	}
	for _, t := range Types {
		if t != s.Type && set[t] {
			return errs.Invalidf(string(t), "must not be set for a %s probe", s.Type)
		}
	}
	if !set[s.Type] {
		return errs.Invalidf(string(s.Type), "is required for a %s probe", s.Type)
	}
	var err error
	switch s.Type {
	case HTTP:
		err = s.HTTP.validate()
	case TCP:
		err = s.TCP.validate()
	case UDP:
		err = s.UDP.validate()
	case DNS:
		err = s.DNS.validate()
	case TLS:
		err = s.TLS.validate()
	case ICMP:
		err = s.ICMP.validate()
	case GRPC:
		err = s.GRPC.validate()
	case SSH:
		err = checkAddress("address", s.SSH.Address)
	}
	if err != nil {
		return errs.WithField(string(s.Type), err)
	}
	return nil
}

func (h *HTTPSpec) validate() error {
	if err := checkURL("url", h.URL); err != nil {
		return err
	}
	if h.Method != "" && (len(h.Method) > 32 || !httpguts.ValidHeaderFieldName(h.Method)) {
		return errs.Invalidf("method", "%q is not an HTTP method", h.Method)
	}
	if len(h.Headers) > maxHeaders {
		return errs.Invalidf("headers", "at most %d headers", maxHeaders)
	}
	for name, value := range h.Headers {
		if !httpguts.ValidHeaderFieldName(name) {
			return errs.Invalidf("headers", "%q is not a valid header name", name)
		}
		if len(value) > maxHeaderValue || !httpguts.ValidHeaderFieldValue(value) {
			return errs.Invalidf("headers."+name, "must be at most 8 KiB without line breaks or control characters")
		}
	}
	if len(h.Body) > maxRequestBody {
		return errs.Invalidf("body", "must be at most 1 MiB")
	}
	switch h.Redirects {
	case "", RedirectsFollow, RedirectsNone, RedirectsSameHost:
	default:
		return errs.Invalidf("redirects", "%q is not a redirect policy: want follow, none or same-host", h.Redirects)
	}
	if h.MaxRedirects < 0 || h.MaxRedirects > maxRedirectsLimit {
		return errs.Invalidf("max_redirects", "must be 0 (the default, 10) to %d", maxRedirectsLimit)
	}
	if h.ClientCertFile != "" && h.ClientKeyFile == "" {
		return errs.Invalidf("client_key_file", "is required with client_cert_file")
	}
	if h.ClientKeyFile != "" && h.ClientCertFile == "" {
		return errs.Invalidf("client_cert_file", "is required with client_key_file")
	}
	if err := checkPath("client_cert_file", h.ClientCertFile); err != nil {
		return err
	}
	if err := checkPath("client_key_file", h.ClientKeyFile); err != nil {
		return err
	}
	if err := checkPath("ca_file", h.CAFile); err != nil {
		return err
	}
	if h.MaxBodyBytes < 0 || h.MaxBodyBytes > maxBodyLimit {
		return errs.Invalidf("max_body_bytes", "must be 0 (the default, 1 MiB) to 64 MiB")
	}
	return nil
}

func (t *TCPSpec) validate() error {
	if err := checkAddress("address", t.Address); err != nil {
		return err
	}
	if len(t.Send) > maxReply {
		return errs.Invalidf("send", "must be at most 64 KiB")
	}
	if len(t.Expect) > maxReply {
		return errs.Invalidf("expect", "must be at most 64 KiB")
	}
	if t.TLSSkipVerify && !t.TLS {
		return errs.Invalidf("tls_skip_verify", "only applies with tls: true")
	}
	return nil
}

func (u *UDPSpec) validate() error {
	if err := checkAddress("address", u.Address); err != nil {
		return err
	}
	if u.Send == "" {
		return errs.Invalidf("send", "is required: a UDP server answers a datagram")
	}
	if len(u.Send) > maxDatagram {
		return errs.Invalidf("send", "must be at most %d bytes", maxDatagram)
	}
	if len(u.Expect) > maxDatagram {
		return errs.Invalidf("expect", "must be at most %d bytes", maxDatagram)
	}
	return nil
}

func (d *DNSSpec) validate() error {
	typ := strings.ToUpper(d.Type)
	if d.Type != "" && !slices.Contains(dnsTypes, typ) {
		return errs.Invalidf("type", "%q is not a supported record type: want one of %s", d.Type, strings.Join(dnsTypes, ", "))
	}
	if d.Name == "" {
		return errs.Invalidf("name", "is required")
	}
	if _, err := netip.ParseAddr(d.Name); err == nil {
		if typ != "PTR" {
			return errs.Invalidf("name", "is an IP address: query it with type PTR")
		}
	} else if !validHostname(d.Name, true) {
		return errs.Invalidf("name", "%q is not a domain name", d.Name)
	}
	if d.Resolver != "" && !validResolver(d.Resolver) {
		return errs.Invalidf("resolver", "must be host or host:port, e.g. 192.0.2.53 or 192.0.2.53:53")
	}
	switch d.Protocol {
	case "", "udp", "tcp":
	default:
		return errs.Invalidf("protocol", "%q is not a DNS transport: want udp or tcp", d.Protocol)
	}
	return nil
}

func (t *TLSSpec) validate() error {
	if err := checkAddress("address", t.Address); err != nil {
		return err
	}
	if t.ServerName != "" && !validHostname(t.ServerName, false) {
		if _, err := netip.ParseAddr(t.ServerName); err != nil {
			return errs.Invalidf("server_name", "%q is not a host name", t.ServerName)
		}
	}
	switch t.StartTLS {
	case "", "smtp":
	default:
		return errs.Invalidf("starttls", "%q is not supported: want smtp", t.StartTLS)
	}
	return checkPath("ca_file", t.CAFile)
}

func (i *ICMPSpec) validate() error {
	if i.Host == "" {
		return errs.Invalidf("host", "is required")
	}
	if _, err := netip.ParseAddr(i.Host); err != nil && !validHostname(i.Host, false) {
		return errs.Invalidf("host", "%q is not a host name or IP address", i.Host)
	}
	if i.Count < 0 || i.Count > maxPings {
		return errs.Invalidf("count", "must be 0 (the default, 1) to %d", maxPings)
	}
	return nil
}

func (g *GRPCSpec) validate() error {
	if err := checkAddress("address", g.Address); err != nil {
		return err
	}
	if len(g.Service) > 200 || !utf8.ValidString(g.Service) {
		return errs.Invalidf("service", "must be at most 200 characters of UTF-8")
	}
	if g.TLSSkipVerify && !g.TLS {
		return errs.Invalidf("tls_skip_verify", "only applies with tls: true")
	}
	return nil
}

// checkURL accepts absolute http and https URLs with a valid host and port.
func checkURL(field, raw string) error {
	if raw == "" {
		return errs.Invalidf(field, "is required")
	}
	if len(raw) > maxURLLength {
		return errs.Invalidf(field, "must be at most %d characters", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errs.Invalidf(field, "is not a URL: %s", cleanErr(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errs.Invalidf(field, "must be an absolute http:// or https:// URL")
	}
	host := u.Hostname()
	if host == "" {
		return errs.Invalidf(field, "has no host")
	}
	if _, err := netip.ParseAddr(host); err != nil && !validHostname(host, false) {
		return errs.Invalidf(field, "%q is not a valid host", host)
	}
	if p := u.Port(); p != "" || strings.HasSuffix(u.Host, ":") {
		if !validPort(p) {
			return errs.Invalidf(field, "port %q must be a number from 1 to 65535", p)
		}
	}
	return nil
}

// checkAddress accepts host:port with a valid host and a numeric port.
func checkAddress(field, addr string) error {
	if addr == "" {
		return errs.Invalidf(field, "is required")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errs.Invalidf(field, "must be host:port, e.g. db.example.com:5432 or [2001:db8::1]:53")
	}
	if host == "" {
		return errs.Invalidf(field, "has no host")
	}
	if _, err := netip.ParseAddr(host); err != nil && !validHostname(host, false) {
		return errs.Invalidf(field, "%q is not a valid host", host)
	}
	if !validPort(port) {
		return errs.Invalidf(field, "port %q must be a number from 1 to 65535", port)
	}
	return nil
}

// validResolver accepts a host, or host:port.
func validResolver(r string) bool {
	if _, err := netip.ParseAddr(r); err == nil || validHostname(r, false) {
		return true
	}
	return checkAddress("resolver", r) == nil
}

func checkPath(field, path string) error {
	if len(path) > 4096 || strings.ContainsRune(path, 0) {
		return errs.Invalidf(field, "is not a file path")
	}
	return nil
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535 && p[0] != '+' && p[0] != '-'
}

// validHostname reports whether h is a DNS name: dot-separated labels of
// letters, digits, hyphens (and underscores, as in SRV names) of 1 to 63
// characters, 253 in all, with an optional final dot. wildcard allows a
// leading "*" label.
func validHostname(h string, wildcard bool) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for i, label := range strings.Split(h, ".") {
		if len(label) == 0 || len(label) > 63 {
			return false
		}
		if wildcard && i == 0 && label == "*" {
			continue
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
