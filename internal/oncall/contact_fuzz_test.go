package oncall

import (
	"strings"
	"testing"
)

// FuzzContactMethodInput feeds untrusted addresses to the validation and
// the redaction: neither may panic, and a valid webhook URL is never shown
// past its host.
func FuzzContactMethodInput(f *testing.F) {
	for _, s := range []string{"https://hooks.slack.com/services/T/B/secret", "http://127.0.0.1:9/x?token=s", "http://[::1]/a",
		"ana@example.com", "Ana <ana@example.com>", "https://u:p@h/x", "https://h#frag", "//h/x", "https://%zz/"} {
		f.Add("webhook", s)
		f.Add("email", s)
	}
	f.Fuzz(func(t *testing.T, typ, address string) {
		in := ContactMethodInput{Name: "m", Type: typ, Address: address}
		if in.Validate() != nil || typ == ContactEmail {
			return
		}
		r := redact(typ, address)
		if !strings.HasSuffix(r, "/…") || strings.ContainsAny(r, "?#@") {
			t.Errorf("%q redacted to %q", address, r)
		}
		if _, host, ok := strings.Cut(strings.TrimSuffix(r, "/…"), "://"); !ok || strings.Contains(host, "/") {
			t.Errorf("%q redacted to %q", address, r)
		}
	})
}
