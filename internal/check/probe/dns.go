package probe

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

var dnsTypeCodes = map[string]uint16{
	"A": dns.TypeA, "AAAA": dns.TypeAAAA, "CNAME": dns.TypeCNAME, "MX": dns.TypeMX, "TXT": dns.TypeTXT,
	"NS": dns.TypeNS, "SOA": dns.TypeSOA, "SRV": dns.TypeSRV, "PTR": dns.TypePTR, "CAA": dns.TypeCAA,
}

// ednsSize is the UDP payload size advertised (the DNS flag day 2020 value).
const ednsSize = 1232

// resolvCache is the first nameserver of the resolver configuration.
type resolvCache struct {
	stamp  fileStamp
	server string
}

// runDNS sends one query to the resolver and reports the response code and
// the answers of the queried type. A truncated UDP answer is asked again
// over TCP, as resolvers do.
func (p *Prober) runDNS(s *session, spec *DNSSpec) Result {
	vars := zeroVars(DNS)
	resolver := spec.Resolver
	if resolver == "" {
		resolver = p.opts.Resolver
	}
	if resolver == "" {
		var err error
		if resolver, err = p.systemResolver(); err != nil {
			return Result{Err: err.Error(), Vars: vars}
		}
	}
	if _, _, err := net.SplitHostPort(resolver); err != nil {
		resolver = net.JoinHostPort(resolver, "53")
	}
	qtype := dns.TypeA
	if spec.Type != "" {
		code, ok := dnsTypeCodes[strings.ToUpper(spec.Type)]
		if !ok {
			return Result{Err: fmt.Sprintf("invalid probe: DNS type %q", spec.Type), Vars: vars}
		}
		qtype = code
	}
	name := dns.Fqdn(spec.Name)
	if qtype == dns.TypePTR {
		if _, err := netip.ParseAddr(spec.Name); err == nil {
			name, _ = dns.ReverseAddr(spec.Name)
		}
	}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(ednsSize, false)
	network := spec.Protocol
	if network == "" {
		network = "udp"
	}
	in, err := p.exchangeDNS(s, network, resolver, m)
	if err == nil && in.Truncated && network == "udp" {
		in, err = p.exchangeDNS(s, "tcp", resolver, m)
	}
	if err != nil {
		return Result{Err: s.fail(err), Vars: vars}
	}
	rcode, ok := dns.RcodeToString[in.Rcode]
	if !ok {
		rcode = fmt.Sprintf("RCODE%d", in.Rcode)
	}
	vars["rcode"] = rcode
	answers := []string{}
	for _, rr := range in.Answer {
		if rr.Header().Rrtype == qtype {
			answers = append(answers, rdata(rr))
		}
	}
	vars["answers"] = answers
	return Result{Vars: vars}
}

// exchangeDNS sends m over a new connection and returns the response
// with m's ID (other UDP datagrams are ignored, as late or forged).
func (p *Prober) exchangeDNS(s *session, network, addr string, m *dns.Msg) (*dns.Msg, error) {
	conn, stop, err := p.connect(s, network, addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	defer stop()
	s.set(stepQuery, addr)
	co := &dns.Conn{Conn: conn, UDPSize: ednsSize}
	if err := co.WriteMsg(m); err != nil {
		return nil, err
	}
	for {
		in, err := co.ReadMsg()
		if err != nil {
			return nil, err
		}
		if in.Id == m.Id {
			return in, nil
		}
		if network == "tcp" {
			return nil, &probeError{fmt.Sprintf("DNS query to %s: the answer has the wrong ID", addr)}
		}
	}
}

// rdata is the record's data as text: an address, "10 mx.example.com.",
// a TXT record's strings joined (as SPF and DKIM read them).
func rdata(rr dns.RR) string {
	switch v := rr.(type) {
	case *dns.A:
		return v.A.String()
	case *dns.AAAA:
		return v.AAAA.String()
	case *dns.TXT:
		return strings.Join(v.Txt, "")
	}
	return strings.TrimPrefix(rr.String(), rr.Header().String())
}

// systemResolver returns the first nameserver of the resolver
// configuration, re-read when the file changes.
func (p *Prober) systemResolver() (string, error) {
	st, err := stampFiles([2]string{"resolver configuration", p.opts.ResolvConf})
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resolv.server != "" && p.resolv.stamp == st {
		return p.resolv.server, nil
	}
	cfg, err := dns.ClientConfigFromFile(p.opts.ResolvConf)
	if err != nil {
		return "", fmt.Errorf("resolver configuration: %w", err)
	}
	if len(cfg.Servers) == 0 {
		return "", fmt.Errorf("no resolver: %s names no nameserver; set dns.resolver", p.opts.ResolvConf)
	}
	p.resolv = resolvCache{stamp: st, server: net.JoinHostPort(cfg.Servers[0], cfg.Port)}
	return p.resolv.server, nil
}
