package issuer

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
)

// RevokeRequest names the cards to revoke: all cards of a patient (their
// rid under every published key) or one rid.
//
// By default only the cards issued up to now are revoked, with the
// timestamp form "rid.T" (REV-5): a card the lab issues afterwards for the
// same patient (a corrected result) stays valid. Before picks another
// time; All revokes every card of the rid, also future ones, and is an
// explicit choice (a patient id that must never get a valid card again).
type RevokeRequest struct {
	PatientID string
	RID       string
	// Kid limits the revocation to one published key (the patient's rid
	// under that key, or RID under that key); empty means every published
	// key. A kid that is not published is refused, never ignored.
	Kid string
	// Before, if set, revokes only cards issued before it (whole seconds,
	// truncated: a card issued in the same second after Before stays valid).
	Before *time.Time
	// All revokes every card with the rid, issued now or later (a bare
	// "rid" entry). It cannot be combined with Before.
	All    bool
	Actor  string
	Reason string // free text for the audit log; must not hold PHI
}

// RevokeResult reports what was added.
type RevokeResult struct {
	Ctr     int64                   `json:"ctr"`
	Entries []store.RevocationEntry `json:"entries"`
}

// Revoke adds CRL entries and increments the revocation counter, which is
// every key's crlVersion (REV-4, REV-7), in one durable store transaction:
// when Revoke returns nil the revocation survives a crash.
func (is *Issuer) Revoke(ctx context.Context, r RevokeRequest) (RevokeResult, error) {
	if (r.PatientID == "") == (r.RID == "") {
		return RevokeResult{}, errf(CodeInvalidRevocation, "give exactly one of patientId or rid")
	}
	suffix := ""
	var floor int64 // unix ms: cards issued from now on get nbf ≥ floor
	switch {
	case r.All && r.Before != nil:
		return RevokeResult{}, errf(CodeInvalidRevocation, "give either all or issuedBefore, not both")
	case r.All:
	case r.Before != nil:
		if r.Before.Unix() <= 0 {
			return RevokeResult{}, errf(CodeInvalidRevocation, "issuedBefore must be after 1970")
		}
		suffix = "." + strconv.FormatInt(r.Before.Unix(), 10)
	default:
		// "Issued before now" (REV-5). The CRL timestamp has whole
		// seconds and nbf has milliseconds, so T is the next whole second:
		// every card issued up to now has nbf < T (fail closed), and cards
		// this issuer signs from now on are dated no earlier than T so that
		// they are not caught by the entry (see issueGroups).
		t := is.now().Unix() + 1
		suffix = "." + strconv.FormatInt(t, 10)
		floor = t * 1000
	}
	kids := is.PublishedKids()
	if len(kids) == 0 {
		return RevokeResult{}, errf(CodeNoSigningKey, "no published keys")
	}
	if r.Kid != "" {
		found := false
		for _, k := range kids {
			found = found || k == r.Kid
		}
		if !found {
			return RevokeResult{}, errf(CodeNotFound, "kid %.64q is not a published key", r.Kid)
		}
		kids = []string{r.Kid}
	}
	var entries []store.RevocationEntry
	switch {
	case r.PatientID != "":
		if !ValidID(r.PatientID) {
			return RevokeResult{}, errf(CodeInvalidRevocation, "patientId is not a FHIR id")
		}
		for _, kid := range kids {
			entries = append(entries, store.RevocationEntry{Kid: kid, Entry: RID(is.cfg.RIDSecret, kid, r.PatientID) + suffix})
		}
	default:
		if !shc.ValidRID(r.RID) {
			return RevokeResult{}, errf(CodeInvalidRevocation, "rid must be 1..24 base64url characters (REV-1)")
		}
		for _, kid := range kids {
			entries = append(entries, store.RevocationEntry{Kid: kid, Entry: r.RID + suffix})
		}
	}
	rids := make([]string, 0, len(entries))
	for _, e := range entries {
		rids = append(rids, e.Entry)
	}
	ev := store.Event{Time: is.now(), Actor: r.Actor, Action: "revoke", RID: strings.Join(rids, ","), Kid: entries[0].Kid, Detail: r.Reason}
	ctr, err := is.cfg.Store.Revoke(ctx, entries, ev)
	if err != nil {
		return RevokeResult{}, wrapErr(CodeInternal, "storing the revocation", err)
	}
	is.stats.revocations.Add(1)
	is.stats.entries.Add(uint64(len(entries)))
	if floor > 0 {
		is.raiseIssueFloor(floor)
	}
	is.log.InfoContext(ctx, "revocation stored", "ctr", ctr, "entries", len(entries), "actor", r.Actor)
	return RevokeResult{Ctr: ctr, Entries: entries}, nil
}

// raiseIssueFloor makes cards issued from now on carry nbf ≥ ms (unix
// milliseconds), at most a second ahead of the clock (within every
// verifier's nbf leeway).
func (is *Issuer) raiseIssueFloor(ms int64) {
	for {
		old := is.issueFloor.Load()
		if ms <= old || is.issueFloor.CompareAndSwap(old, ms) {
			return
		}
	}
}

// issueTime is the time put in new cards' nbf: the clock, or the floor set
// by a "before now" revocation in the same second.
func (is *Issuer) issueTime() time.Time {
	now := is.now()
	if f := is.issueFloor.Load(); now.UnixMilli() < f {
		return time.UnixMilli(f)
	}
	return now
}

// CRL is a Card Revocation List document (REV-4).
type CRL struct {
	Kid    string   `json:"kid"`
	Method string   `json:"method"`
	Ctr    int64    `json:"ctr"`
	RIDs   []string `json:"rids"`
}

// CRL returns the revocation list of a published key (REV-4, REV-6).
func (is *Issuer) CRL(ctx context.Context, kid string) (CRL, error) {
	published := false
	for _, k := range is.PublishedKids() {
		published = published || k == kid
	}
	if !published {
		return CRL{}, errf(CodeNotFound, "no published key %q", kid)
	}
	c, err := is.cfg.Store.CRL(ctx, kid)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return CRL{}, errf(CodeNotFound, "no CRL for %q", kid)
		}
		return CRL{}, wrapErr(CodeInternal, "reading the CRL", err)
	}
	rids := c.RIDs
	if rids == nil {
		rids = []string{}
	}
	return CRL{Kid: kid, Method: "rid", Ctr: c.Ctr, RIDs: rids}, nil
}

// JWKS returns the published key set with crlVersion = the current
// revocation counter on every key (REV-7, KEY-11).
func (is *Issuer) JWKS(ctx context.Context) (keys.JWKS, error) {
	ctr, err := is.cfg.Store.CRLVersion(ctx)
	if err != nil {
		return keys.JWKS{}, wrapErr(CodeInternal, "reading the CRL version", err)
	}
	v := int(ctr)
	return is.cfg.Keys.PublicJWKS(func(string) int { return v }), nil
}
