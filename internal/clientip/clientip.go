package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the trusted reverse proxies; the zero value (or nil) trusts
// none.
type Proxies struct {
	nets []netip.Prefix
}

// Parse reads trusted proxy ranges: each value is a CIDR (10.0.0.10/32,
// fd00::/64) or a comma-separated list of them, as --trusted-proxy and its
// environment variable take them. An empty list trusts none.
func Parse(values ...string) (*Proxies, error) {
	p := &Proxies{}
	for _, v := range values {
		for _, c := range strings.Split(v, ",") {
			c = strings.TrimSpace(c)
			if c == "" {
				continue
			}
			n, err := netip.ParsePrefix(c)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR (such as 10.0.0.10/32)", c)
			}
			p.nets = append(p.nets, n.Masked())
		}
	}
	return p, nil
}

// Len is the number of trusted ranges.
func (p *Proxies) Len() int {
	if p == nil {
		return 0
	}
	return len(p.nets)
}

func (p *Proxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

func parseAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// ClientIP is r's client address: the connection's peer, or, when the peer
// is a trusted proxy, the rightmost address of X-Forwarded-For that is not
// one. It never fails: an unreadable peer address is returned as it is.
func (p *Proxies) ClientIP(r *http.Request) string {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if p.Len() == 0 || !p.trusted(peer) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		if strings.TrimSpace(hops[i]) == "" && len(hops) == 1 {
			break // no header
		}
		a, ok := parseAddr(hops[i])
		if !ok {
			break
		}
		client = a
		if !p.trusted(a) {
			break
		}
	}
	return client.String()
}
