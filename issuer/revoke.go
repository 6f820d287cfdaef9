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
// rid under every published key) or one rid, optionally only those issued
// before a time (REV-5 "rid.T").
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
	if r.Before != nil {
		if r.Before.Unix() <= 0 {
			return RevokeResult{}, errf(CodeInvalidRevocation, "issuedBefore must be after 1970")
		}
		suffix = "." + strconv.FormatInt(r.Before.Unix(), 10)
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
		if !validID(r.PatientID) {
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
	is.log.InfoContext(ctx, "revocation stored", "ctr", ctr, "entries", len(entries), "actor", r.Actor)
	return RevokeResult{Ctr: ctr, Entries: entries}, nil
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
