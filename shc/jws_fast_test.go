package shc

import (
	"bytes"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"sync"
	"testing"
)

// HDR-5: the DER built from r||s is the one ecdsa.Verify builds from
// big.Ints (minimal integers, a 0x00 before a high bit), and zero r or s
// is refused as ecdsa.Verify refuses it.
func TestDERSignatureMatchesBigInt(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		rs := make([]byte, 64)
		for j := range rs {
			rs[j] = byte(rng.Uint32())
		}
		// Leading zero bytes and high bits in both halves.
		for j := 0; j < rng.IntN(33); j++ {
			rs[j] = 0
		}
		for j := 32; j < 32+rng.IntN(33); j++ {
			rs[j] = 0
		}
		r, s := new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])
		got, ok := appendDERSignature(nil, rs)
		if r.Sign() == 0 || s.Sign() == 0 {
			if ok {
				t.Fatalf("zero r or s accepted: %x", rs)
			}
			continue
		}
		want, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
		if err != nil {
			t.Fatal(err)
		}
		if !ok || !bytes.Equal(got, want) {
			t.Fatalf("DER of %x:\n got %x\nwant %x", rs, got, want)
		}
	}
}

// HDR-5: signatures with r or s of high bit set or leading zeros verify.
func TestVerifySignatureShortIntegers(t *testing.T) {
	k := newKey(t)
	seen := map[string]bool{}
	for i := 0; i < 400 && len(seen) < 3; i++ {
		jws := signed(t, k, nil)
		card, err := Parse(jws)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case card.signature[0] == 0 || card.signature[32] == 0:
			seen["leading zero"] = true
		case card.signature[0]&0x80 != 0 && card.signature[32]&0x80 != 0:
			seen["high bits"] = true
		default:
			seen["plain"] = true
		}
		if err := card.VerifySignature(&k.PublicKey); err != nil {
			t.Fatalf("VerifySignature: %v", err)
		}
	}
	// A zero s never verifies.
	jws := signed(t, k, nil)
	h, p, _ := cut3(jws)
	zero := make([]byte, 64)
	zero[0] = 1
	card, err := Parse(h + "." + p + "." + base64.RawURLEncoding.EncodeToString(zero))
	if err != nil {
		t.Fatal(err)
	}
	if err := card.VerifySignature(&k.PublicKey); CodeOf(err) != CodeBadSignature {
		t.Fatalf("zero s: err = %v, want bad_signature", err)
	}
}

// The header cache returns what parsing returns, never stores failures,
// stays bounded and is safe for concurrent use (run with -race).
func TestHeaderCache(t *testing.T) {
	c := &headerCache{m: map[string]Header{}}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	good := enc(`{"zip":"DEF","alg":"ES256","kid":"abc"}`)
	for i := 0; i < 2; i++ { // miss, then hit
		h, err := c.parse(good)
		if err != nil || h != (Header{Alg: "ES256", Zip: "DEF", Kid: "abc"}) {
			t.Fatalf("pass %d: %+v %v", i, h, err)
		}
	}
	bad := enc(`{"zip":"DEF","alg":"none","kid":"abc"}`)
	for i := 0; i < 2; i++ {
		if _, err := c.parse(bad); CodeOf(err) != CodeUnsupportedAlg {
			t.Fatalf("pass %d: err = %v, want unsupported_alg", i, err)
		}
	}
	if _, ok := c.m[bad]; ok {
		t.Fatal("a failed header was cached")
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				kid := fmt.Sprintf("k%d-%d", g, i)
				h, err := c.parse(enc(`{"zip":"DEF","alg":"ES256","kid":"` + kid + `"}`))
				if err != nil || h.Kid != kid {
					t.Errorf("kid %s: %+v %v", kid, h, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := len(c.m); n > headerCacheSize {
		t.Fatalf("cache holds %d headers, bound is %d", n, headerCacheSize)
	}
}

// Inflate reads at most the limit (plus one byte) and sizes errors as before.
func TestInflateLimitEdges(t *testing.T) {
	in := bytes.Repeat([]byte("0123456789"), 1000)
	def := Deflate(in)
	for _, limit := range []int{len(in) - 1, len(in), len(in) + 1, 1, 7000} {
		out, err := Inflate(def, limit)
		switch {
		case limit >= len(in):
			if err != nil || !bytes.Equal(out, in) {
				t.Errorf("limit %d: %v", limit, err)
			}
		default:
			if CodeOf(err) != CodePayloadTooLarge || out != nil {
				t.Errorf("limit %d: err = %v, want payload_too_large", limit, err)
			}
		}
	}
	if _, err := Inflate(def[:len(def)/2], 0); CodeOf(err) != CodeBadPayloadEncoding {
		t.Errorf("truncated: err = %v", err)
	}
}
