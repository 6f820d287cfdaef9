package clientip_test

import (
	"net/http"
	"testing"

	"github.com/healthcards/healthcards/internal/clientip"
)

func req(peer string, xff ...string) *http.Request {
	r, _ := http.NewRequest("GET", "http://issuer.test/", nil)
	r.RemoteAddr = peer
	for _, v := range xff {
		r.Header.Add("X-Forwarded-For", v)
	}
	return r
}

func TestClientIP(t *testing.T) {
	p, err := clientip.Parse("10.0.0.10/32,10.0.1.0/24", "fd00::/64")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		r    *http.Request
		want string
	}{
		{"direct client, header ignored", req("203.0.113.7:5555", "198.51.100.1"), "203.0.113.7"},
		{"private client is not a proxy unless listed", req("192.168.1.50:5555", "198.51.100.1"), "192.168.1.50"},
		{"loopback is not a proxy unless listed", req("127.0.0.1:5555", "198.51.100.1"), "127.0.0.1"},
		{"proxy without header", req("10.0.0.10:40000"), "10.0.0.10"},
		{"proxy adds the client", req("10.0.0.10:40000", "203.0.113.7"), "203.0.113.7"},
		{"client-forged hops are left of the real one", req("10.0.0.10:40000", "198.51.100.1, 198.51.100.2", "203.0.113.7"), "203.0.113.7"},
		{"forged hops in one header", req("10.0.0.10:40000", "198.51.100.1, 203.0.113.7"), "203.0.113.7"},
		{"two trusted proxies", req("10.0.0.10:40000", "198.51.100.1, 203.0.113.7, 10.0.1.5"), "203.0.113.7"},
		{"garbage stops at the proxy", req("10.0.0.10:40000", "203.0.113.7, not-an-ip"), "10.0.0.10"},
		{"ipv6 proxy and client", req("[fd00::1]:443", "2001:db8::7"), "2001:db8::7"},
		{"bracketed hop with port", req("10.0.0.10:1", "[2001:db8::7]:1234"), "2001:db8::7"},
		{"mapped ipv4 peer", req("[::ffff:10.0.0.10]:1", "203.0.113.7"), "203.0.113.7"},
	} {
		if got := p.ClientIP(c.r); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	var none *clientip.Proxies
	if got := none.ClientIP(req("10.0.0.10:40000", "203.0.113.7")); got != "10.0.0.10" {
		t.Errorf("no proxies: %q, want the peer", got)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, v := range []string{"10.0.0.1", "10.0.0.0/33", "proxy.example"} {
		if _, err := clientip.Parse(v); err == nil {
			t.Errorf("Parse(%q) accepted", v)
		}
	}
	if p, err := clientip.Parse("", " , "); err != nil || p.Len() != 0 {
		t.Errorf("empty list: %v, %d ranges", err, p.Len())
	}
}
