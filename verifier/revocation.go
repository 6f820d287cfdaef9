package verifier

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/healthcards/healthcards/shc"
)

type crlKey struct{ iss, kid string }

type cachedCRL struct {
	list      *crl
	fetchedAt time.Time // last successful fetch or 304 revalidation
	failedAt  time.Time // last failed refresh or fetch (zero if none since)
	failure   error     // its reason
	val       validators
	refresh   time.Duration // age past which it is refreshed in the background
}

// crlCache caches fetched revocation lists by (iss, kid), never by ctr
// alone: two lists with the same ctr can differ (the official examples ship
// a stale and a published list, both ctr 1).
type crlCache struct {
	mu sync.Mutex
	m  map[crlKey]*cachedCRL
	// fetching serializes fetches per (iss, kid).
	fetching map[crlKey]*ctxMutex
	// refreshing marks the lists being refreshed in the background.
	refreshing map[crlKey]bool
}

func newCRLCache() *crlCache {
	return &crlCache{m: map[crlKey]*cachedCRL{}, fetching: map[crlKey]*ctxMutex{}, refreshing: map[crlKey]bool{}}
}

func (c *crlCache) get(k crlKey) *cachedCRL {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *crlCache) put(k crlKey, v *cachedCRL) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedIssuers {
		c.m = map[crlKey]*cachedCRL{}
	}
	c.m[k] = v
}

func (c *crlCache) lock(k crlKey) *ctxMutex {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.fetching[k]
	if l == nil {
		if len(c.fetching) >= maxCachedIssuers {
			c.fetching = map[crlKey]*ctxMutex{}
		}
		l = &ctxMutex{}
		c.fetching[k] = l
	}
	return l
}

// startRefresh marks k as being refreshed; false when it already is.
func (c *crlCache) startRefresh(k crlKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refreshing[k] || len(c.refreshing) >= maxCachedIssuers {
		return false
	}
	c.refreshing[k] = true
	return true
}

func (c *crlCache) endRefresh(k crlKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.refreshing, k)
}

// crlMaxAge is the age past which a fetched list no longer answers: the
// CRL TTL or the revocation bound, whichever is smaller.
func (v *Verifier) crlMaxAge() time.Duration { return min(v.cfg.crlTTL, v.cfg.revMaxAge) }

// usable reports whether a cached list may answer for a key whose JWK
// says crlVersion: REV-8 allows a cached copy while crlVersion has not moved
// past its ctr; the revocation bound (WithRevocationMaxAge) limits its age.
func (v *Verifier) usable(c *cachedCRL, crlVersion int64, now time.Time) bool {
	return c != nil && c.list.ctr >= crlVersion && now.Sub(c.fetchedAt) < v.crlMaxAge()
}

// revocationList returns the list for (iss, kid): from a directory when it
// is current (ctr >= crlVersion), else from the cache (refreshed in the
// background once older than its refresh age), else fetched from
// <iss>/.well-known/crl/<kid>.json (REV-6), conditionally when a cached
// copy exists. A nil list with a reason means the list cannot be had; the
// reason's text is plain words (a *FetchError keeps its cause in the chain,
// for logs), and stale is the last good list, if any, past its bound.
func (v *Verifier) revocationList(ctx context.Context, ti *trustedIssuer, iss string, key keyEntry, warn func(string)) (list *crl, src string, stale *cachedCRL, why error) {
	var dirList *crl
	if ti != nil {
		dirList = ti.crls[key.kid]
		if dirList != nil && dirList.ctr >= key.crlVersion {
			return dirList, "directory", nil, nil
		}
	}
	now := v.clock()
	k := crlKey{iss, key.kid}
	if c := v.crls.get(k); v.usable(c, key.crlVersion, now) {
		v.stats.crlHits.Add(1)
		if refreshDue(c.fetchedAt, c.failedAt, c.refresh, now) {
			v.refreshCRL(iss, key.kid)
		}
		return c.list, "cache", nil, nil
	}
	if v.fetch == nil {
		v.stats.crlMisses.Add(1)
		if dirList != nil {
			warn(fmt.Sprintf("directory revocation list for %s has ctr %d, older than the key's crlVersion %d; offline, using it", key.kid, dirList.ctr, key.crlVersion))
			return dirList, "directory", nil, nil
		}
		return nil, "", nil, errors.New("offline and no revocation list for this key in the trust sources")
	}
	l := v.crls.lock(k)
	if err := l.lock(ctx); err != nil {
		return nil, "", v.crls.get(k), fmt.Errorf("not fetched: %w", err)
	}
	defer l.unlock()
	c := v.crls.get(k)
	if v.usable(c, key.crlVersion, now) {
		v.stats.crlHits.Add(1)
		return c.list, "cache", nil, nil
	}
	v.stats.crlMisses.Add(1)
	if c != nil && c.failure != nil && now.Sub(c.failedAt) < c.refresh {
		// The issuer failed a moment ago: answer now instead of making
		// every verification wait on it; retry after the refresh age.
		return nil, "", c, c.failure
	}
	if berr := v.fetchAllowed(ctx, iss); berr != nil {
		return nil, "", c, fmt.Errorf("not fetched: %w", berr.Err)
	}
	nc, err := v.fetchCRL(ctx, iss, key.kid, c, now, warn)
	if err != nil {
		if c != nil {
			f := *c
			f.failedAt, f.failure = now, err
			v.crls.put(k, &f)
		}
		return nil, "", c, err
	}
	if nc.list.ctr < key.crlVersion {
		warn(fmt.Sprintf("revocation list for key %s has ctr %d, older than the key's crlVersion %d", key.kid, nc.list.ctr, key.crlVersion))
	}
	v.crls.put(k, nc)
	return nc.list, "fetched", nil, nil
}

// fetchCRL fetches the list of (iss, kid), conditionally on prev's
// validators, and checks that it is for kid and of method rid.
func (v *Verifier) fetchCRL(ctx context.Context, iss, kid string, prev *cachedCRL, now time.Time, warn func(string)) (*cachedCRL, error) {
	base, err := v.issuerBase(iss)
	if err != nil {
		return nil, err
	}
	var val validators
	if prev != nil {
		val = prev.val
	}
	f, err := v.getCond(ctx, base+"/.well-known/crl/"+kid+".json", maxCRLFetchBytes, val)
	if err != nil {
		return nil, err // a *FetchError: plain words, the cause for logs
	}
	nc := &cachedCRL{fetchedAt: now, val: validators{f.etag, f.lastMod}, refresh: v.refreshAfter(f.maxAge, v.cfg.crlTTL)}
	if f.notModified {
		nc.list = prev.list
		return nc, nil
	}
	list, err := parseCRL(f.body)
	if err != nil {
		return nil, err
	}
	if list.kid != kid {
		warn(fmt.Sprintf("revocation list for key %s ignored: it names kid %.64s (REV-10)", kid, list.kid))
		return nil, errors.New("the revocation list names another kid")
	}
	if list.method != "rid" {
		warn(fmt.Sprintf("revocation list for key %s ignored: method %.32q is not \"rid\"", kid, list.method))
		return nil, errors.New("unsupported revocation method")
	}
	nc.list = list
	return nc, nil
}

// refreshCRL refreshes the cached list of (iss, kid) in the background
// unless a refresh of it is under way.
func (v *Verifier) refreshCRL(iss, kid string) {
	k := crlKey{iss, kid}
	if v.fetch == nil || !v.crls.startRefresh(k) {
		return
	}
	v.background(func(ctx context.Context) {
		defer v.crls.endRefresh(k)
		l := v.crls.lock(k)
		if err := l.lock(ctx); err != nil {
			return
		}
		defer l.unlock()
		now := v.clock()
		c := v.crls.get(k)
		if c == nil || !refreshDue(c.fetchedAt, c.failedAt, c.refresh, now) {
			return // refreshed meanwhile
		}
		nc, err := v.fetchCRL(ctx, iss, kid, c, now, func(string) {})
		if v.crls.get(k) == nil {
			return // dropped meanwhile (a reload stopped trusting iss): not re-added
		}
		if err != nil {
			f := *c
			f.failedAt, f.failure = now, err
			v.crls.put(k, &f) // keep the list; retry after the refresh age
			return
		}
		v.crls.put(k, nc)
	})
}

// checkRevocation applies REV-8/REV-9 to a verified card. It returns nil
// when the card is not revoked (or revocation does not apply, or the list
// is unavailable and the policy accepts that).
func (v *Verifier) checkRevocation(ctx context.Context, ti *trustedIssuer, iss string, key keyEntry, p *shc.Payload, r *Result) *Error {
	if key.crlVersion == 0 {
		r.check(StepRevocation, CheckSkipped, "key has no crlVersion: the issuer does not revoke cards of this key")
		return nil
	}
	if p.VC.RID == "" {
		r.check(StepRevocation, CheckSkipped, "card has no rid: it cannot be revoked by rid (REV-10)")
		return nil
	}
	list, src, stale, why := v.revocationList(ctx, ti, iss, key, r.warn)
	if list == nil {
		if stale != nil {
			// A rid on the last good list stays revoked, whatever its age.
			if revoked, detail := stale.list.revokes(p.VC.RID, p.NotBefore); revoked {
				return newErr(CodeRevoked, StepRevocation, "%s (last good list, fetched %s ago)", detail, age(v.clock(), stale.fetchedAt))
			}
			why = fmt.Errorf("%w; the last good revocation list is %s old, over the %s bound", why, age(v.clock(), stale.fetchedAt), v.cfg.revMaxAge)
		}
		if v.policy == RevocationBestEffort {
			r.warn("revocation status unknown: " + why.Error())
			r.check(StepRevocation, CheckWarning, "revocation list unavailable; accepted by policy: "+why.Error())
			return nil
		}
		return wrapErr(CodeRevocationUnavailable, StepRevocation, fmt.Errorf("key %s has crlVersion %d but its revocation list is unavailable: %w", key.kid, key.crlVersion, why))
	}
	revoked, detail := list.revokes(p.VC.RID, p.NotBefore)
	if revoked {
		return newErr(CodeRevoked, StepRevocation, "%s", detail)
	}
	if detail == "" {
		detail = fmt.Sprintf("rid %s not in the revocation list (ctr %d, %s)", p.VC.RID, list.ctr, src)
	}
	r.check(StepRevocation, CheckPassed, detail)
	return nil
}

// age is now - t in whole seconds, for messages.
func age(now, t time.Time) time.Duration { return now.Sub(t).Round(time.Second) }
