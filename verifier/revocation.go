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
	fetchedAt time.Time
}

// crlCache caches fetched revocation lists by (iss, kid), never by ctr
// alone: two lists with the same ctr can differ (the official examples ship
// a stale and a published list, both ctr 1).
type crlCache struct {
	mu sync.Mutex
	m  map[crlKey]*cachedCRL
	// fetching serializes fetches per (iss, kid).
	fetching map[crlKey]*ctxMutex
}

func newCRLCache() *crlCache {
	return &crlCache{m: map[crlKey]*cachedCRL{}, fetching: map[crlKey]*ctxMutex{}}
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

// usable reports whether a cached list may answer for a key whose JWK
// says crlVersion: REV-8 allows a cached copy while crlVersion has not moved
// past its ctr; the CRL TTL bounds its age as a safety net.
func (v *Verifier) usable(c *cachedCRL, crlVersion int64, now time.Time) bool {
	return c != nil && c.list.ctr >= crlVersion && now.Sub(c.fetchedAt) < v.cfg.crlTTL
}

// revocationList returns the list for (iss, kid): from a directory when it
// is current (ctr >= crlVersion), else from the cache, else fetched from
// <iss>/.well-known/crl/<kid>.json (REV-6). A nil list with a reason means
// the list cannot be had; the reason's text is plain words (a *FetchError
// keeps its cause in the chain, for logs).
func (v *Verifier) revocationList(ctx context.Context, ti *trustedIssuer, iss string, key keyEntry, warn func(string)) (*crl, string, error) {
	var dirList *crl
	if ti != nil {
		dirList = ti.crls[key.kid]
		if dirList != nil && dirList.ctr >= key.crlVersion {
			return dirList, "directory", nil
		}
	}
	now := v.clock()
	k := crlKey{iss, key.kid}
	if c := v.crls.get(k); v.usable(c, key.crlVersion, now) {
		v.stats.crlHits.Add(1)
		return c.list, "cache", nil
	}
	if v.fetch == nil {
		v.stats.crlMisses.Add(1)
		if dirList != nil {
			warn(fmt.Sprintf("directory revocation list for %s has ctr %d, older than the key's crlVersion %d; offline, using it", key.kid, dirList.ctr, key.crlVersion))
			return dirList, "directory", nil
		}
		return nil, "", errors.New("offline and no revocation list for this key in the trust sources")
	}
	l := v.crls.lock(k)
	if err := l.lock(ctx); err != nil {
		return nil, "", fmt.Errorf("not fetched: %w", err)
	}
	defer l.unlock()
	if c := v.crls.get(k); v.usable(c, key.crlVersion, now) {
		v.stats.crlHits.Add(1)
		return c.list, "cache", nil
	}
	v.stats.crlMisses.Add(1)
	base, err := v.issuerBase(iss)
	if err != nil {
		return nil, "", err
	}
	if berr := v.fetchAllowed(ctx, iss); berr != nil {
		return nil, "", fmt.Errorf("not fetched: %w", berr.Err)
	}
	body, err := v.get(ctx, base+"/.well-known/crl/"+key.kid+".json", maxCRLFetchBytes)
	if err != nil {
		return nil, "", err // a *FetchError: plain words, the cause for logs
	}
	list, err := parseCRL(body)
	if err != nil {
		return nil, "", err
	}
	if list.kid != key.kid {
		warn(fmt.Sprintf("revocation list for key %s ignored: it names kid %.64s (REV-10)", key.kid, list.kid))
		return nil, "", errors.New("the revocation list names another kid")
	}
	if list.method != "rid" {
		warn(fmt.Sprintf("revocation list for key %s ignored: method %.32q is not \"rid\"", key.kid, list.method))
		return nil, "", errors.New("unsupported revocation method")
	}
	if list.ctr < key.crlVersion {
		warn(fmt.Sprintf("revocation list for key %s has ctr %d, older than the key's crlVersion %d", key.kid, list.ctr, key.crlVersion))
	}
	v.crls.put(k, &cachedCRL{list: list, fetchedAt: now})
	return list, "fetched", nil
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
	list, src, why := v.revocationList(ctx, ti, iss, key, r.warn)
	if list == nil {
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
