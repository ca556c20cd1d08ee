package probe

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// echo copies lines back, until the client goes.
func echo(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		io.WriteString(c, line)
	}
}

func tcpSpec(addr, send, expect string) Spec {
	return Spec{Type: TCP, TCP: &TCPSpec{Address: addr, Send: send, Expect: expect}}
}

func TestTCP(t *testing.T) {
	addr := listen(t, echo)
	banner := listen(t, func(c net.Conn) { io.WriteString(c, "+OK ready\r\n"); time.Sleep(time.Second) })
	closes := listen(t, func(c net.Conn) { io.WriteString(c, "hello") })
	trickle := listen(t, func(c net.Conn) { io.WriteString(c, "hel"); time.Sleep(2 * time.Second) })
	silent := listen(t, func(c net.Conn) { time.Sleep(2 * time.Second) })
	for _, tc := range []struct {
		name  string
		spec  Spec
		err   string
		conds []string
	}{
		{"connect only", tcpSpec(addr, "", ""), "", []string{`connected`, `response == ""`}},
		{"send and expect", tcpSpec(addr, "ping\n", "ping"), "", []string{`connected`, `response == "ping\n"`}},
		{"send, first chunk", tcpSpec(addr, "hi\n", ""), "", []string{`response == "hi\n"`}},
		{"expect a banner", tcpSpec(banner, "", "+OK"), "", []string{`response.startsWith("+OK")`}},
		{"expect missing before close", tcpSpec(closes, "", "bye"), `^connection closed before "bye" was received \(5 bytes received\)$`, []string{`connected`, `response == "hello"`}},
		{"expect missing before timeout", tcpSpec(trickle, "", "hello"), `^timeout after 300ms while waiting for "hello" \(3 bytes received\)$`, []string{`response == "hel"`}},
		{"no reply after a send", tcpSpec(silent, "hi\n", ""), `^timeout after 300ms while waiting for a reply \(0 bytes received\)$`, nil},
		{"refused", tcpSpec(closedPort(t), "", ""), `^connect 127\.0\.0\.1:\d+: connection refused$`, []string{`!connected`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, nil, tc.spec, 300*time.Millisecond)
			if tc.err == "" {
				wantOK(t, res)
			} else {
				wantErr(t, res, tc.err)
				within(t, res, 300*time.Millisecond)
			}
			assertCond(t, TCP, res, tc.conds...)
		})
	}
}

func TestTCP_TLS(t *testing.T) {
	ca := newCA(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{ca.issue(t, certOpts{})}}
	addr := listen(t, func(c net.Conn) { echo(tls.Server(c, cfg)) })
	spec := tcpSpec(addr, "ping\n", "ping")
	spec.TCP.TLS = true

	wantErr(t, run(t, nil, spec, 2*time.Second), `^TLS handshake: x509: certificate signed by unknown authority`)
	res := run(t, NewProber(Options{RootCAs: ca.pool}), spec, 2*time.Second)
	wantOK(t, res)
	assertCond(t, TCP, res, `response == "ping\n"`)
	spec.TCP.TLSSkipVerify = true
	wantOK(t, run(t, nil, spec, 2*time.Second))
}

// udpServer answers each datagram with reply(datagram), or not at all
// when reply returns nil.
func udpServer(t *testing.T, reply func([]byte) []byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if r := reply(buf[:n]); r != nil {
				pc.WriteTo(r, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func TestUDP(t *testing.T) {
	echoAddr := udpServer(t, func(b []byte) []byte { return []byte("pong:" + string(b)) })
	silent := udpServer(t, func([]byte) []byte { return nil })
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	closed := pc.LocalAddr().String()
	pc.Close()
	udp := func(addr, send, expect string) Spec {
		return Spec{Type: UDP, UDP: &UDPSpec{Address: addr, Send: send, Expect: expect}}
	}
	for _, tc := range []struct {
		name  string
		spec  Spec
		err   string
		conds []string
	}{
		{"echo", udp(echoAddr, "ping", "pong"), "", []string{`response == "pong:ping"`}},
		{"echo without expect", udp(echoAddr, "ping", ""), "", []string{`response == "pong:ping"`}},
		{"unexpected reply", udp(echoAddr, "ping", "PONG"), `^the reply does not contain "PONG"$`, []string{`response == "pong:ping"`}},
		{"no reply", udp(silent, "ping", ""), `^timeout after 300ms while waiting for a reply \(0 bytes received\)$`, []string{`response == ""`}},
		{"port unreachable", udp(closed, "ping", ""), `^no reply: 127\.0\.0\.1:\d+ is unreachable \(ICMP port unreachable: nothing listens there\)$`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, nil, tc.spec, 300*time.Millisecond)
			if tc.err == "" {
				wantOK(t, res)
			} else {
				wantErr(t, res, tc.err)
				within(t, res, 300*time.Millisecond)
			}
			assertCond(t, UDP, res, tc.conds...)
		})
	}
}

func TestSSH(t *testing.T) {
	sshSpec := func(addr string) Spec { return Spec{Type: SSH, SSH: &SSHSpec{Address: addr}} }
	for _, tc := range []struct {
		name   string
		server func(net.Conn)
		err    string
		banner string
	}{
		{"banner", func(c net.Conn) { io.WriteString(c, "SSH-2.0-Test_1.0\r\n") }, "", "SSH-2.0-Test_1.0"},
		{"lines before the banner", func(c net.Conn) { io.WriteString(c, "Welcome\r\nauthorized use only\nSSH-2.0-Test_2 comment\r\n") }, "", "SSH-2.0-Test_2 comment"},
		{"trickled banner", func(c net.Conn) {
			for _, b := range []byte("SSH-2.0-slow\r\n") {
				c.Write([]byte{b})
				time.Sleep(5 * time.Millisecond)
			}
		}, "", "SSH-2.0-slow"},
		{"closed before", func(c net.Conn) { io.WriteString(c, "bye\r\n") }, `^connection closed before the SSH banner \(5 bytes received\)$`, ""},
		{"silent", func(c net.Conn) { time.Sleep(2 * time.Second) }, `^timeout after 300ms while waiting for the SSH banner \(0 bytes received\)$`, ""},
		{"endless line", func(c net.Conn) { io.WriteString(c, strings.Repeat("x", 1000)); time.Sleep(time.Second) }, `^a line of more than 255 bytes before the SSH banner$`, ""},
		{"endless lines", func(c net.Conn) {
			for {
				if _, err := io.WriteString(c, "noise\r\n"); err != nil {
					return
				}
			}
		}, `^no SSH banner in the first 8 KiB$`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, nil, sshSpec(listen(t, tc.server)), 300*time.Millisecond)
			if tc.err != "" {
				wantErr(t, res, tc.err)
				within(t, res, 300*time.Millisecond)
				return
			}
			wantOK(t, res)
			if res.Vars["banner"] != tc.banner {
				t.Errorf("banner = %q, want %q", res.Vars["banner"], tc.banner)
			}
			assertCond(t, SSH, res, DefaultConditions(SSH)...)
		})
	}
}

// TestSSH_RealServer probes golang.org/x/crypto/ssh's server.
func TestSSH_RealServer(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{NoClientAuth: true, ServerVersion: "SSH-2.0-groundcrew_test"}
	cfg.AddHostKey(signer)
	addr := listen(t, func(c net.Conn) { ssh.NewServerConn(c, cfg) })
	res := run(t, nil, Spec{Type: SSH, SSH: &SSHSpec{Address: addr}}, 2*time.Second)
	wantOK(t, res)
	assertCond(t, SSH, res, `banner == "SSH-2.0-groundcrew_test"`, `banner.startsWith("SSH-")`)
}
