package probe

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Protocol numbers for icmp.ParseMessage.
const (
	protoICMP   = 1
	protoICMPv6 = 58
)

var pingPayload = []byte("groundcrew-check ping")

// runICMP sends Count echo requests at once and waits for the replies
// until all came back or the deadline passes. It uses an unprivileged ping
// socket, or a raw socket when the kernel refuses that and the process
// may open one. No reply at all is an error; partial loss shows in
// received.
func (p *Prober) runICMP(s *session, spec *ICMPSpec) Result {
	vars := zeroVars(ICMP)
	count := spec.Count
	if count <= 0 {
		count = 1
	}
	s.set(stepConnect, spec.Host)
	addr, err := resolveIP(s.ctx, p.opts.HostResolver, spec.Host)
	if err != nil {
		return Result{Err: s.fail(err), Vars: vars}
	}
	conn, raw, err := p.listenICMP(addr.Is4())
	if err != nil {
		return Result{Err: err.Error(), Vars: vars}
	}
	defer conn.Close()
	if d, ok := s.ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	stop := context.AfterFunc(s.ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var dst net.Addr = &net.UDPAddr{IP: addr.AsSlice(), Zone: addr.Zone()}
	if raw {
		dst = &net.IPAddr{IP: addr.AsSlice(), Zone: addr.Zone()}
	}
	var reqType, replyType icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	proto := protoICMP
	if !addr.Is4() {
		reqType, replyType, proto = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, protoICMPv6
	}
	// A raw socket sees every echo reply of the host: ours carry this ID
	// (a ping socket gets only its own, with an ID the kernel chose).
	id, seq0 := int(rand.N[uint16](0xffff)), int(rand.N[uint16](0x7fff))
	sentAt := make([]time.Time, count)
	s.set(stepEcho, addr.String())
	for i := range count {
		msg := icmp.Message{Type: reqType, Body: &icmp.Echo{ID: id, Seq: seq0 + i, Data: pingPayload}}
		b, err := msg.Marshal(nil)
		if err != nil {
			return Result{Err: "ping: " + err.Error(), Vars: vars}
		}
		sentAt[i] = time.Now()
		if _, err := conn.WriteTo(b, dst); err != nil {
			return Result{Err: fmt.Sprintf("ping %s: send: %s", addr, cleanErr(err)), Vars: vars}
		}
	}
	vars["sent"] = int64(count)

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	got := make([]bool, count)
	received, total := 0, time.Duration(0)
	for received < count {
		n, from, err := conn.ReadFrom(*bp)
		if err != nil {
			if received > 0 && isTimeout(err) {
				break // partial loss: received says how much
			}
			return Result{Err: s.fail(err), Vars: vars}
		}
		m, err := icmp.ParseMessage(proto, (*bp)[:n])
		if err != nil || m.Type != replyType {
			continue
		}
		echo, ok := m.Body.(*icmp.Echo)
		if !ok || (raw && (echo.ID != id || !sameIP(from, addr))) {
			continue
		}
		i := echo.Seq - seq0
		if i < 0 || i >= count || got[i] {
			continue
		}
		got[i] = true
		received++
		total += time.Since(sentAt[i])
	}
	vars["received"] = int64(received)
	vars["rtt"] = total / time.Duration(received)
	return Result{Vars: vars}
}

// listenICMP opens an unprivileged ping socket, or a raw one (raw=true)
// when the kernel refuses the former and the process may open the latter.
func (p *Prober) listenICMP(v4 bool) (conn *icmp.PacketConn, raw bool, err error) {
	network, rawNetwork, laddr := "udp4", "ip4:icmp", "0.0.0.0"
	if !v4 {
		network, rawNetwork, laddr = "udp6", "ip6:ipv6-icmp", "::"
	}
	conn, err = icmp.ListenPacket(network, laddr)
	if err == nil {
		return conn, false, nil
	}
	if !errors.Is(err, syscall.EACCES) && !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.EPROTONOSUPPORT) {
		return nil, false, fmt.Errorf("ICMP socket: %s", cleanErr(err))
	}
	if !p.opts.NoRawICMP {
		if conn, rerr := icmp.ListenPacket(rawNetwork, laddr); rerr == nil {
			return conn, true, nil
		}
	}
	return nil, false, errICMPNotPermitted()
}

// errICMPNotPermitted says what to change when the kernel refuses both
// kinds of ICMP socket.
func errICMPNotPermitted() error {
	return &probeError{fmt.Sprintf("ICMP not permitted: the kernel refuses unprivileged ping sockets "+
		"to this process (group %d is outside net.ipv4.ping_group_range) and raw sockets need CAP_NET_RAW; "+
		`allow it with: sysctl -w net.ipv4.ping_group_range="0 2147483647"`, os.Getegid())}
}

// resolveIP returns host's address, IPv4 preferred.
func resolveIP(ctx context.Context, r *net.Resolver, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if a.Unmap().Is4() {
			return a.Unmap(), nil
		}
	}
	if len(addrs) == 0 {
		return netip.Addr{}, &net.DNSError{Err: "no address", Name: host, IsNotFound: true}
	}
	return addrs[0], nil
}

func sameIP(from net.Addr, want netip.Addr) bool {
	var ip net.IP
	switch a := from.(type) {
	case *net.IPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	default:
		return false
	}
	got, ok := netip.AddrFromSlice(ip)
	return ok && got.Unmap() == want.WithZone("")
}
