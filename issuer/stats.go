package issuer

import (
	"context"
	"sync/atomic"
)

// Stats are the issuer's counters since New, for metrics.
type Stats struct {
	CardsIssued uint64 // cards signed and stored
	Revocations uint64 // revocation requests stored (each may add several CRL entries)
	CRLEntries  uint64 // CRL entries added
}

type stats struct {
	cards, revocations, entries atomic.Uint64
}

// Stats returns the counters.
func (is *Issuer) Stats() Stats {
	return Stats{CardsIssued: is.stats.cards.Load(), Revocations: is.stats.revocations.Load(), CRLEntries: is.stats.entries.Load()}
}

// Ready reports whether the issuer can issue and publish: the store
// answers and a signing key is active. Errors carry a stable code
// (CodeInternal for the store, CodeNoSigningKey for the keys) and no
// secrets.
func (is *Issuer) Ready(ctx context.Context) error {
	if _, err := is.cfg.Store.CRLVersion(ctx); err != nil {
		return wrapErr(CodeInternal, "the store does not answer", err)
	}
	if _, err := is.signer(); err != nil {
		return err
	}
	if len(is.PublishedKids()) == 0 {
		return errf(CodeNoSigningKey, "no published keys")
	}
	return nil
}
