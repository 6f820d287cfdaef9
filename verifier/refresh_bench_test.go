package verifier

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// benchCRLRefresh measures one refresh of a revocation list of 10,000
// rids from a loopback TLS issuer that answers conditional requests:
// conditional (the list did not change: 304, nothing parsed) or not (200,
// the whole list read and parsed).
func benchCRLRefresh(b *testing.B, conditional bool) {
	k := newKey(b)
	kid, _ := keysThumb(b, k)
	rids := make([]string, 10000)
	for i := range rids {
		rids[i] = "rid" + strconv.Itoa(i)
	}
	body := crlJSON(kid, 1, rids...)
	h := newIssuerHost(b)
	h.serveCond("/.well-known/crl/"+kid+".json", 60, func() []byte { return body })
	v, err := New(append(netOpts(h.Server), WithIssuerMirror(testIss, h.URL), WithTrustedIssuers(testIss))...)
	if err != nil {
		b.Fatal(err)
	}
	ctx, now, warn := context.Background(), time.Now(), func(string) {}
	first, err := v.fetchCRL(ctx, testIss, kid, nil, now, warn)
	if err != nil {
		b.Fatal(err)
	}
	prev := first
	if !conditional {
		prev = nil
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := v.fetchCRL(ctx, testIss, kid, prev, now, warn)
		if err != nil || len(c.list.rids) != len(rids) {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(body)), "list-bytes")
	if s := v.Stats(); conditional != (s.NotModified > 0) {
		b.Fatalf("stats %+v", s)
	}
}

func BenchmarkCRLRefresh304(b *testing.B)  { benchCRLRefresh(b, true) }
func BenchmarkCRLRefreshFull(b *testing.B) { benchCRLRefresh(b, false) }
