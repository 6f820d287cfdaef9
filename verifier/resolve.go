package verifier

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/healthcards/healthcards/keys"
)

// get fetches url through the guarded client and returns a 200 body of at
// most limit bytes.
func (v *Verifier) get(ctx context.Context, url string, limit int64) ([]byte, error) {
	if v.fetch == nil {
		return nil, fmt.Errorf("offline: not fetching %s", url)
	}
	v.stats.fetches.Add(1)
	resp, err := v.fetch.Get(ctx, url)
	if err != nil {
		v.stats.fetchFailures.Add(1)
		return nil, &FetchError{URL: url, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		v.stats.fetchFailures.Add(1)
		return nil, &FetchError{URL: url, Err: fmt.Errorf("HTTP %d", resp.StatusCode)}
	}
	if int64(len(resp.Body)) > limit {
		v.stats.fetchFailures.Add(1)
		return nil, &FetchError{URL: url, Err: fmt.Errorf("body of %d bytes exceeds %d", len(resp.Body), limit)}
	}
	return resp.Body, nil
}

// issuerBase is where iss publishes .well-known files: the mirror when one
// is configured, iss itself for https (KEY-3/4: plain concatenation), and
// the https base of a did:web.
func (v *Verifier) issuerBase(iss string) (string, error) {
	if m, ok := v.cfg.mirrors[iss]; ok {
		return m, nil
	}
	if strings.HasPrefix(iss, "did:web:") {
		return v.did.webBase(iss)
	}
	if strings.HasPrefix(iss, "did:") {
		return "", fmt.Errorf("%s publishes no https files", iss)
	}
	return iss, nil
}

// liveState is an immutable view of one issuer's fetched keys.
type liveState struct {
	set       *keySet
	fetchedAt time.Time // last successful fetch or 304 revalidation
	failedAt  time.Time // last failed fetch (zero if none since)
	failure   error
	val       validators    // ETag / Last-Modified of the set
	refresh   time.Duration // age past which it is refreshed in the background
}

type liveEntry struct {
	mu         ctxMutex // serializes fetches for this issuer
	state      atomic.Pointer[liveState]
	refreshing atomic.Bool // a background refresh is under way
}

// keyCache caches key sets fetched from issuers (JWKS or DID documents).
type keyCache struct {
	mu sync.RWMutex
	m  map[string]*liveEntry
}

const maxCachedIssuers = 10000

func newKeyCache() *keyCache { return &keyCache{m: map[string]*liveEntry{}} }

func (c *keyCache) entry(iss string) *liveEntry {
	c.mu.RLock()
	e := c.m[iss]
	c.mu.RUnlock()
	if e != nil {
		return e
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e = c.m[iss]; e == nil {
		if len(c.m) >= maxCachedIssuers {
			c.m = map[string]*liveEntry{} // crude bound; trusted issuers refill it
		}
		e = &liveEntry{}
		c.m[iss] = e
	}
	return e
}

// liveKeys returns iss's keys with kid from the cache, fetching the key set
// when it is absent or older than the TTL, and once more (at most every
// refetch interval) when the kid is unknown. Warnings (serving a stale set
// after a failed fetch) go to warn.
func (v *Verifier) liveKeys(ctx context.Context, iss, kid string, warn func(string)) ([]keyEntry, *Error) {
	e := v.cache.entry(iss)
	now := v.clock()
	if st := e.state.Load(); st != nil && now.Sub(st.fetchedAt) < v.cfg.keyTTL {
		if ks := st.set.lookup(kid); len(ks) > 0 {
			v.stats.keySetHits.Add(1)
			if refreshDue(st.fetchedAt, st.failedAt, st.refresh, now) {
				v.refreshKeys(e, iss) // served now, refreshed meanwhile
			}
			return ks, nil // hot path: no lock
		}
	}
	// Wait for another request's fetch of this issuer only as long as this
	// request's context allows.
	if err := e.mu.lock(ctx); err != nil {
		return nil, wrapErr(CodeDeadline, StepKey, err)
	}
	defer e.mu.unlock()
	st := e.state.Load()
	if st == nil {
		v.stats.keySetMisses.Add(1)
	}
	if st != nil {
		fresh := now.Sub(st.fetchedAt) < v.cfg.keyTTL
		if ks := st.set.lookup(kid); fresh && len(ks) > 0 {
			v.stats.keySetHits.Add(1)
			return ks, nil
		}
		v.stats.keySetMisses.Add(1)
		// Rate limit: an unknown kid or a failing issuer causes at most one
		// fetch per refetch interval.
		if !st.failedAt.IsZero() && now.Sub(st.failedAt) < v.cfg.refetchEvery {
			if ks := st.set.lookup(kid); len(ks) > 0 {
				warn(fmt.Sprintf("using the key set of %s fetched at %s: refetching failed: %v", iss, st.fetchedAt.UTC().Format(time.RFC3339), st.failure))
				return ks, nil
			}
			if st.set == nil {
				return nil, wrapErr(CodeIssuerUnreachable, StepKey, st.failure)
			}
			return nil, newErr(CodeKeyNotFound, StepKey, "issuer %s has no usable signing key %s (not refetched: last attempt failed %s ago)", iss, kid, now.Sub(st.failedAt).Round(time.Second))
		}
		if fresh && now.Sub(st.fetchedAt) < v.cfg.refetchEvery {
			return nil, newErr(CodeKeyNotFound, StepKey, "issuer %s has no usable signing key %s (key set fetched %s ago)", iss, kid, now.Sub(st.fetchedAt).Round(time.Second))
		}
	}
	// The request's fetch budget (limits.go): refusing is not a failure of
	// the issuer, so the cached state is left as it was.
	if berr := v.fetchAllowed(ctx, iss); berr != nil {
		if st != nil && len(st.set.lookup(kid)) > 0 {
			ks := st.set.lookup(kid)
			warn(fmt.Sprintf("using the key set of %s fetched at %s: not refetched (fetch budget used up)", iss, st.fetchedAt.UTC().Format(time.RFC3339)))
			return ks, nil
		}
		return nil, berr
	}
	ns, warns, err := v.fetchKeySet(ctx, iss, st, now)
	e.state.Store(ns)
	if err != nil {
		if ks := ns.set.lookup(kid); len(ks) > 0 {
			warn(fmt.Sprintf("using the key set of %s fetched at %s: refetching failed: %v", iss, ns.fetchedAt.UTC().Format(time.RFC3339), err))
			return ks, nil
		}
		return nil, wrapErr(CodeIssuerUnreachable, StepKey, err)
	}
	for _, w := range warns {
		warn(fmt.Sprintf("key set of %s: %s", iss, w))
	}
	if ks := ns.set.lookup(kid); len(ks) > 0 {
		return ks, nil
	}
	return nil, newErr(CodeKeyNotFound, StepKey, "issuer %s has no usable signing key %s (KEY-5: EC P-256, use sig, alg ES256, kid = thumbprint)", iss, kid)
}

// refreshDue reports whether a document fetched (or revalidated) at
// fetchedAt is due for a background refresh: older than refresh, and the
// last failed attempt, if any, at least refresh ago.
func refreshDue(fetchedAt, failedAt time.Time, refresh time.Duration, now time.Time) bool {
	return now.Sub(fetchedAt) >= refresh && (failedAt.IsZero() || now.Sub(failedAt) >= refresh)
}

// refreshKeys refreshes iss's key set in the background unless a refresh
// is already under way: one fetch per issuer however many verifications
// notice the stale set.
func (v *Verifier) refreshKeys(e *liveEntry, iss string) {
	if v.fetch == nil || !e.refreshing.CompareAndSwap(false, true) {
		return
	}
	v.background(func(ctx context.Context) {
		defer e.refreshing.Store(false)
		if err := e.mu.lock(ctx); err != nil {
			return
		}
		defer e.mu.unlock()
		now := v.clock()
		st := e.state.Load()
		if st == nil || !refreshDue(st.fetchedAt, st.failedAt, st.refresh, now) {
			return // refreshed meanwhile
		}
		ns, _, _ := v.fetchKeySet(ctx, iss, st, now)
		if ns.set == nil {
			return
		}
		e.state.Store(ns)
	})
}

// fetchKeySet fetches iss + "/.well-known/jwks.json" (https issuers) or the
// DID document (did:web issuers), conditionally when prev holds a set, and
// returns the state to store: the new or revalidated set, or prev's set
// with the failure.
func (v *Verifier) fetchKeySet(ctx context.Context, iss string, prev *liveState, now time.Time) (*liveState, []string, error) {
	fail := func(err error) (*liveState, []string, error) {
		ns := &liveState{failedAt: now, failure: err}
		if prev != nil {
			ns.set, ns.fetchedAt, ns.val, ns.refresh = prev.set, prev.fetchedAt, prev.val, prev.refresh
		}
		return ns, nil, err
	}
	var u string
	if strings.HasPrefix(iss, "did:web:") {
		var err error
		if u, err = v.did.webDocURL(iss); err != nil {
			return fail(err)
		}
		if m, ok := v.cfg.mirrors[iss]; ok {
			base, _ := v.did.webBase(iss)
			u = m + strings.TrimPrefix(u, base)
		}
	} else {
		base, err := v.issuerBase(iss)
		if err != nil {
			return fail(err)
		}
		u = base + "/.well-known/jwks.json"
	}
	var val validators
	if prev != nil && prev.set != nil {
		val = prev.val
	}
	f, err := v.getCond(ctx, u, maxJWKSFetchBytes, val)
	if err != nil {
		return fail(err)
	}
	ns := &liveState{fetchedAt: now, val: validators{f.etag, f.lastMod}, refresh: v.refreshAfter(f.maxAge, v.cfg.keyTTL)}
	if f.notModified {
		ns.set = prev.set
		return ns, nil, nil
	}
	var warns []string
	if strings.HasPrefix(iss, "did:web:") {
		ns.set, warns, err = v.did.docKeys(iss, f.body)
	} else {
		ns.set, warns, err = parseKeySet(f.body)
	}
	if err != nil {
		return fail(err)
	}
	return ns, warns, nil
}

// resolveKeys finds the candidate keys for (iss, kid): keys from the trust
// sources first, then the key inside a did:key, then live keys when the
// issuer allows it. Keys are always looked up by issuer and kid together.
func (v *Verifier) resolveKeys(ctx context.Context, ti *trustedIssuer, iss, kid string, warn func(string)) ([]keyEntry, string, *Error) {
	if ti != nil {
		if ks := ti.keys.lookup(kid); len(ks) > 0 {
			return ks, "trust source", nil
		}
	}
	if strings.HasPrefix(iss, "did:key:") {
		pub, err := v.did.keyFromDIDKey(iss)
		if err != nil {
			return nil, "", wrapErr(CodeKeyNotFound, StepKey, err)
		}
		if tp, _ := keys.Thumbprint(pub); tp != kid {
			return nil, "", newErr(CodeKeyNotFound, StepKey, "kid %s is not the thumbprint %s of the did:key's key (HDR-4)", kid, tp)
		}
		return []keyEntry{{kid: kid, pub: pub}}, "did:key", nil
	}
	live := ti == nil && v.cfg.anyIssuer || ti != nil && (ti.live || v.cfg.anyIssuer)
	if !live {
		return nil, "", newErr(CodeKeyNotFound, StepKey, "the trust sources hold no usable signing key %s for %s", kid, iss)
	}
	if v.fetch == nil {
		return nil, "", newErr(CodeKeyNotFound, StepKey, "offline: no key %s for %s in the trust sources", kid, iss)
	}
	ks, err := v.liveKeys(ctx, iss, kid, warn)
	if err != nil {
		return nil, "", err
	}
	src := "jwks.json"
	if strings.HasPrefix(iss, "did:web:") {
		src = "DID document"
	}
	return ks, src, nil
}

// verifyWith tries each candidate (a kid may appear several times, KEY-7)
// and returns the key that verified the signature.
func verifyWith(verify func(*ecdsa.PublicKey) error, cands []keyEntry) (keyEntry, error) {
	var last error
	for _, k := range cands {
		if err := verify(k.pub); err == nil {
			return k, nil
		} else {
			last = err
		}
	}
	return keyEntry{}, last
}
