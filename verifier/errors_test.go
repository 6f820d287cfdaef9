package verifier

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/safehttp"
	"github.com/healthcards/healthcards/shc"
)

const testIss = "https://issuer.example"

// issuerHost is a TLS test server whose routes can change during a test.
type issuerHost struct {
	*httptest.Server
	mu     sync.Mutex
	routes map[string]http.HandlerFunc
	hits   map[string]int
}

func newIssuerHost(t testing.TB) *issuerHost {
	h := &issuerHost{routes: map[string]http.HandlerFunc{}, hits: map[string]int{}}
	h.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.hits[r.URL.Path]++
		f := h.routes[r.URL.Path]
		h.mu.Unlock()
		if f == nil {
			http.NotFound(w, r)
			return
		}
		f(w, r)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *issuerHost) set(path string, f http.HandlerFunc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.routes[path] = f
}

func (h *issuerHost) serve(path string, body []byte) {
	h.set(path, func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
}

func (h *issuerHost) count(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[path]
}

// clock is an adjustable test clock.
type clock struct{ ns atomic.Int64 }

func newClock(sec int64) *clock      { c := &clock{}; c.ns.Store(sec * 1e9); return c }
func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

const cardNBF = 1700000000

func hostVerifier(t *testing.T, h *issuerHost, opts ...Option) *Verifier {
	t.Helper()
	base := append(netOpts(h.Server), WithClock(at(cardNBF+60)), WithIssuerMirror(testIss, h.URL))
	v, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func crlJSON(kid string, ctr any, rids ...string) []byte {
	b, _ := json.Marshal(map[string]any{"kid": kid, "method": "rid", "ctr": ctr, "rids": rids})
	return b
}

// Format codes are reached through Verify: failures before any card is
// found come back as the error, per-card ones in the Result.
func TestFormatCodes(t *testing.T) {
	v := offlineExamples(t, vciNBF+60, publishedCRL(t))
	ex02 := inputs(t, "vci-spec-site/examples", "example-02")["qr"]
	chunks := strings.Fields(ex02)
	for name, c := range map[string]struct {
		in   string
		code Code
	}{
		"malformed_input":   {"hello, world", CodeMalformedInput},
		"web address":       {"https://menu.example.org/", CodeMalformedInput}, // two dots, not a JWS
		"malformed_qr":      {"shc:/123", CodeMalformedQR},
		"chunk_missing":     {chunks[0] + "\n" + chunks[2], CodeChunkMissing},
		"payload_too_large": {strings.Repeat("a", 17<<20), CodePayloadTooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := v.Verify(context.Background(), []byte(c.in))
			if res != nil || CodeOf(err) != c.code {
				t.Fatalf("got %v %v, want %s", res, err, c.code)
			}
			var ve *Error
			if !errors.As(err, &ve) || ve.Step != StepDecode {
				t.Fatalf("want *Error at decode, got %#v", err)
			}
			if er := ErrorResult(err); er.Verdict != VerdictFor(c.code) || er.Errors[0].Code != c.code {
				t.Fatalf("ErrorResult %+v", er)
			}
		})
	}
	jws := strings.TrimSpace(inputs(t, "vci-spec-site/examples", "example-00")["jws"])
	parts := strings.Split(jws, ".")
	hdr := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	other := strings.Split(strings.TrimSpace(inputs(t, "vci-spec-site/examples", "example-02")["jws"]), ".")
	for name, c := range map[string]struct {
		in   string
		code Code
	}{
		"malformed_jws":                 {"a.b.c", CodeMalformedJWS},
		"alg confusion HS256":           {hdr(`{"zip":"DEF","alg":"HS256","kid":"`+kidK0+`"}`) + "." + parts[1] + "." + parts[2], CodeUnsupportedAlg},
		"alg none":                      {hdr(`{"zip":"DEF","alg":"none","kid":"`+kidK0+`"}`) + "." + parts[1] + "." + parts[2], CodeUnsupportedAlg},
		"bad_payload_encoding":          {parts[0] + "." + hdr("not deflate at all") + "." + parts[2], CodeBadPayloadEncoding},
		"bad_payload (no nbf)":          {parts[0] + "." + base64.RawURLEncoding.EncodeToString(shc.Deflate([]byte(`{"iss":"`+exampleIss+`","vc":{}}`))) + "." + parts[2], CodeBadPayload},
		"bad_signature (swapped)":       {parts[0] + "." + parts[1] + "." + other[2], CodeBadSignature},
		"bad_signature (other payload)": {parts[0] + "." + other[1] + "." + parts[2], CodeBadSignature},
	} {
		t.Run(name, func(t *testing.T) {
			r := verifyOne(t, v, c.in)
			wantCode(t, r, VerdictInvalid, c.code)
			if r.Issuer != "" || r.FHIRBundle != nil {
				t.Fatalf("unverified claims leaked: %+v", r)
			}
			if !errors.Is(r.Err(), &shc.Error{Code: c.code}) {
				t.Fatalf("errors.Is against the shc sentinel failed: %v", r.Err())
			}
		})
	}
}

// KEY-4 / PAY-1: an http iss is refused before anything else.
func TestBadIssuerSyntax(t *testing.T) {
	k := newKey(t)
	v, _ := New(WithoutIssuerTrustUnsafe(), WithClock(at(cardNBF+60)))
	for _, iss := range []string{"http://issuer.example", "https://issuer.example/", "https://u:p@issuer.example"} {
		r := verifyOne(t, v, signCard(t, k, iss, cardNBF, nil))
		wantCode(t, r, VerdictInvalid, CodeBadPayload)
	}
}

// TRUST: an untrusted issuer fails without any fetch; with the unsafe
// opt-out the card is verified but reported untrusted.
func TestUntrustedIssuerNoFetch(t *testing.T) {
	h := newIssuerHost(t)
	k := newKey(t)
	h.serve("/.well-known/jwks.json", jwksOf(t, nil, k))
	v := hostVerifier(t, h, WithTrustedIssuers("https://someone-else.example"))
	r := verifyOne(t, v, signCard(t, k, testIss, cardNBF, nil))
	wantCode(t, r, VerdictUntrusted, CodeUntrustedIssuer)
	if h.count("/.well-known/jwks.json") != 0 || r.Issuer != "" || !errors.Is(r.Err(), ErrUntrustedIssuer) {
		t.Fatalf("untrusted issuer caused a fetch or leaked claims: %+v", r)
	}
	v = hostVerifier(t, h, WithoutIssuerTrustUnsafe())
	r = verifyOne(t, v, signCard(t, k, testIss, cardNBF, nil))
	wantCode(t, r, VerdictUntrusted, CodeUntrustedIssuer)
	if len(r.Errors) != 1 || r.Issuer != testIss || r.Summary == nil || r.Valid {
		t.Fatalf("unsafe mode result %+v", r)
	}
}

func TestKeyNotFoundAndEncKeyRefused(t *testing.T) {
	// K0's set does not hold a fresh key.
	v := offlineExamples(t, cardNBF+60, publishedCRL(t))
	r := verifyOne(t, v, signCard(t, newKey(t), exampleIss, cardNBF, nil))
	wantCode(t, r, VerdictInvalid, CodeKeyNotFound)
	if !errors.Is(r.Err(), ErrKeyNotFound) {
		t.Fatal("errors.Is(ErrKeyNotFound)")
	}
	// KEY-5: the published ECDH-ES key (use enc) never verifies a card,
	// even when the set lists it.
	enc := privateKey(t, 1)
	for _, extra := range []map[string]any{{"use": "enc", "alg": "ECDH-ES"}, {"alg": "ES384"}, {"use": "enc"}} {
		v, err := New(WithOffline(), WithClock(at(cardNBF+60)), WithStaticKeys(exampleIss, jwksOf(t, extra, enc)))
		if err != nil {
			t.Fatal(err)
		}
		r = verifyOne(t, v, signCard(t, enc, exampleIss, cardNBF, nil))
		wantCode(t, r, VerdictInvalid, CodeKeyNotFound)
	}
	// Keys are looked up by (iss, kid): K0 listed for another issuer does
	// not verify a card whose iss is that issuer's neighbour.
	v2, err := New(WithOffline(), WithClock(at(cardNBF+60)), WithStaticKeys(exampleIss, exampleJWKS(t)), WithStaticKeys(testIss, jwksOf(t, nil, newKey(t))))
	if err != nil {
		t.Fatal(err)
	}
	r = verifyOne(t, v2, signCard(t, privateKey(t, 0), testIss, cardNBF, nil))
	wantCode(t, r, VerdictInvalid, CodeKeyNotFound)
}

// KEY-7: a kid may appear more than once; every entry is tried.
func TestKidAppearsTwice(t *testing.T) {
	k := newKey(t)
	var a, b map[string]any
	one := jwksOf(t, nil, k)
	var set struct{ Keys []map[string]any }
	json.Unmarshal(one, &set)
	a, b = map[string]any{}, map[string]any{}
	for key, val := range set.Keys[0] {
		a[key], b[key] = val, val
	}
	a["x5c"] = []string{} // entries differ only by x5c and crlVersion
	b["crlVersion"] = 3
	twice, _ := json.Marshal(map[string]any{"keys": []any{a, b}})
	ks, _, err := parseKeySet(twice)
	if err != nil || len(ks.lookup(a["kid"].(string))) != 2 {
		t.Fatalf("both entries must be kept: %v %d", err, ks.len())
	}
	h := newIssuerHost(t)
	h.serve("/.well-known/jwks.json", twice)
	h.serve("/.well-known/crl/"+a["kid"].(string)+".json", crlJSON(a["kid"].(string), 3))
	v := hostVerifier(t, h, WithTrustedIssuers(testIss))
	r := verifyOne(t, v, signCard(t, k, testIss, cardNBF, func(p *shc.Payload) { p.VC.RID = "abc" }))
	wantCode(t, r, VerdictVerified, "")
}

func TestTimeChecks(t *testing.T) {
	k := newKey(t)
	mk := func(now int64, opts ...Option) *Verifier {
		v, err := New(append([]Option{WithOffline(), WithClock(at(now)), WithStaticKeys(testIss, jwksOf(t, nil, k))}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	card := signCard(t, k, testIss, cardNBF, nil)
	// Default leeway 5 min: 4 min early passes, 6 min early does not.
	wantCode(t, verifyOne(t, mk(cardNBF-240), card), VerdictVerified, "")
	r := verifyOne(t, mk(cardNBF-360), card)
	wantCode(t, r, VerdictInvalid, CodeNotYetValid)
	if !errors.Is(r.Err(), ErrNotYetValid) {
		t.Fatal("errors.Is(ErrNotYetValid)")
	}
	wantCode(t, verifyOne(t, mk(cardNBF-360, WithLeeway(10*time.Minute)), card), VerdictVerified, "")
	wantCode(t, verifyOne(t, mk(cardNBF-1, WithLeeway(0)), card), VerdictInvalid, CodeNotYetValid)
	// nbf in milliseconds (after year 9999 in seconds) is a bad payload
	// (shc), named as such.
	ms := rawCardNBF(t, k, cardNBF*1000+123)
	r = verifyOne(t, mk(cardNBF), ms)
	wantCode(t, r, VerdictInvalid, CodeBadPayload)
	if !strings.Contains(r.Errors[0].Message, "milliseconds") {
		t.Fatalf("message %q", r.Errors[0].Message)
	}
	// exp is enforced exactly, without leeway.
	exp := shc.NumericDate(cardNBF + 100)
	expiring := signCard(t, k, testIss, cardNBF, func(p *shc.Payload) { p.Expires = &exp })
	wantCode(t, verifyOne(t, mk(cardNBF+99), expiring), VerdictVerified, "")
	r = verifyOne(t, mk(cardNBF+101), expiring)
	wantCode(t, r, VerdictInvalid, CodeExpired)
	if r.Summary == nil || r.Issuer != testIss {
		t.Fatal("an expired card still shows what it is")
	}
}

// REV-8/REV-10: revocation list behaviour against a live issuer.
func TestRevocationLive(t *testing.T) {
	k := newKey(t)
	kid, _ := keysThumb(t, k)
	crlPath := "/.well-known/crl/" + kid + ".json"
	card := signCard(t, k, testIss, cardNBF, func(p *shc.Payload) { p.VC.RID = "rid1" })

	t.Run("unavailable fails closed by default", func(t *testing.T) {
		h := newIssuerHost(t)
		h.serve("/.well-known/jwks.json", jwksOf(t, map[string]any{"crlVersion": 1}, k))
		r := verifyOne(t, hostVerifier(t, h, WithTrustedIssuers(testIss)), card)
		wantCode(t, r, VerdictUnableToCheck, CodeRevocationUnavailable)
		if !errors.Is(r.Err(), ErrRevocationUnavailable) {
			t.Fatal("errors.Is")
		}
		// Plain words for the sender, the cause (HTTP 404 at the list's
		// URL) in the chain for the log (issue 10).
		noAddress(t, r)
		var fe *FetchError
		if !errors.As(r.Err(), &fe) || !strings.Contains(r.Errors[0].Message, "the issuer's revocation list could not be fetched") ||
			fe.Detail() != h.URL+crlPath+": HTTP 404" {
			t.Fatalf("revocation fetch failure: %+v", r.Errors)
		}
		r = verifyOne(t, hostVerifier(t, h, WithTrustedIssuers(testIss), WithRevocationPolicy(RevocationBestEffort)), card)
		wantCode(t, r, VerdictVerified, "")
		if len(r.Warnings) == 0 {
			t.Fatal("best effort must warn")
		}
		noAddress(t, r)
	})
	t.Run("kid mismatch ignored with a warning", func(t *testing.T) {
		h := newIssuerHost(t)
		h.serve("/.well-known/jwks.json", jwksOf(t, map[string]any{"crlVersion": 1}, k))
		h.serve(crlPath, crlJSON("someone-else", 1, "rid1"))
		r := verifyOne(t, hostVerifier(t, h, WithTrustedIssuers(testIss)), card)
		wantCode(t, r, VerdictUnableToCheck, CodeRevocationUnavailable)
		r = verifyOne(t, hostVerifier(t, h, WithTrustedIssuers(testIss), WithRevocationPolicy(RevocationBestEffort)), card)
		wantCode(t, r, VerdictVerified, "")
		if !strings.Contains(strings.Join(r.Warnings, "|"), "names kid someone-else") {
			t.Fatalf("warnings %q", r.Warnings)
		}
	})
	t.Run("no crlVersion: never fetched", func(t *testing.T) {
		h := newIssuerHost(t)
		h.serve("/.well-known/jwks.json", jwksOf(t, nil, k))
		h.serve(crlPath, crlJSON(kid, 1, "rid1"))
		wantCode(t, verifyOne(t, hostVerifier(t, h, WithTrustedIssuers(testIss)), card), VerdictVerified, "")
		if h.count(crlPath) != 0 {
			t.Fatal("CRL fetched for a key without crlVersion (REV-8)")
		}
	})
	t.Run("refetched only when crlVersion moves past ctr", func(t *testing.T) {
		h := newIssuerHost(t)
		h.serve("/.well-known/jwks.json", jwksOf(t, map[string]any{"crlVersion": 1}, k))
		h.serve(crlPath, crlJSON(kid, "1", "other")) // ctr as a string (REV-4)
		c := newClock(cardNBF + 60)
		v := hostVerifier(t, h, WithTrustedIssuers(testIss), WithClock(c.now))
		wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
		// The issuer revokes rid1 and bumps ctr, but the cached key set
		// still says crlVersion 1 and the list is younger than half the
		// revocation bound: no refetch (see TestRevocationMaxAge for what
		// happens later).
		h.serve(crlPath, crlJSON(kid, 2, "other", "rid1"))
		c.add(2 * time.Minute)
		wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
		if n := h.count(crlPath); n != 1 {
			t.Fatalf("CRL fetched %d times while crlVersion did not move", n)
		}
		// The key set expires from the cache and now says crlVersion 2.
		h.serve("/.well-known/jwks.json", jwksOf(t, map[string]any{"crlVersion": 2}, k))
		c.add(DefaultKeyCacheTTL)
		wantCode(t, verifyOne(t, v, card), VerdictInvalid, CodeRevoked)
		if n := h.count(crlPath); n != 2 {
			t.Fatalf("CRL fetched %d times", n)
		}
	})
	t.Run("timestamped rid", func(t *testing.T) {
		h := newIssuerHost(t)
		h.serve("/.well-known/jwks.json", jwksOf(t, map[string]any{"crlVersion": 1}, k))
		h.serve(crlPath, crlJSON(kid, 1, fmt.Sprintf("rid1.%d", cardNBF)))
		v := hostVerifier(t, h, WithTrustedIssuers(testIss))
		// nbf equal to the timestamp: not revoked (REV-9 "before").
		wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
		early := signCard(t, k, testIss, cardNBF-0.001, func(p *shc.Payload) { p.VC.RID = "rid1" })
		wantCode(t, verifyOne(t, v, early), VerdictInvalid, CodeRevoked)
	})
}

func keysThumb(t testing.TB, k *ecdsa.PrivateKey) (string, error) {
	return keys.Thumbprint(&k.PublicKey)
}

// Issuer hosts that misbehave give issuer_unreachable, never a hang.
func TestIssuerUnreachable(t *testing.T) {
	k := newKey(t)
	card := signCard(t, k, testIss, cardNBF, nil)
	big := append([]byte(`{"keys":[],"pad":"`), append([]byte(strings.Repeat("x", 2<<20)), '"', '}')...)
	cases := map[string]http.HandlerFunc{
		"500":  func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) },
		"huge": func(w http.ResponseWriter, r *http.Request) { w.Write(big) },
		"slow": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		},
		"not json": func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			h := newIssuerHost(t)
			h.set("/.well-known/jwks.json", f)
			r := verifyOne(t, hostVerifier(t, h, WithTrustedIssuers(testIss), WithFetchTimeout(300*time.Millisecond)), card)
			wantCode(t, r, VerdictUnableToCheck, CodeIssuerUnreachable)
			if !errors.Is(r.Err(), ErrIssuerUnreachable) {
				t.Fatal("errors.Is")
			}
			noAddress(t, r)
			var fe *FetchError
			if name != "not json" && (!errors.As(r.Err(), &fe) || !strings.HasPrefix(fe.Detail(), h.URL+"/.well-known/jwks.json: ")) {
				t.Fatalf("the cause is not kept for logs: %#v", r.Err())
			}
		})
	}
	t.Run("redirect to another host", func(t *testing.T) {
		other := newIssuerHost(t)
		other.serve("/.well-known/jwks.json", jwksOf(t, nil, k))
		h := newIssuerHost(t)
		h.set("/.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/.well-known/jwks.json", http.StatusFound)
		})
		r := verifyOne(t, hostVerifier(t, h, WithTrustedIssuers(testIss)), card)
		wantCode(t, r, VerdictUnableToCheck, CodeIssuerUnreachable)
		if other.count("/.well-known/jwks.json") != 0 {
			t.Fatal("followed a cross-host redirect")
		}
	})
	t.Run("same-host redirect is followed", func(t *testing.T) {
		h := newIssuerHost(t)
		h.set("/.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/keys", http.StatusFound)
		})
		h.serve("/keys", jwksOf(t, nil, k))
		wantCode(t, verifyOne(t, hostVerifier(t, h, WithTrustedIssuers(testIss)), card), VerdictVerified, "")
	})
	t.Run("private address refused without the option", func(t *testing.T) {
		h := newIssuerHost(t)
		h.serve("/.well-known/jwks.json", jwksOf(t, nil, k))
		pool := netOpts(h.Server)[0]
		v, err := New(pool, WithClock(at(cardNBF+60)), WithIssuerMirror(testIss, h.URL), WithTrustedIssuers(testIss))
		if err != nil {
			t.Fatal(err)
		}
		r := verifyOne(t, v, card)
		wantCode(t, r, VerdictUnableToCheck, CodeIssuerUnreachable)
		if h.count("/.well-known/jwks.json") != 0 || !errors.Is(r.Err(), safehttp.ErrBlockedAddress) {
			t.Fatalf("loopback reached: %+v", r.Errors)
		}
		noAddress(t, r)
	})
}

// An unknown kid triggers one refetch of the key set, rate-limited.
func TestUnknownKidRefetchRateLimited(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	h := newIssuerHost(t)
	h.serve("/.well-known/jwks.json", jwksOf(t, nil, k1))
	c := newClock(cardNBF + 60)
	v := hostVerifier(t, h, WithTrustedIssuers(testIss), WithClock(c.now))
	wantCode(t, verifyOne(t, v, signCard(t, k1, testIss, cardNBF, nil)), VerdictVerified, "")
	c.add(2 * time.Minute)
	// Rotation: k2 appears; the first card with its kid triggers a refetch.
	h.serve("/.well-known/jwks.json", jwksOf(t, nil, k1, k2))
	wantCode(t, verifyOne(t, v, signCard(t, k2, testIss, cardNBF, nil)), VerdictVerified, "")
	if n := h.count("/.well-known/jwks.json"); n != 2 {
		t.Fatalf("fetched %d times, want 2", n)
	}
	// Made-up kids do not hammer the issuer: at most one refetch per interval.
	for round, want := range []int{2, 3} {
		for i := 0; i < 5; i++ {
			wantCode(t, verifyOne(t, v, signCard(t, newKey(t), testIss, cardNBF, nil)), VerdictInvalid, CodeKeyNotFound)
		}
		if n := h.count("/.well-known/jwks.json"); n != want {
			t.Fatalf("round %d: fetched %d times, want %d", round, n, want)
		}
		c.add(DefaultRefetchInterval + time.Second)
	}
}

var _ = testvectors.Available

// addressLike matches an IPv4 address, a bracketed IPv6 address or a
// host:port pair: what a fetch failure must not show the card's sender
// (issue 10).
var addressLike = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b|\[[0-9a-fA-F:]+\]|\b[A-Za-z][A-Za-z0-9.-]*:\d{2,5}\b`)

// noAddress fails when any message of r names an address: its errors,
// warnings and check details say what failed in plain words only.
func noAddress(t *testing.T, r *Result) {
	t.Helper()
	texts := append([]string(nil), r.Warnings...)
	for _, e := range r.Errors {
		texts = append(texts, e.Message)
	}
	for _, c := range r.Checks {
		texts = append(texts, c.Detail)
	}
	for _, s := range texts {
		if m := addressLike.FindString(s); m != "" {
			t.Errorf("message names an address (%q): %q", m, s)
		}
	}
}

// The address check itself can fail: transport errors match, times do not.
func TestAddressLike(t *testing.T) {
	for _, s := range []string{"dial tcp 10.1.2.3:443: connect: connection refused", "lookup x on [fd00::53]:53: no such host",
		"Get https://localhost:8443/.well-known/jwks.json", "destination address is not allowed: 127.0.0.1"} {
		if !addressLike.MatchString(s) {
			t.Errorf("%q not caught", s)
		}
	}
	for _, s := range []string{"issued 2023-11-14T22:13:20Z", "the issuer's key set could not be fetched", "rid abc:1"} {
		if addressLike.MatchString(s) {
			t.Errorf("%q taken for an address", s)
		}
	}
}
