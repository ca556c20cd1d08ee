package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestRealClient(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no header", "10.0.0.5:4000", nil, "10.0.0.5:4000"},
		{"through a trusted proxy", "10.0.0.5:4000", []string{"1.2.3.4"}, "1.2.3.4:4000"},
		{"the rightmost untrusted hop wins", "10.0.0.5:4000", []string{"6.6.6.6, 1.2.3.4, 10.0.0.7"}, "1.2.3.4:4000"},
		{"several header lines", "10.0.0.5:4000", []string{"6.6.6.6", "1.2.3.4"}, "1.2.3.4:4000"},
		{"an untrusted peer's header is ignored", "8.8.8.8:4000", []string{"1.2.3.4"}, "8.8.8.8:4000"},
		{"garbage stops the walk", "10.0.0.5:4000", []string{"1.2.3.4, not-an-ip"}, "10.0.0.5:4000"},
		{"all hops trusted: the leftmost", "10.0.0.5:4000", []string{"10.1.1.1, 10.2.2.2"}, "10.1.1.1:4000"},
		{"IPv6 proxy", "[::1]:4000", []string{"2001:db8::1"}, "[2001:db8::1]:4000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			h := realClient(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want {
				t.Errorf("RemoteAddr = %q, want %q", got, tt.want)
			}
		})
	}
	// Without trusted proxies the handler is left as it is.
	var got string
	h := realClient(nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.5:1"
	r.Header.Set("X-Forwarded-For", "1.2.3.4")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got != "10.0.0.5:1" {
		t.Errorf("without trusted proxies: %q", got)
	}
}
