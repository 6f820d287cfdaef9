package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/healthcards/healthcards/keys"
)

// TrustSnapshotInfo is what a trust snapshot says about itself.
type TrustSnapshotInfo struct {
	// Time is when its oldest revocation list was fetched (the snapshot is
	// as fresh as that list).
	Time time.Time
	// RevocationMaxAge is the bound of the verifier that made it: past
	// Time+RevocationMaxAge its revocation lists no longer answer.
	RevocationMaxAge time.Duration
	// Required is true when the verifier that made it requires revocation
	// status (RevocationRequired).
	Required bool
	Issuers  int
}

// wireSnapshot is a trust directory in the VCI snapshot shape (TRUST-3)
// plus three members directories do not have; parseDirectory ignores them.
type wireSnapshot struct {
	Time             string           `json:"time"`
	RevocationMaxAge int64            `json:"revocationMaxAgeSeconds"`
	RevocationPolicy string           `json:"revocationPolicy"`
	MediaType        string           `json:"mediaType"`
	IssuerInfo       []snapshotIssuer `json:"issuerInfo"`
}

type snapshotIssuer struct {
	Issuer struct {
		Iss  string `json:"iss"`
		Name string `json:"name,omitempty"`
	} `json:"issuer"`
	Keys []keys.JWK       `json:"keys"`
	Crls []snapshotCRLOut `json:"crls,omitempty"`
}

type snapshotCRLOut struct {
	Kid    string   `json:"kid"`
	Method string   `json:"method"`
	Ctr    int64    `json:"ctr"`
	Rids   []string `json:"rids"`
}

// TrustSnapshotMediaType names the JSON of TrustSnapshot.
const TrustSnapshotMediaType = "application/vnd.healthcards.trust-snapshot.v1+json"

// TrustSnapshot exports what this verifier trusts, for a verifier that
// cannot fetch (the scanning page's on-device mode): every trusted issuer
// with its signing keys (from the trust sources, and for live issuers the
// key set fetched now or cached) and the current revocation list of every
// key that has a crlVersion, as a trust directory (TRUST-3) that
// WithTrustSnapshot reads. Its time is when its oldest revocation list was
// fetched; the verifier's revocation bound and policy go with it. A key
// whose list cannot be had is exported without one, so a verifier that
// reads the snapshot cannot check that key's revocation status (REV-*).
//
// Issuers fetched live that cannot be reached are left out (their cards
// then get issuer_not_trusted on the device: fail closed).
//
// # Security considerations
//
// The snapshot holds public keys and revocation lists only: nothing about
// cards checked. Whoever serves it decides what the device trusts, so it
// must come from the verifier's own origin over HTTPS.
func (v *Verifier) TrustSnapshot(ctx context.Context) ([]byte, error) {
	if v.trust == nil {
		return nil, errors.New("TrustSnapshot: this verifier has no trust sources")
	}
	now := v.clock()
	v.trust.refresh(ctx, v, now)
	snap := v.trust.snap.Load()
	if snap == nil {
		return nil, errors.New("TrustSnapshot: trust sources not loaded")
	}
	oldest := now
	out := wireSnapshot{
		MediaType:        TrustSnapshotMediaType,
		RevocationMaxAge: int64(v.cfg.revMaxAge / time.Second),
		RevocationPolicy: "best-effort",
		IssuerInfo:       []snapshotIssuer{},
	}
	if v.policy == RevocationRequired {
		out.RevocationPolicy = "required"
	}
	isses := make([]string, 0, len(snap.issuers))
	for iss := range snap.issuers {
		isses = append(isses, iss)
	}
	sort.Strings(isses)
	warn := func(string) {}
	for _, iss := range isses {
		ti := snap.issuers[iss]
		set := &keySet{}
		for _, l := range ti.keys.byKid {
			for _, e := range l {
				set.add(e)
			}
		}
		if ti.live && v.fetch != nil {
			e := v.cache.entry(iss)
			st := e.state.Load()
			if st == nil || st.set == nil || now.Sub(st.fetchedAt) >= v.cfg.keyTTL {
				if ns, _, err := v.fetchKeySet(ctx, iss, st, now); err == nil && ns.set != nil {
					st = ns
				}
			}
			if st != nil && st.set != nil {
				for _, l := range st.set.byKid {
					for _, e := range l {
						set.add(e)
					}
				}
			}
		}
		if set.len() == 0 {
			continue
		}
		si := snapshotIssuer{}
		si.Issuer.Iss, si.Issuer.Name = iss, ti.name
		kids := make([]string, 0, len(set.byKid))
		for kid := range set.byKid {
			kids = append(kids, kid)
		}
		sort.Strings(kids)
		for _, kid := range kids {
			for _, e := range set.byKid[kid] {
				var cv *int
				if e.crlVersion > 0 {
					n := int(e.crlVersion)
					cv = &n
				}
				j := keys.PublicJWK(e.pub, cv)
				j.Kid = e.kid
				si.Keys = append(si.Keys, j)
			}
		}
		for _, kid := range kids {
			e := set.byKid[kid][0]
			if e.crlVersion == 0 {
				continue
			}
			list, src, _, err := v.revocationList(ctx, ti, iss, e, warn)
			if err != nil || list == nil {
				continue
			}
			switch src {
			case "directory":
				for _, d := range ti.dirs {
					if !d.time.IsZero() && d.time.Before(oldest) {
						oldest = d.time
					}
				}
			default:
				if c := v.crls.get(crlKey{iss, kid}); c != nil && c.fetchedAt.Before(oldest) {
					oldest = c.fetchedAt
				}
			}
			si.Crls = append(si.Crls, crlOut(list))
		}
		out.IssuerInfo = append(out.IssuerInfo, si)
	}
	out.Time = oldest.UTC().Format(time.RFC3339Nano)
	return json.Marshal(out)
}

func crlOut(c *crl) snapshotCRLOut {
	o := snapshotCRLOut{Kid: c.kid, Method: c.method, Ctr: c.ctr, Rids: make([]string, 0, len(c.rids))}
	for rid, ts := range c.rids {
		if math.IsInf(ts, 1) {
			o.Rids = append(o.Rids, rid)
		} else {
			o.Rids = append(o.Rids, rid+"."+strconv.FormatFloat(ts, 'f', -1, 64))
		}
	}
	sort.Strings(o.Rids)
	return o
}

// ReadTrustSnapshot checks a snapshot made by TrustSnapshot and returns
// what it says about itself and the options that make a verifier trust
// exactly what it lists, offline (WithTrustDirectoryJSON, WithOffline, and
// the snapshot's revocation policy). A verifier built from a snapshot that
// is older than its revocation bound must not be trusted for revocation:
// the caller checks Info.Time (the page's wasm build gives such cards
// unable_to_check under the required policy).
func ReadTrustSnapshot(data []byte) (TrustSnapshotInfo, []Option, error) {
	var info TrustSnapshotInfo
	if len(data) > maxDirectoryBytes {
		return info, nil, fmt.Errorf("trust snapshot of %d bytes exceeds %d", len(data), maxDirectoryBytes)
	}
	var w struct {
		Time             string            `json:"time"`
		RevocationMaxAge int64             `json:"revocationMaxAgeSeconds"`
		RevocationPolicy string            `json:"revocationPolicy"`
		MediaType        string            `json:"mediaType"`
		IssuerInfo       []json.RawMessage `json:"issuerInfo"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return info, nil, fmt.Errorf("trust snapshot: %w", err)
	}
	if err := strictMembers(data, "time", "revocationMaxAgeSeconds", "revocationPolicy", "mediaType", "issuerInfo"); err != nil {
		return info, nil, fmt.Errorf("trust snapshot: %w", err)
	}
	if w.MediaType != TrustSnapshotMediaType {
		return info, nil, fmt.Errorf("trust snapshot: mediaType %.80q, want %s", w.MediaType, TrustSnapshotMediaType)
	}
	t, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return info, nil, fmt.Errorf("trust snapshot: time: %w", err)
	}
	if w.RevocationMaxAge < 1 || time.Duration(w.RevocationMaxAge)*time.Second > MaxRevocationMaxAge {
		return info, nil, fmt.Errorf("trust snapshot: revocationMaxAgeSeconds %d out of range", w.RevocationMaxAge)
	}
	info = TrustSnapshotInfo{Time: t, RevocationMaxAge: time.Duration(w.RevocationMaxAge) * time.Second, Issuers: len(w.IssuerInfo)}
	policy := RevocationBestEffort
	switch w.RevocationPolicy {
	case "required":
		policy, info.Required = RevocationRequired, true
	case "best-effort":
	default:
		return info, nil, fmt.Errorf("trust snapshot: revocationPolicy %.40q", w.RevocationPolicy)
	}
	if len(w.IssuerInfo) == 0 {
		return info, nil, errors.New("trust snapshot lists no issuer")
	}
	return info, []Option{WithTrustDirectoryJSON("trust snapshot", data, nil), WithOffline(), WithRevocationPolicy(policy)}, nil
}
