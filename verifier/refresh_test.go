package verifier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthcards/healthcards/shc"
)

// serveCond serves body (as returned by get at each request) with a strong
// ETag and Cache-Control max-age, answering 304 to a matching
// If-None-Match, as issuer/httpapi does.
func (h *issuerHost) serveCond(path string, maxAge int, get func() []byte) {
	h.set(path, func(w http.ResponseWriter, r *http.Request) {
		b := get()
		sum := sha256.Sum256(b)
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(maxAge))
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(b)
	})
}

// revocableIssuer is an issuer host whose key set and revocation list
// change together when it revokes rid1 (crlVersion and ctr move at once,
// as in issue 11).
type revocableIssuer struct {
	*issuerHost
	mu      sync.Mutex
	revoked bool
	jwks    [2][]byte // crlVersion 1, 2
	crls    [2][]byte // ctr 1 (rid1 absent), ctr 2 (rid1 revoked)
	crlPath string
}

func newRevocableIssuer(t *testing.T, maxAge int) (*revocableIssuer, string) {
	k := newKey(t)
	kid, _ := keysThumb(t, k)
	ri := &revocableIssuer{issuerHost: newIssuerHost(t), crlPath: "/.well-known/crl/" + kid + ".json"}
	ri.jwks = [2][]byte{jwksOf(t, map[string]any{"crlVersion": 1}, k), jwksOf(t, map[string]any{"crlVersion": 2}, k)}
	ri.crls = [2][]byte{crlJSON(kid, 1, "other"), crlJSON(kid, 2, "other", "rid1")}
	ri.serveCond("/.well-known/jwks.json", maxAge, func() []byte { return ri.jwks[ri.version()] })
	ri.serveCond(ri.crlPath, maxAge, func() []byte { return ri.crls[ri.version()] })
	card := signCard(t, k, testIss, cardNBF, func(p *shc.Payload) { p.VC.RID = "rid1" })
	return ri, card
}

func (ri *revocableIssuer) version() int {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	if ri.revoked {
		return 1
	}
	return 0
}

func (ri *revocableIssuer) revoke() { ri.mu.Lock(); ri.revoked = true; ri.mu.Unlock() }

// TestRevocationMaxAge: a verifier that is already running reports a card
// revoked at its issuer within the bound (issue 11: it stayed green for an
// hour). Within the issuer's max-age nothing is fetched; past it, the
// cached key set and list answer while one background refresh each runs
// (REV-8), and the next verification sees the revocation.
func TestRevocationMaxAge(t *testing.T) {
	ri, card := newRevocableIssuer(t, 60)
	c := newClock(cardNBF + 60)
	v := hostVerifier(t, ri.issuerHost, WithTrustedIssuers(testIss), WithClock(c.now))
	wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
	c.add(30 * time.Second)
	wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
	if ri.count("/.well-known/jwks.json") != 1 || ri.count(ri.crlPath) != 1 {
		t.Fatalf("fetched within max-age: jwks %d, crl %d", ri.count("/.well-known/jwks.json"), ri.count(ri.crlPath))
	}

	ri.revoke()
	c.add(31 * time.Second)                                 // 61 s: past the issuer's max-age, well within the 5 min bound
	wantCode(t, verifyOne(t, v, card), VerdictVerified, "") // the cached copies answer...
	v.WaitRefreshes()                                       // ...while they are refreshed
	wantCode(t, verifyOne(t, v, card), VerdictInvalid, CodeRevoked)
	s := v.Stats()
	if s.Refreshes != 2 || ri.count("/.well-known/jwks.json") != 2 || ri.count(ri.crlPath) != 2 {
		t.Fatalf("refreshes %d, jwks fetched %d, crl %d", s.Refreshes, ri.count("/.well-known/jwks.json"), ri.count(ri.crlPath))
	}
	if s.NotModified != 0 {
		t.Fatalf("%d not-modified answers for changed documents", s.NotModified)
	}
}

// TestRefreshNotModified: an unchanged key set and list are revalidated
// with conditional requests (304, counted in Stats), and a 304 renews the
// cached copy's age.
func TestRefreshNotModified(t *testing.T) {
	ri, card := newRevocableIssuer(t, 60)
	c := newClock(cardNBF + 60)
	v := hostVerifier(t, ri.issuerHost, WithTrustedIssuers(testIss), WithClock(c.now))
	for i := 0; i < 10; i++ { // ten refresh periods: 10 min, twice the revocation bound
		wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
		v.WaitRefreshes()
		c.add(61 * time.Second)
	}
	s := v.Stats()
	if s.Refreshes != 18 || s.NotModified != 18 || s.CRLCacheMisses != 1 || s.FetchFailures != 0 {
		t.Fatalf("stats %+v", s)
	}
	if n := ri.count(ri.crlPath); n != 10 {
		t.Fatalf("crl requested %d times", n)
	}
}

// TestRevocationBoundPassedUnreachable: past the bound, with the issuer
// gone, RevocationRequired gives unable_to_check naming the age of the last
// good list, RevocationBestEffort verified with a warning saying the same,
// and a rid already on the last good list stays revoked.
func TestRevocationBoundPassedUnreachable(t *testing.T) {
	for _, policy := range []RevocationPolicy{RevocationRequired, RevocationBestEffort} {
		ri, card := newRevocableIssuer(t, 60)
		c := newClock(cardNBF + 60)
		v := hostVerifier(t, ri.issuerHost, WithTrustedIssuers(testIss), WithClock(c.now),
			WithRevocationMaxAge(2*time.Minute), WithRevocationPolicy(policy))
		wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
		ri.set(ri.crlPath, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
		c.add(3 * time.Minute)
		r := verifyOne(t, v, card)
		v.WaitRefreshes()
		// A second card a moment later is answered from the recorded
		// failure, without asking the failing issuer again; a refresh age
		// (60 s, the issuer's max-age) later it is asked again.
		n := ri.count(ri.crlPath)
		r2 := verifyOne(t, v, card)
		if ri.count(ri.crlPath) != n || r2.Verdict != r.Verdict {
			t.Fatalf("asked the failing issuer again at once: %d -> %d fetches, %s then %s", n, ri.count(ri.crlPath), r.Verdict, r2.Verdict)
		}
		c.add(61 * time.Second)
		verifyOne(t, v, card)
		v.WaitRefreshes()
		if ri.count(ri.crlPath) != n+1 {
			t.Fatalf("not asked again after the refresh age: %d fetches", ri.count(ri.crlPath))
		}
		const ageText = "the last good revocation list is 3m0s old, over the 2m0s bound"
		if policy == RevocationRequired {
			wantCode(t, r, VerdictUnableToCheck, CodeRevocationUnavailable)
			if !strings.Contains(r.Errors[0].Message, ageText) {
				t.Fatalf("message %q", r.Errors[0].Message)
			}
		} else {
			wantCode(t, r, VerdictVerified, "")
			if !strings.Contains(strings.Join(r.Warnings, "|"), ageText) {
				t.Fatalf("warnings %q", r.Warnings)
			}
		}
	}

	// rid1 revoked on the last good list: revoked even when the list is
	// past the bound and cannot be fetched again.
	ri, card := newRevocableIssuer(t, 60)
	ri.revoke()
	c := newClock(cardNBF + 60)
	v := hostVerifier(t, ri.issuerHost, WithTrustedIssuers(testIss), WithClock(c.now), WithRevocationMaxAge(2*time.Minute))
	wantCode(t, verifyOne(t, v, card), VerdictInvalid, CodeRevoked)
	ri.set(ri.crlPath, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
	c.add(3 * time.Minute)
	wantCode(t, verifyOne(t, v, card), VerdictInvalid, CodeRevoked)
	v.WaitRefreshes()
}

// TestRefreshCollapsed: many verifications noticing the same stale entries
// at once cause one fetch per document.
func TestRefreshCollapsed(t *testing.T) {
	ri, card := newRevocableIssuer(t, 60)
	c := newClock(cardNBF + 60)
	v := hostVerifier(t, ri.issuerHost, WithTrustedIssuers(testIss), WithClock(c.now))
	wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
	c.add(2 * time.Minute)
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := v.Verify(context.Background(), []byte(card))
			if err != nil || !res[0].Valid {
				t.Errorf("%v %+v", err, res)
			}
		}()
	}
	wg.Wait()
	v.WaitRefreshes()
	if j, l := ri.count("/.well-known/jwks.json"), ri.count(ri.crlPath); j != 2 || l != 2 {
		t.Fatalf("32 concurrent verifications: jwks fetched %d times, crl %d (want 2 each)", j, l)
	}
}

// TestRefreshDoesNotBlock: a slow issuer holds up its background refresh,
// not the verifications served meanwhile. The fetch timeout is a minute:
// were a verification to wait on the refresh, this test would hang until
// the refresh's request is released at its end.
func TestRefreshDoesNotBlock(t *testing.T) {
	ri, card := newRevocableIssuer(t, 60)
	c := newClock(cardNBF + 60)
	v := hostVerifier(t, ri.issuerHost, WithTrustedIssuers(testIss), WithClock(c.now), WithFetchTimeout(time.Minute))
	wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
	release, entered := make(chan struct{}), make(chan struct{}, 4)
	slow := func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		http.Error(w, "late", http.StatusServiceUnavailable)
	}
	ri.set("/.well-known/jwks.json", slow)
	ri.set(ri.crlPath, slow)
	c.add(2 * time.Minute)
	for i := 0; i < 3; i++ {
		wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
	}
	<-entered // a refresh is waiting on the issuer
	close(release)
	v.WaitRefreshes()
	if s := v.Stats(); s.Refreshes != 2 {
		t.Fatalf("refreshes %d", s.Refreshes)
	}
	// The failed refresh keeps the cached copies, which still answer.
	wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
}

func TestWithRevocationMaxAgeRange(t *testing.T) {
	for _, d := range []time.Duration{0, time.Millisecond, 25 * time.Hour} {
		if _, err := New(WithTrustedIssuers(testIss), WithRevocationMaxAge(d)); err == nil {
			t.Errorf("WithRevocationMaxAge(%v) accepted", d)
		}
	}
	v, err := New(WithTrustedIssuers(testIss), WithRevocationMaxAge(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	// With a 2 s bound, a max-age of 60 s is cut to 1 s; no max-age means 1 s.
	for _, c := range []struct{ maxAge, want time.Duration }{{60 * time.Second, time.Second}, {-1, time.Second}, {0, time.Second}} {
		if got := v.refreshAfter(c.maxAge, time.Hour); got != c.want {
			t.Errorf("refreshAfter(%v) = %v, want %v", c.maxAge, got, c.want)
		}
	}
	v, _ = New(WithTrustedIssuers(testIss))
	for _, c := range []struct{ maxAge, want time.Duration }{{60 * time.Second, 60 * time.Second}, {-1, 150 * time.Second}, {0, 10 * time.Second}, {time.Hour, 150 * time.Second}} {
		if got := v.refreshAfter(c.maxAge, time.Hour); got != c.want {
			t.Errorf("default bound: refreshAfter(%v) = %v, want %v", c.maxAge, got, c.want)
		}
	}
	h := http.Header{}
	for cc, want := range map[string]time.Duration{"": -1, "public, max-age=60": time.Minute, "no-cache": 0, "max-age=x": -1, "max-age=99999999999": MaxRevocationMaxAge} {
		h.Set("Cache-Control", cc)
		if got := maxAge(h); got != want {
			t.Errorf("maxAge(%q) = %v, want %v", cc, got, want)
		}
	}
}
