package verifier

import "sync/atomic"

// Stats are a Verifier's cumulative counters since New, for monitoring
// (the verifier service exports them at /metrics). They count events, never
// content: no issuer, kid or card value is kept.
type Stats struct {
	// KeySetCacheHits counts live key-set lookups (issuers whose keys are
	// fetched from jwks.json or a DID document) answered by a fresh cached
	// key set that holds the kid; KeySetCacheMisses counts the others (no
	// entry, stale, or unknown kid), whether a fetch followed or the
	// refetch rate limit answered. Keys from trust sources and did:key are
	// not cache lookups and count in neither.
	KeySetCacheHits   uint64 `json:"keySetCacheHits"`
	KeySetCacheMisses uint64 `json:"keySetCacheMisses"`
	// CRLCacheHits counts revocation-list lookups answered by a cached list
	// (REV-8: ctr not behind the key's crlVersion, within the CRL TTL);
	// CRLCacheMisses counts the lookups that had to fetch (or could not,
	// offline). Lists taken from a directory count in neither.
	CRLCacheHits   uint64 `json:"crlCacheHits"`
	CRLCacheMisses uint64 `json:"crlCacheMisses"`
	// Fetches counts HTTP fetches of key sets, DID documents, revocation
	// lists and trust sources given by URL; FetchFailures counts those that
	// failed (network, timeout, refused address, non-200 status, size cap).
	// SMART Health Link manifests and files are not included.
	Fetches       uint64 `json:"fetches"`
	FetchFailures uint64 `json:"fetchFailures"`
	// FetchesRefused counts fetches not made because a request's fetch
	// budget was used up (WithMaxIssuersFetchedPerInput,
	// ContextWithFetchLimit).
	FetchesRefused uint64 `json:"fetchesRefused"`
	// NotModified counts conditional fetches the issuer answered 304 Not
	// Modified (the cached copy was still current; counted in Fetches too).
	NotModified uint64 `json:"notModified"`
	// Refreshes counts background refreshes of cached key sets, DID
	// documents and revocation lists older than their refresh age
	// (WithRevocationMaxAge); each makes one conditional fetch.
	Refreshes uint64 `json:"refreshes"`
}

// stats holds the atomic counters behind Stats.
type stats struct {
	keySetHits, keySetMisses atomic.Uint64
	crlHits, crlMisses       atomic.Uint64
	fetches, fetchFailures   atomic.Uint64
	fetchesRefused           atomic.Uint64
	notModified, refreshes   atomic.Uint64
}

// Stats returns a snapshot of the verifier's counters. It is safe for
// concurrent use and does not block verifications. Each counter is read
// atomically; the set is not one atomic snapshot.
func (v *Verifier) Stats() Stats {
	s := &v.stats
	return Stats{
		KeySetCacheHits:   s.keySetHits.Load(),
		KeySetCacheMisses: s.keySetMisses.Load(),
		CRLCacheHits:      s.crlHits.Load(),
		CRLCacheMisses:    s.crlMisses.Load(),
		Fetches:           s.fetches.Load(),
		FetchFailures:     s.fetchFailures.Load(),
		FetchesRefused:    s.fetchesRefused.Load(),
		NotModified:       s.notModified.Load(),
		Refreshes:         s.refreshes.Load(),
	}
}
