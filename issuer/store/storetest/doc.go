// Package storetest is the conformance suite every store.Store
// implementation passes: the SQL store (package sqlstore) on SQLite and on
// PostgreSQL, and memstore, run the same tests, so the issuer service
// behaves the same on any of them.
//
// It checks every method: ErrNotFound, ErrConflict and ErrInvalid, result
// ordering, since-filtering, replace-on-same-id, byte-exact JSON, atomic
// card-plus-audit writes, revocation semantics (the counter starts at 1 and
// grows by exactly one per Revoke, REV-4/REV-7; entries are de-duplicated
// per key and kept in insertion order, REV-5), concurrent revocations that
// never lose an increment, and context cancellation without partial writes.
//
// Keeping PHI out of audit events is the caller's job and is not tested
// here.
//
// Use it from an implementation's tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
//	}
package storetest
