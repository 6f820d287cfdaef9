package verifier

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/healthcards/healthcards/internal/jsonlite"
)

// directory is a parsed trust directory in the shape of the VCI directory
// snapshot (TRUST-3).
type directory struct {
	name    string
	time    time.Time // zero when absent or unreadable
	issuers []dirIssuer
}

type dirIssuer struct {
	iss, name, website, canonical string
	keys                          *keySet
	crls                          map[string]*crl // by kid
}

// wireDirectory reads only what the verifier uses: "directory" is not
// read at all and "time" is read by directoryTime, so an odd value there
// never fails the directory.
type wireDirectory struct {
	Time       json.RawMessage   `json:"time"`
	IssuerInfo []json.RawMessage `json:"issuerInfo"`
}

type wireIssuer struct {
	Iss          string `json:"iss"`
	Name         string `json:"name"`
	Website      string `json:"website"`
	CanonicalIss string `json:"canonical_iss"`
}

type wireIssuerInfo struct {
	Issuer *wireIssuer       `json:"issuer"`
	Keys   []json.RawMessage `json:"keys"`
	Crls   []json.RawMessage `json:"crls"`
}

// parseDirectory parses a trust directory. The document must be a JSON
// object with an issuerInfo array; a bad entry (not an object, no or bad
// iss, bad key, bad CRL) is skipped with a warning and never fails the
// whole directory. Unknown members are ignored.
func parseDirectory(name string, data []byte) (*directory, []string, error) {
	if len(data) > maxDirectoryBytes {
		return nil, nil, fmt.Errorf("directory %s is %d bytes, limit %d", name, len(data), maxDirectoryBytes)
	}
	var w wireDirectory
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, nil, fmt.Errorf("directory %s is not a JSON object: %w", name, err)
	}
	if err := strictMembers(data, "time", "issuerInfo"); err != nil {
		return nil, nil, fmt.Errorf("directory %s: %w", name, err)
	}
	if w.IssuerInfo == nil {
		return nil, nil, fmt.Errorf(`directory %s has no "issuerInfo" array`, name)
	}
	if len(w.IssuerInfo) > maxDirectoryIssuers {
		return nil, nil, fmt.Errorf("directory %s lists %d issuers, limit %d", name, len(w.IssuerInfo), maxDirectoryIssuers)
	}
	d := &directory{name: name}
	var warns []string
	var tw string
	if d.time, tw = directoryTime(w.Time); tw != "" {
		warns = append(warns, fmt.Sprintf("directory %s: %s", name, tw))
	}
	for i, raw := range w.IssuerInfo {
		var e wireIssuerInfo
		if err := json.Unmarshal(raw, &e); err != nil {
			warns = append(warns, fmt.Sprintf("directory %s: entry %d skipped: %v", name, i, err))
			continue
		}
		if e.Issuer == nil {
			warns = append(warns, fmt.Sprintf("directory %s: entry %d skipped: no issuer", name, i))
			continue
		}
		if err := strictEntry(raw); err != nil {
			warns = append(warns, fmt.Sprintf("directory %s: entry %d skipped: %v", name, i, err))
			continue
		}
		if err := checkIssuerSyntax(e.Issuer.Iss); err != nil {
			warns = append(warns, fmt.Sprintf("directory %s: entry %d skipped: %v", name, i, err))
			continue
		}
		if len(e.Keys) > maxKeysPerIssuer {
			warns = append(warns, fmt.Sprintf("directory %s: entry %d (%s) skipped: %d keys, limit %d", name, i, e.Issuer.Iss, len(e.Keys), maxKeysPerIssuer))
			continue
		}
		di := dirIssuer{iss: e.Issuer.Iss, name: e.Issuer.Name, website: e.Issuer.Website, canonical: e.Issuer.CanonicalIss}
		var kw []string
		di.keys, kw = parseKeyList(e.Keys)
		for _, s := range kw {
			warns = append(warns, fmt.Sprintf("directory %s: issuer %s: %s", name, di.iss, s))
		}
		if len(e.Crls) > maxKeysPerIssuer {
			warns = append(warns, fmt.Sprintf("directory %s: issuer %s: %d revocation lists ignored (limit %d)", name, di.iss, len(e.Crls), maxKeysPerIssuer))
			e.Crls = nil
		}
		for j, rc := range e.Crls {
			var wc wireCRL
			err := json.Unmarshal(rc, &wc)
			if err == nil {
				err = strictMembers(rc, crlMembers...)
			}
			if err != nil {
				warns = append(warns, fmt.Sprintf("directory %s: issuer %s: revocation list %d skipped: %v", name, di.iss, j, err))
				continue
			}
			c, err := checkCRL(wc)
			if err != nil {
				warns = append(warns, fmt.Sprintf("directory %s: issuer %s: revocation list %d skipped: %v", name, di.iss, j, err))
				continue
			}
			if di.crls == nil {
				di.crls = map[string]*crl{}
			}
			if old, ok := di.crls[c.kid]; !ok || c.ctr > old.ctr {
				di.crls[c.kid] = c
			}
		}
		d.issuers = append(d.issuers, di)
	}
	return d, warns, nil
}

// Trust sources are signed content (a directory's detached signature)
// and are read strictly: encoding/json, which fills the wire structs,
// matches member names case-insensitively and lets a repeated member win,
// so another reader of the same bytes could see another iss or key. Every
// object whose members are read is checked first; a failing directory or
// list is refused, a failing entry, issuer or revocation list is skipped
// with a warning.
var (
	issuerMembers = []string{"iss", "name", "website", "canonical_iss"}
	crlMembers    = []string{"kid", "method", "ctr", "rids"}
	jwkMembers    = []string{"kty", "kid", "use", "alg", "crv", "x", "y", "crlVersion"} // wireJWK
)

// strictMembers refuses a JSON object in which a member of known is
// repeated, has an escaped name, or has a case variant (jsonlite.Members).
// A value that is not an object is left to encoding/json to refuse.
func strictMembers(raw []byte, known ...string) error {
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil
	}
	var r jsonlite.Reader
	r.ResetShallow(raw, 0) // nested objects are checked on their own, below
	if !r.Enter('{') || !r.Members(known, func(string) bool { _, ok := r.Skip(); return ok }) || !r.End() {
		return fmt.Errorf("a member is repeated, escaped or a case variant of one of %q", known)
	}
	return nil
}

// strictEntry checks a directory entry, its issuer object and its keys
// (a key that another reader could read otherwise makes the whole entry
// suspect; revocation lists are checked one by one).
func strictEntry(raw []byte) error {
	if err := strictMembers(raw, "issuer", "keys", "crls"); err != nil {
		return err
	}
	var e struct {
		Issuer json.RawMessage   `json:"issuer"`
		Keys   []json.RawMessage `json:"keys"`
	}
	json.Unmarshal(raw, &e) // raw was decoded already
	if err := strictMembers(e.Issuer, issuerMembers...); err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	for j, k := range e.Keys {
		if err := strictMembers(k, jwkMembers...); err != nil {
			return fmt.Errorf("key %d: %w", j, err)
		}
	}
	return nil
}

// maxUnixTime is the end of year 9999: a numeric "time" beyond it (say,
// milliseconds) is not read as seconds.
const maxUnixTime = 253402300800

// directoryTime reads a directory's "time" (TRUST-3: an RFC 3339 string).
// Anything else is a warning, never an error: a number is read as Unix
// seconds; a missing, null, unparsable or out-of-range value leaves the
// time zero, and the directory's age is then counted from when it was
// loaded (TrustSourceStatus.Age).
func directoryTime(raw json.RawMessage) (time.Time, string) {
	const unknown = "; its age is counted from when it was loaded"
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, "no time" + unknown
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}, fmt.Sprintf("unreadable time %.40q%s", s, unknown)
		}
		return t, ""
	}
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		if f <= 0 || f >= maxUnixTime {
			return time.Time{}, fmt.Sprintf("time %.40s is a number out of range%s", raw, unknown)
		}
		t := time.Unix(int64(f), 0).UTC()
		return t, fmt.Sprintf("time %.40s is a number, not an RFC 3339 string; read as Unix seconds (%s)", raw, t.Format(time.RFC3339))
	}
	return time.Time{}, fmt.Sprintf("time is neither a string nor a number%s", unknown)
}

// sniffSource tells a trust list ("participating_issuers") from a
// directory ("issuerInfo") for WithTrustSource. A document with both, or
// neither, is refused rather than guessed.
func sniffSource(name string, data []byte) (list bool, err error) {
	var probe struct {
		Issuers    json.RawMessage `json:"participating_issuers"`
		IssuerInfo json.RawMessage `json:"issuerInfo"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return false, fmt.Errorf("trust source %s is not a JSON object: %w", name, err)
	}
	switch {
	case probe.Issuers != nil && probe.IssuerInfo != nil:
		return false, fmt.Errorf(`trust source %s has both "issuerInfo" and "participating_issuers"`, name)
	case probe.Issuers != nil:
		return true, nil
	case probe.IssuerInfo != nil:
		return false, nil
	}
	return false, fmt.Errorf(`trust source %s is neither a trust directory ("issuerInfo") nor a trust list ("participating_issuers")`, name)
}

// listEntry is one issuer of a VCI trust list (vci-issuers.json).
type listEntry struct {
	iss, name, website, canonical string
}

// parseTrustList parses {"participating_issuers":[{iss,name,website,canonical_iss}]};
// bad entries are skipped with a warning.
func parseTrustList(name string, data []byte) ([]listEntry, []string, error) {
	if len(data) > maxDirectoryBytes {
		return nil, nil, fmt.Errorf("trust list %s is %d bytes, limit %d", name, len(data), maxDirectoryBytes)
	}
	var w struct {
		Issuers []json.RawMessage `json:"participating_issuers"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, nil, fmt.Errorf("trust list %s is not a JSON object: %w", name, err)
	}
	if err := strictMembers(data, "participating_issuers"); err != nil {
		return nil, nil, fmt.Errorf("trust list %s: %w", name, err)
	}
	if w.Issuers == nil {
		return nil, nil, fmt.Errorf(`trust list %s has no "participating_issuers" array`, name)
	}
	if len(w.Issuers) > maxDirectoryIssuers {
		return nil, nil, fmt.Errorf("trust list %s lists %d issuers, limit %d", name, len(w.Issuers), maxDirectoryIssuers)
	}
	var out []listEntry
	var warns []string
	for i, raw := range w.Issuers {
		var e wireIssuer
		err := json.Unmarshal(raw, &e)
		if err == nil {
			err = strictMembers(raw, issuerMembers...)
		}
		if err != nil {
			warns = append(warns, fmt.Sprintf("trust list %s: entry %d skipped: %v", name, i, err))
			continue
		}
		if err := checkIssuerSyntax(e.Iss); err != nil {
			warns = append(warns, fmt.Sprintf("trust list %s: entry %d skipped: %v", name, i, err))
			continue
		}
		out = append(out, listEntry{iss: e.Iss, name: e.Name, website: e.Website, canonical: e.CanonicalIss})
	}
	return out, warns, nil
}

// verifyDetached checks a directory's detached signature: sig is the
// standard base64 encoding (surrounding white space ignored) of an ASN.1 DER
// ECDSA signature over SHA-512 of the exact directory bytes, made with the
// P-521 key of cert.
func verifyDetached(data, sig []byte, cert *x509.Certificate) error {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P521() {
		return fmt.Errorf("directory certificate key is not ECDSA P-521")
	}
	if len(sig) == 0 {
		return fmt.Errorf("no detached signature (%s)", SignatureSuffix)
	}
	der, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(sig)))
	if err != nil {
		return fmt.Errorf("detached signature is not base64: %w", err)
	}
	sum := sha512.Sum512(data)
	if !ecdsa.VerifyASN1(pub, sum[:], der) {
		return fmt.Errorf("detached signature does not verify with the directory certificate")
	}
	return nil
}

// trustedIssuer is everything the trust sources say about one iss.
type trustedIssuer struct {
	iss  string
	name string
	// keys from directories and static key sets, checked at load time.
	keys *keySet
	// crls from directories, by kid.
	crls map[string]*crl
	// live: keys may also be fetched from the issuer (trust lists and
	// trusted issuers; never for directory-only or static-only issuers).
	live bool
	// dirs: directories that list the issuer, for staleness reports.
	dirs []*directory
}

// trustSnapshot is the immutable merge of every loaded source.
type trustSnapshot struct {
	issuers map[string]*trustedIssuer
}

// build merges the last good copy of every source, the trusted issuers
// and the static key sets into a snapshot.
func (ts *trustStore) build() (*trustSnapshot, []string) {
	s := &trustSnapshot{issuers: map[string]*trustedIssuer{}}
	var warns []string
	get := func(iss string) *trustedIssuer {
		ti := s.issuers[iss]
		if ti == nil {
			ti = &trustedIssuer{iss: iss, keys: &keySet{}}
			s.issuers[iss] = ti
		}
		return ti
	}
	for _, src := range ts.sources {
		p := src.parsed
		if p == nil {
			continue
		}
		if p.dir != nil {
			for _, di := range p.dir.issuers {
				ti := get(di.iss)
				if ti.name == "" {
					ti.name = di.name
				}
				for _, l := range di.keys.byKid {
					for _, e := range l {
						ti.keys.add(e)
					}
				}
				for kid, c := range di.crls {
					if ti.crls == nil {
						ti.crls = map[string]*crl{}
					}
					if old, ok := ti.crls[kid]; !ok || c.ctr > old.ctr {
						ti.crls[kid] = c
					}
				}
				ti.dirs = append(ti.dirs, p.dir)
			}
		}
		for _, e := range p.list {
			ti := get(e.iss)
			ti.live = true
			if e.name != "" {
				ti.name = e.name
			}
		}
	}
	for _, iss := range ts.cfg.issuers {
		get(iss).live = true
	}
	for _, st := range ts.cfg.staticKeys {
		set, w, _ := parseKeySet(st.jwks) // checked in newTrustStore
		for _, m := range w {
			warns = append(warns, fmt.Sprintf("static keys for %s: %s", st.iss, m))
		}
		ti := get(st.iss)
		for _, l := range set.byKid {
			for _, e := range l {
				ti.keys.add(e)
			}
		}
	}
	return s, warns
}

// lookup returns what the trust sources say about iss, loading URL
// sources first when they are due. It also returns warnings to attach to
// the card's result (unavailable or stale sources).
func (ts *trustStore) lookup(ctx context.Context, v *Verifier, iss string, now time.Time) (*trustedIssuer, []string) {
	warns := ts.refresh(ctx, v, now)
	ti := ts.snap.Load().issuers[iss]
	if ti != nil {
		for _, d := range ti.dirs {
			if !d.time.IsZero() && now.Sub(d.time) > ts.cfg.dirMaxAge {
				warns = append(warns, fmt.Sprintf("trust directory %s is stale: its time %s is older than the maximum age %s",
					d.name, d.time.UTC().Format(time.RFC3339), ts.cfg.dirMaxAge))
			}
		}
	}
	return ti, warns
}
