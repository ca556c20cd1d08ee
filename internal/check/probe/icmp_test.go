package probe

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestICMP(t *testing.T) {
	res := run(t, nil, Spec{Type: ICMP, ICMP: &ICMPSpec{Host: "127.0.0.1", Count: 3}}, 2*time.Second)
	if strings.HasPrefix(res.Err, "ICMP not permitted") {
		t.Skipf("this kernel refuses both kinds of ICMP socket: %s", res.Err)
	}
	wantOK(t, res)
	assertCond(t, ICMP, res, `received == 3`, `sent == 3`, `rtt > duration("0s") && rtt < duration("1s")`, `received > 0`)
}

// TestICMP_Unprivileged runs without the raw-socket fallback: either the
// kernel allows ping sockets to this process and the ping succeeds, or the
// error names the sysctl to change.
func TestICMP_Unprivileged(t *testing.T) {
	p := NewProber(Options{NoRawICMP: true})
	res := run(t, p, Spec{Type: ICMP, ICMP: &ICMPSpec{Host: "127.0.0.1"}}, 2*time.Second)
	if res.Err != "" {
		if want := errICMPNotPermitted().Error(); res.Err != want {
			t.Fatalf("Err = %q, want %q", res.Err, want)
		}
		range_, _ := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
		t.Skipf("the kernel refuses unprivileged ping sockets (ping_group_range %q); the error is the clear one", strings.TrimSpace(string(range_)))
	}
	assertCond(t, ICMP, res, `received == 1`, `sent == 1`)
}

func TestICMP_Names(t *testing.T) {
	dns := startDNS(t)
	p := NewProber(Options{HostResolver: dns.netResolver()})
	res := run(t, p, Spec{Type: ICMP, ICMP: &ICMPSpec{Host: "nosuch.example.test"}}, 2*time.Second)
	wantErr(t, res, `^resolve nosuch.example.test: no such host$`)
	assertCond(t, ICMP, res, `received == 0`, `!(received > 0)`)

	res = run(t, p, Spec{Type: ICMP, ICMP: &ICMPSpec{Host: "localhost"}}, 2*time.Second) // from /etc/hosts
	if strings.HasPrefix(res.Err, "ICMP not permitted") {
		t.Skip(res.Err)
	}
	wantOK(t, res)
}
