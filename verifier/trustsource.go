package verifier

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/healthcards/healthcards/safehttp"
)

// This file is the reloadable trust component: the trust sources of a
// Verifier, loaded at New (files) or on first use (URLs), reloaded by
// Reload or when a URL source is due, and merged into an immutable
// snapshot that lookups read without locking. The key-set and revocation
// caches belong to the Verifier, not to the snapshot, so a reload keeps
// them.

// WithTrustSource adds a trust directory or a trust list, told apart by its
// content ("issuerInfo": a directory as for WithTrustDirectory;
// "participating_issuers": a list as for WithTrustList), from a file path
// (read now and again by Reload) or an https URL (fetched on first use,
// every DirectoryTTL and by Reload). A document with both members or
// neither is refused.
func WithTrustSource(pathOrURL string) Option {
	return func(c *config) error {
		if pathOrURL == "" {
			return fmt.Errorf("WithTrustSource: empty path")
		}
		src, err := readSource(pathOrURL, true)
		if err != nil {
			return err
		}
		src.auto = true
		c.directories = append(c.directories, src)
		return nil
	}
}

// TrustSourceStatus is the state of one trust source, for readiness and
// monitoring. It holds no issuer content beyond counts and warnings.
type TrustSourceStatus struct {
	// Name is the file path, URL or in-memory name of the source.
	Name string
	// List is true for a trust list, false for a directory (for a
	// WithTrustSource that has never loaded: false).
	List bool
	// Loaded is true once a good copy is in use; it stays true when a
	// later load fails, since the last good copy is kept.
	Loaded bool
	// LoadedAt is the time of the last successful load (zero if none).
	LoadedAt time.Time
	// Time is the directory's own "time" (zero for a list, or when absent
	// or unreadable).
	Time time.Time
	// Issuers counts the issuers of the copy in use.
	Issuers int
	// Warnings are those of the copy in use (skipped entries, odd time).
	Warnings []string
	// Err is the failure of the last load attempt, nil when it succeeded.
	Err error
}

// Age is how old the copy in use is at now: from the directory's "time"
// when it has one, else from LoadedAt.
func (s TrustSourceStatus) Age(now time.Time) time.Duration {
	if !s.Time.IsZero() {
		return now.Sub(s.Time)
	}
	return now.Sub(s.LoadedAt)
}

// trustSource is one configured source and its last good copy.
type trustSource struct {
	src      dirSource
	list     bool // configured as a trust list (else a directory or auto)
	parsed   *parsedSource
	loadedAt time.Time
	triedAt  time.Time
	warns    []string
	err      error
}

// parsedSource is one loaded trust source.
type parsedSource struct {
	dir  *directory
	list []listEntry
}

// trustStore holds the trust sources. Lookups read an immutable snapshot
// without locking; loads take mu and swap the snapshot.
type trustStore struct {
	cfg   *config
	fetch *safehttp.Client // for URL sources; nil when offline or none

	mu          sync.Mutex // serializes loads; guards sources' mutable fields
	sources     []*trustSource
	remote      bool         // some source is a URL
	nextRefresh atomic.Int64 // unix nanoseconds; 0 = now
	snap        atomic.Pointer[trustSnapshot]
}

// newTrustStore loads the file and in-memory sources now (an error fails
// New) and leaves URL sources for their first use.
func newTrustStore(c *config) (*trustStore, []string, error) {
	ts := &trustStore{cfg: c}
	now := time.Now
	if c.clock != nil {
		now = c.clock
	}
	var warns []string
	add := func(d dirSource, list bool) error {
		s := &trustSource{src: d, list: list}
		ts.sources = append(ts.sources, s)
		if d.url != "" {
			ts.remote = true
			return nil
		}
		p, w, err := ts.parse(s, d)
		if err != nil {
			return err
		}
		s.parsed, s.warns, s.loadedAt = p, w, now()
		warns = append(warns, w...)
		return nil
	}
	for _, d := range c.directories {
		if err := add(d, false); err != nil {
			return nil, nil, err
		}
	}
	for _, l := range c.trustLists {
		if err := add(l, true); err != nil {
			return nil, nil, err
		}
	}
	for _, s := range c.staticKeys {
		if _, _, err := parseKeySet(s.jwks); err != nil {
			return nil, nil, fmt.Errorf("static keys for %s: %w", s.iss, err)
		}
	}
	if ts.remote && !c.offline {
		// Trust sources are larger than anything else fetched: the
		// verifier's own client caps bodies at MaxCRLBytes, this one at
		// maxDirectoryBytes. A caller's client (WithFetchClient) is used
		// as it is. Trust sources are the operator's, so they are not
		// counted in a request's fetch budget.
		ts.fetch = c.client
		if ts.fetch == nil {
			var err error
			ts.fetch, err = safehttp.New(safehttp.Config{Timeout: c.fetchTimeout, AllowPrivateNetwork: c.allowPrivate,
				PrivateOrigins: c.privateOrigins, RootCAs: c.rootCAs, MaxBytes: maxDirectoryBytes, UserAgent: "healthcards-verifier"})
			if err != nil {
				return nil, nil, err
			}
		}
	}
	snap, w := ts.build()
	warns = append(warns, w...)
	ts.snap.Store(snap)
	return ts, warns, nil
}

// parse checks and parses the content of one source: a directory's
// detached signature first when a directory certificate is configured.
func (ts *trustStore) parse(s *trustSource, d dirSource) (*parsedSource, []string, error) {
	list := s.list
	if d.auto {
		var err error
		if list, err = sniffSource(d.name, d.data); err != nil {
			return nil, nil, err
		}
	}
	if list {
		l, w, err := parseTrustList(d.name, d.data)
		if err != nil {
			return nil, nil, err
		}
		return &parsedSource{list: l}, w, nil
	}
	if ts.cfg.dirCert != nil {
		if err := verifyDetached(d.data, d.sig, ts.cfg.dirCert); err != nil {
			return nil, nil, fmt.Errorf("directory %s: %w", d.name, err)
		}
	}
	dir, w, err := parseDirectory(d.name, d.data)
	if err != nil {
		return nil, nil, err
	}
	return &parsedSource{dir: dir}, w, nil
}

// read gets the current content of a source: a file is read again, a URL
// fetched (with its detached signature when one is required), an
// in-memory source is what it was.
func (ts *trustStore) read(ctx context.Context, v *Verifier, s *trustSource) (dirSource, error) {
	d := s.src
	switch {
	case d.path != "":
		fresh, err := readSource(d.path, !s.list)
		fresh.auto = d.auto
		return fresh, err
	case d.url == "":
		return d, nil
	case ts.fetch == nil:
		return d, fmt.Errorf("offline: not fetching %s", d.url)
	}
	var err error
	if d.data, err = ts.get(ctx, v, d.url, maxDirectoryBytes); err != nil {
		return d, err
	}
	list := s.list
	if d.auto {
		list, _ = sniffSource(d.name, d.data) // parse reports a bad shape
	}
	if ts.cfg.dirCert != nil && !list {
		if d.sig, err = ts.get(ctx, v, d.url+SignatureSuffix, maxSignatureFileBytes); err != nil {
			return d, fmt.Errorf("detached signature: %w", err)
		}
	}
	return d, nil
}

// get fetches a trust source through ts.fetch, counted in Stats.
func (ts *trustStore) get(ctx context.Context, v *Verifier, url string, limit int) ([]byte, error) {
	v.stats.fetches.Add(1)
	resp, err := ts.fetch.Get(ctx, url)
	switch {
	case err != nil:
	case resp.StatusCode != http.StatusOK:
		err = fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	case len(resp.Body) > limit:
		err = fmt.Errorf("%s: body of %d bytes exceeds %d", url, len(resp.Body), limit)
	default:
		return resp.Body, nil
	}
	v.stats.fetchFailures.Add(1)
	return nil, err
}

// load loads the sources that due selects, keeps the last good copy of
// each one that fails, rebuilds the snapshot when one loaded, sets when the
// URL sources are next due, and returns the failures.
func (ts *trustStore) load(ctx context.Context, v *Verifier, now time.Time, due func(*trustSource) bool) []error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var errs []error
	changed := false
	for _, s := range ts.sources {
		if !due(s) {
			continue
		}
		s.triedAt = now
		d, err := ts.read(ctx, v, s)
		var p *parsedSource
		var w []string
		if err == nil {
			p, w, err = ts.parse(s, d)
		}
		if err != nil {
			s.err = fmt.Errorf("trust source %s: %w", s.src.name, err)
			errs = append(errs, s.err)
			continue
		}
		s.parsed, s.warns, s.loadedAt, s.err, changed = p, w, now, nil, true
	}
	if changed {
		snap, _ := ts.build() // static key warnings were reported by New
		ts.snap.Store(snap)
		v.forgetUntrusted(snap)
	}
	next := int64(math.MaxInt64)
	for _, s := range ts.sources {
		if s.src.url != "" {
			next = min(next, ts.dueAt(s).UnixNano())
		}
	}
	ts.nextRefresh.Store(next)
	return errs
}

// forgetUntrusted drops the cached key sets and revocation lists of
// issuers that snap no longer trusts (unless any issuer is verified
// anyway): they are never used for such an issuer, and an issuer that is
// dropped (say, after a key compromise) and listed again later is fetched
// afresh rather than served from before. Issuers still trusted keep theirs.
func (v *Verifier) forgetUntrusted(snap *trustSnapshot) {
	if v.cfg.anyIssuer {
		return
	}
	kc := v.cache
	kc.mu.Lock()
	for iss := range kc.m {
		if snap.issuers[iss] == nil {
			delete(kc.m, iss)
		}
	}
	kc.mu.Unlock()
	cc := v.crls
	cc.mu.Lock()
	for k := range cc.m {
		if snap.issuers[k.iss] == nil {
			delete(cc.m, k)
		}
	}
	cc.mu.Unlock()
}

// dueAt is when a URL source is next loaded on use: a minute after a
// failed (or no) attempt, else DirectoryTTL after its last load.
func (ts *trustStore) dueAt(s *trustSource) time.Time {
	if s.parsed == nil || s.err != nil {
		return s.triedAt.Add(time.Minute)
	}
	return s.loadedAt.Add(ts.cfg.dirTTL)
}

// refresh loads the URL sources that are due (see dueAt). Failures become
// warnings of the card being verified.
func (ts *trustStore) refresh(ctx context.Context, v *Verifier, now time.Time) []string {
	if !ts.remote || now.UnixNano() < ts.nextRefresh.Load() {
		return nil
	}
	errs := ts.load(ctx, v, now, func(s *trustSource) bool {
		return s.src.url != "" && !now.Before(ts.dueAt(s))
	})
	var warns []string
	for _, err := range errs {
		warns = append(warns, err.Error()+" (source unavailable; its previous copy, if any, is used)")
	}
	return warns
}

// Reload loads every trust source again now: files are read again, URLs
// fetched again (with their detached signatures), and the issuers they
// list replace the previous ones atomically, while verifications in flight
// finish with the snapshot they started with. The key-set and revocation
// caches are kept for the issuers that are still trusted: they are not
// fetched again before their cache entries expire. The entries of issuers
// no longer trusted are dropped.
//
// A source that fails to load keeps its last good copy (or stays unloaded)
// and the others are used; the error, an *Error with CodeConfig, names
// every failed source. TrustSources reports the state of each.
func (v *Verifier) Reload(ctx context.Context) error {
	errs := v.trust.load(ctx, v, v.clock(), func(*trustSource) bool { return true })
	if len(errs) == 0 {
		return nil
	}
	return wrapErr(CodeConfig, StepConfig, errors.Join(errs...))
}

// TrustSources reports the state of every trust source, in configuration
// order (directories, then trust lists).
func (v *Verifier) TrustSources() []TrustSourceStatus {
	ts := v.trust
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := make([]TrustSourceStatus, 0, len(ts.sources))
	for _, s := range ts.sources {
		st := TrustSourceStatus{Name: s.src.name, List: s.list, LoadedAt: s.loadedAt,
			Warnings: append([]string(nil), s.warns...), Err: s.err}
		if p := s.parsed; p != nil {
			st.Loaded, st.List, st.Issuers = true, p.dir == nil, len(p.list)
			if p.dir != nil {
				st.Time, st.Issuers = p.dir.time, len(p.dir.issuers)
			}
		}
		out = append(out, st)
	}
	return out
}

// TrustReady reports nil when every trust source has loaded and none is
// older than the directory maximum age (WithDirectoryMaxAge; see
// TrustSourceStatus.Age), else an *Error with CodeConfig naming the first
// source that is not. Services use it for readiness.
func (v *Verifier) TrustReady() error {
	now := v.clock()
	for _, s := range v.TrustSources() {
		if !s.Loaded {
			return newErr(CodeConfig, StepConfig, "trust source %s not loaded", s.Name)
		}
		if age := s.Age(now); age > v.cfg.dirMaxAge {
			return newErr(CodeConfig, StepConfig, "trust source %s is stale: %s old, limit %s", s.Name, age.Round(time.Minute), v.cfg.dirMaxAge)
		}
	}
	return nil
}
