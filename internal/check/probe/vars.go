package probe

import (
	"crypto/x509"
	"slices"
	"time"

	"groundcrew.dev/groundcrew/internal/expr"
)

var durationVar = expr.Var{Name: "duration", Type: expr.Duration, Doc: "how long the whole exchange took"}

var certDoc = "the server's certificate: a map of expires_in (duration, negative once expired), not_before and not_after (timestamps), subject, issuer (strings) and dns_names (list of strings)"

var varsByType = map[Type][]expr.Var{
	HTTP: {
		durationVar,
		{Name: "status", Type: expr.Int, Doc: "the HTTP status code of the final response"},
		{Name: "body", Type: expr.String, Doc: "the response body, up to max_body_bytes"},
		{Name: "body_truncated", Type: expr.Bool, Doc: "whether the body was longer than max_body_bytes and cut"},
		{Name: "headers", Type: expr.StringMap, Doc: "the response headers, lower-case names, repeated values joined with \", \""},
		{Name: "json", Type: expr.Dyn, Doc: "the body decoded as JSON, or null when it is not JSON"},
		{Name: "url", Type: expr.String, Doc: "the final URL, after redirects"},
		{Name: "redirects", Type: expr.Int, Doc: "how many redirects were followed"},
		{Name: "cert", Type: expr.Dyn, Doc: certDoc + "; null over plain HTTP"},
	},
	TCP: {
		durationVar,
		{Name: "connected", Type: expr.Bool, Doc: "whether the connection (and TLS handshake, if any) succeeded"},
		{Name: "response", Type: expr.String, Doc: "what the server sent, up to the expected text or 64 KiB"},
	},
	UDP: {
		durationVar,
		{Name: "response", Type: expr.String, Doc: "the reply datagram"},
	},
	DNS: {
		durationVar,
		{Name: "rcode", Type: expr.String, Doc: "the response code: NOERROR, NXDOMAIN, SERVFAIL, REFUSED…"},
		{Name: "answers", Type: expr.StringList, Doc: "the answers of the queried type as text: \"192.0.2.1\", \"10 mx.example.com.\", TXT strings joined"},
	},
	TLS: {
		durationVar,
		{Name: "cert", Type: expr.Dyn, Doc: certDoc},
		{Name: "chain_valid", Type: expr.Bool, Doc: "whether the chain leads to a trusted root and every certificate is in its validity period"},
		{Name: "chain_error", Type: expr.String, Doc: "why the chain is not valid; empty when it is"},
		{Name: "hostname_valid", Type: expr.Bool, Doc: "whether the certificate is valid for the server name"},
		{Name: "tls_version", Type: expr.String, Doc: "the negotiated version, e.g. \"TLS 1.3\""},
	},
	ICMP: {
		durationVar,
		{Name: "rtt", Type: expr.Duration, Doc: "the average round-trip time of the replies received"},
		{Name: "received", Type: expr.Int, Doc: "how many echo replies came back"},
		{Name: "sent", Type: expr.Int, Doc: "how many echo requests were sent"},
	},
	GRPC: {
		durationVar,
		{Name: "serving_status", Type: expr.String, Doc: "the health status: SERVING, NOT_SERVING or UNKNOWN"},
	},
	SSH: {
		durationVar,
		{Name: "banner", Type: expr.String, Doc: "the server's identification line, e.g. \"SSH-2.0-OpenSSH_9.6\""},
	},
}

var defaultConditions = map[Type][]string{
	HTTP: {`status < 400`},
	TCP:  {`connected`},
	// A UDP probe fails by itself when no reply (or one without the
	// expected text) comes back; nothing is left to assert.
	UDP:  nil,
	DNS:  {`rcode == "NOERROR" && size(answers) > 0`},
	TLS:  {`chain_valid && hostname_valid && cert.expires_in > duration("0s")`},
	ICMP: {`received > 0`},
	GRPC: {`serving_status == "SERVING"`},
	SSH:  {`banner.startsWith("SSH-")`},
}

// Vars returns the CEL variables a probe of type t provides (nil for an
// unknown type). The caller may modify the returned slice.
func Vars(t Type) []expr.Var { return slices.Clone(varsByType[t]) }

// DefaultConditions returns what a check of type t asserts when it
// declares no conditions. The probe itself already fails (Result.Err) when
// the exchange did not complete.
func DefaultConditions(t Type) []string { return slices.Clone(defaultConditions[t]) }

// zeroVars returns t's variables with zero values, so that a condition
// over a failed probe evaluates instead of failing on a missing variable.
func zeroVars(t Type) map[string]any {
	vs := varsByType[t]
	m := make(map[string]any, len(vs)+1)
	m["duration"] = time.Duration(0)
	for _, v := range vs {
		switch v.Type {
		case expr.Bool:
			m[v.Name] = false
		case expr.Int:
			m[v.Name] = int64(0)
		case expr.Double:
			m[v.Name] = float64(0)
		case expr.String:
			m[v.Name] = ""
		case expr.Duration:
			m[v.Name] = time.Duration(0)
		case expr.Timestamp:
			m[v.Name] = time.Time{}
		case expr.StringList:
			m[v.Name] = []string{}
		case expr.StringMap:
			m[v.Name] = map[string]string{}
		default:
			m[v.Name] = nil
		}
	}
	return m
}

// certVars describes a certificate for conditions, with expiry measured
// from now.
func certVars(c *x509.Certificate, now time.Time) map[string]any {
	names := c.DNSNames
	if names == nil {
		names = []string{}
	}
	return map[string]any{
		"expires_in": c.NotAfter.Sub(now),
		"not_before": c.NotBefore,
		"not_after":  c.NotAfter,
		"subject":    c.Subject.String(),
		"issuer":     c.Issuer.String(),
		"dns_names":  names,
	}
}
