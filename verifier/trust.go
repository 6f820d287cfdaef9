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
	"sort"
	"sync"
	"sync/atomic"
	"time"
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

type wireDirectory struct {
	Directory  string            `json:"directory"`
	Time       string            `json:"time"`
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
	if w.IssuerInfo == nil {
		return nil, nil, fmt.Errorf(`directory %s has no "issuerInfo" array`, name)
	}
	if len(w.IssuerInfo) > maxDirectoryIssuers {
		return nil, nil, fmt.Errorf("directory %s lists %d issuers, limit %d", name, len(w.IssuerInfo), maxDirectoryIssuers)
	}
	d := &directory{name: name}
	var warns []string
	if w.Time != "" {
		t, err := time.Parse(time.RFC3339, w.Time)
		if err != nil {
			warns = append(warns, fmt.Sprintf("directory %s: unreadable time %.40q; its age is unknown", name, w.Time))
		} else {
			d.time = t
		}
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
			if err := json.Unmarshal(rc, &wc); err != nil {
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
		if err := json.Unmarshal(raw, &e); err != nil {
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

type trustSnapshot struct {
	issuers map[string]*trustedIssuer
}

// parsedSource is one loaded trust source.
type parsedSource struct {
	dir  *directory
	list []listEntry
}

type remoteSource struct {
	src       dirSource
	isList    bool
	parsed    *parsedSource
	fetchedAt time.Time
	triedAt   time.Time
}

// trustStore holds the trust sources. Lookups read an immutable snapshot
// without locking; refreshing URL sources takes mu and swaps the snapshot.
type trustStore struct {
	cfg    *config
	fixed  []*parsedSource
	static []staticSource

	mu          sync.Mutex // serializes refreshes of remote sources
	remote      []*remoteSource
	nextRefresh atomic.Int64 // unix nanoseconds; 0 = now
	snap        atomic.Pointer[trustSnapshot]
}

func newTrustStore(c *config) (*trustStore, []string, error) {
	ts := &trustStore{cfg: c, static: c.staticKeys}
	var warns []string
	for _, d := range c.directories {
		if d.url != "" {
			ts.remote = append(ts.remote, &remoteSource{src: d})
			continue
		}
		if c.dirCert != nil {
			if err := verifyDetached(d.data, d.sig, c.dirCert); err != nil {
				return nil, nil, fmt.Errorf("directory %s: %w", d.name, err)
			}
		}
		dir, w, err := parseDirectory(d.name, d.data)
		if err != nil {
			return nil, nil, err
		}
		warns = append(warns, w...)
		ts.fixed = append(ts.fixed, &parsedSource{dir: dir})
	}
	for _, l := range c.trustLists {
		if l.url != "" {
			ts.remote = append(ts.remote, &remoteSource{src: l, isList: true})
			continue
		}
		list, w, err := parseTrustList(l.name, l.data)
		if err != nil {
			return nil, nil, err
		}
		warns = append(warns, w...)
		ts.fixed = append(ts.fixed, &parsedSource{list: list})
	}
	for _, s := range c.staticKeys {
		if _, _, err := parseKeySet(s.jwks); err != nil {
			return nil, nil, fmt.Errorf("static keys for %s: %w", s.iss, err)
		}
	}
	snap, w := ts.build()
	warns = append(warns, w...)
	ts.snap.Store(snap)
	return ts, warns, nil
}

// build merges every loaded source into a snapshot.
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
	sources := append([]*parsedSource(nil), ts.fixed...)
	for _, r := range ts.remote {
		if r.parsed != nil {
			sources = append(sources, r.parsed)
		}
	}
	for _, p := range sources {
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
	for _, st := range ts.static {
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

// lookup returns what the trust sources say about iss, refreshing URL
// sources first when they are due. It also returns warnings to attach to
// the card's result (unavailable or stale sources).
func (ts *trustStore) lookup(ctx context.Context, v *Verifier, iss string, now time.Time) (*trustedIssuer, []string) {
	var warns []string
	if len(ts.remote) > 0 && now.UnixNano() >= ts.nextRefresh.Load() {
		warns = ts.refresh(ctx, v, now)
	}
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

// refresh fetches the URL sources that are due (never loaded, or older than
// the directory TTL). A failed fetch keeps the previous copy and is retried
// after a minute; it is reported as a warning.
func (ts *trustStore) refresh(ctx context.Context, v *Verifier, now time.Time) []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if now.UnixNano() < ts.nextRefresh.Load() {
		return nil
	}
	var warns []string
	changed := false
	next := now.Add(ts.cfg.dirTTL)
	for _, r := range ts.remote {
		due := r.parsed == nil && now.Sub(r.triedAt) >= time.Minute || r.parsed != nil && now.Sub(r.fetchedAt) >= ts.cfg.dirTTL
		if r.triedAt.IsZero() {
			due = true
		}
		if !due {
			continue
		}
		r.triedAt = now
		p, err := ts.fetchSource(ctx, v, r)
		if err != nil {
			warns = append(warns, fmt.Sprintf("trust source %s unavailable: %v", r.src.name, err))
			if t := now.Add(time.Minute); t.Before(next) {
				next = t
			}
			continue
		}
		r.parsed, r.fetchedAt, changed = p, now, true
	}
	if changed {
		snap, w := ts.build()
		warns = append(warns, w...)
		ts.snap.Store(snap)
	}
	ts.nextRefresh.Store(next.UnixNano())
	return warns
}

func (ts *trustStore) fetchSource(ctx context.Context, v *Verifier, r *remoteSource) (*parsedSource, error) {
	if v.fetch == nil {
		return nil, fmt.Errorf("offline")
	}
	body, err := v.get(ctx, r.src.url, maxDirectoryBytes)
	if err != nil {
		return nil, err
	}
	if r.isList {
		list, _, err := parseTrustList(r.src.name, body)
		if err != nil {
			return nil, err
		}
		return &parsedSource{list: list}, nil
	}
	if ts.cfg.dirCert != nil {
		sig, err := v.get(ctx, r.src.url+SignatureSuffix, maxSignatureFileBytes)
		if err != nil {
			return nil, fmt.Errorf("detached signature: %w", err)
		}
		if err := verifyDetached(body, sig, ts.cfg.dirCert); err != nil {
			return nil, err
		}
	}
	dir, _, err := parseDirectory(r.src.name, body)
	if err != nil {
		return nil, err
	}
	return &parsedSource{dir: dir}, nil
}

// issuers lists the trusted iss values, sorted (for diagnostics).
func (ts *trustStore) issuers() []string {
	var out []string
	for iss := range ts.snap.Load().issuers {
		out = append(out, iss)
	}
	sort.Strings(out)
	return out
}
