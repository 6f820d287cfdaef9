package server

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/healthcards/healthcards/internal/capped"
	"github.com/healthcards/healthcards/internal/safefetch"
	"github.com/healthcards/healthcards/verifier"
)

// maxTrustSourceBytes caps a trust directory or trust list (file or URL).
const maxTrustSourceBytes = 8 << 20

// maxSigBytes caps a detached directory signature.
const maxSigBytes = 4 << 10

// TrustConfig configures a Trust.
type TrustConfig struct {
	// Sources are trust directories (VCI snapshot shape, with "issuerInfo")
	// or trust lists ("participating_issuers"), as file paths or https
	// URLs. The shape is detected from the content.
	Sources []string
	// DirectoryCert, when set, requires each directory to carry a detached
	// signature (SOURCE + ".sig") that verifies with it.
	DirectoryCert *x509.Certificate
	// RefreshInterval is how often sources are loaded again. Zero means
	// verifier.DefaultDirectoryTTL.
	RefreshInterval time.Duration
	// MaxAge is the age past which a source is stale and /readyz fails:
	// measured from the directory's "time" member when it has one, else
	// from the last successful load. Zero means
	// verifier.DefaultDirectoryMaxAge.
	MaxAge time.Duration
	// Options are passed to verifier.New on every build (leeway,
	// revocation policy, static key sets, trusted issuers, offline, ...).
	Options []verifier.Option
	// Fetch loads URL sources. Nil means a safefetch client with default
	// limits (public https only).
	Fetch *safefetch.Client
	// Logger receives load and refresh events. Nil means slog.Default().
	Logger *slog.Logger
	// Metrics counts loads and failures. Nil means none.
	Metrics *Metrics
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Trust owns the trust sources of the service: it loads them, builds the
// verifier from them (verifier.WithTrustDirectoryJSON /
// WithTrustListJSON), reloads them every RefreshInterval, swaps the
// verifier atomically when they change, and reports readiness. A URL
// source that fails to refresh keeps its last good content until it is
// stale. Trust implements CardVerifier.
type Trust struct {
	cfg TrustConfig
	log *slog.Logger

	cur atomic.Pointer[verifier.Verifier]

	statsMu sync.Mutex     // guards swapping cur and retired
	retired verifier.Stats // counters of the verifiers replaced so far

	mu      sync.Mutex // guards sources and building
	sources []*trustSource
}

type trustSource struct {
	name     string
	isURL    bool
	data     []byte
	sig      []byte
	list     bool      // trust list rather than directory
	dirTime  time.Time // the directory's own "time", if any
	loadedAt time.Time // last successful load
	err      error     // last load error
}

var (
	_ CardVerifier  = (*Trust)(nil)
	_ LinkVerifier  = (*Trust)(nil)
	_ StatsVerifier = (*Trust)(nil)
)

// NewTrust loads every source once and builds the verifier. A file source
// that cannot be read or parsed is an error; a URL source that cannot be
// fetched is logged and retried by Run, and the service is not ready until
// it loads.
func NewTrust(ctx context.Context, cfg TrustConfig) (*Trust, error) {
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = verifier.DefaultDirectoryTTL
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = verifier.DefaultDirectoryMaxAge
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := &Trust{cfg: cfg, log: cfg.Logger}
	if t.log == nil {
		t.log = slog.Default()
	}
	for _, s := range cfg.Sources {
		isURL := strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
		if isURL && t.cfg.Fetch == nil {
			t.cfg.Fetch = safefetch.New(safefetch.Config{MaxBytes: maxTrustSourceBytes, UserAgent: "healthcards-verifier"})
		}
		t.sources = append(t.sources, &trustSource{name: s, isURL: isURL})
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, src := range t.sources {
		if err := t.load(ctx, src); err != nil && !src.isURL {
			return nil, err
		}
	}
	if err := t.buildLocked(); err != nil && !errors.Is(err, errNotReady) {
		return nil, err
	}
	return t, nil
}

// Verify verifies input with the current verifier.
func (t *Trust) Verify(ctx context.Context, input []byte) ([]*verifier.Result, error) {
	v := t.cur.Load()
	if v == nil {
		return nil, errNotReady
	}
	return v.Verify(ctx, input)
}

// VerifyLink resolves a SMART Health Link with the current verifier.
func (t *Trust) VerifyLink(ctx context.Context, link string, opts verifier.LinkOptions) (*verifier.LinkResult, error) {
	v := t.cur.Load()
	if v == nil {
		return nil, errNotReady
	}
	return v.VerifyLink(ctx, link, opts)
}

// Stats returns the library's cache and fetch counters, summed over every
// verifier Trust has built, so they only grow across reloads (increments
// made by a replaced verifier after it was replaced are not counted).
func (t *Trust) Stats() verifier.Stats {
	t.statsMu.Lock()
	defer t.statsMu.Unlock()
	s := t.retired
	if v := t.cur.Load(); v != nil {
		s = addStats(s, v.Stats())
	}
	return s
}

func addStats(a, b verifier.Stats) verifier.Stats {
	a.KeySetCacheHits += b.KeySetCacheHits
	a.KeySetCacheMisses += b.KeySetCacheMisses
	a.CRLCacheHits += b.CRLCacheHits
	a.CRLCacheMisses += b.CRLCacheMisses
	a.Fetches += b.Fetches
	a.FetchesRefused += b.FetchesRefused
	a.FetchFailures += b.FetchFailures
	return a
}

// Verifier returns the current verifier, or nil before the first build.
func (t *Trust) Verifier() *verifier.Verifier { return t.cur.Load() }

// Ready reports nil when every source is loaded and none is stale.
func (t *Trust) Ready() error {
	if t.cur.Load() == nil {
		return errors.New("trust sources not loaded yet")
	}
	now := t.cfg.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.sources {
		if s.data == nil {
			return fmt.Errorf("trust source %s not loaded", s.name)
		}
		ref := s.loadedAt
		if !s.dirTime.IsZero() {
			ref = s.dirTime
		}
		if age := now.Sub(ref); age > t.cfg.MaxAge {
			return fmt.Errorf("trust source %s is stale: %s old, limit %s", s.name, age.Round(time.Minute), t.cfg.MaxAge)
		}
	}
	return nil
}

// Run reloads the sources every RefreshInterval (every 30 s while a source
// has never loaded) until ctx is done.
func (t *Trust) Run(ctx context.Context) {
	for {
		wait := t.cfg.RefreshInterval
		if t.cur.Load() == nil && wait > 30*time.Second {
			wait = 30 * time.Second
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		t.Refresh(ctx)
	}
}

// Refresh loads every source again and rebuilds the verifier if one
// changed. It returns the first load error.
func (t *Trust) Refresh(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	changed := t.cur.Load() == nil
	var first error
	for _, src := range t.sources {
		old := src.data
		if err := t.load(ctx, src); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		if !bytes.Equal(old, src.data) {
			changed = true
		}
	}
	if changed {
		if err := t.buildLocked(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// load reads one source, keeping its previous content on failure.
func (t *Trust) load(ctx context.Context, src *trustSource) error {
	data, sig, err := t.read(ctx, src)
	if err == nil {
		var list bool
		var dt time.Time
		list, dt, err = sniffTrustSource(data)
		if err == nil {
			src.data, src.sig, src.list, src.dirTime = data, sig, list, dt
			src.loadedAt = t.cfg.Now()
			src.err = nil
			if t.cfg.Metrics != nil {
				t.cfg.Metrics.ObserveFetch("directory", false)
			}
			return nil
		}
	}
	src.err = fmt.Errorf("trust source %s: %w", src.name, err)
	if t.cfg.Metrics != nil {
		t.cfg.Metrics.ObserveFetch("directory", true)
	}
	t.log.Warn("trust source failed to load", "source", src.name, "error", err.Error(), "keeping_previous", src.data != nil)
	return src.err
}

func (t *Trust) read(ctx context.Context, src *trustSource) (data, sig []byte, err error) {
	if !src.isURL {
		if data, err = capped.ReadFile(src.name, maxTrustSourceBytes); err != nil {
			return nil, nil, err
		}
		if t.cfg.DirectoryCert != nil {
			if sig, err = capped.ReadFile(src.name+verifier.SignatureSuffix, maxSigBytes); err != nil {
				return nil, nil, fmt.Errorf("detached signature: %w", err)
			}
		}
		return data, sig, nil
	}
	get := func(u string) ([]byte, error) {
		resp, err := t.cfg.Fetch.Get(ctx, u)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("HTTP status %d", resp.StatusCode)
		}
		return resp.Body, nil
	}
	if data, err = get(src.name); err != nil {
		return nil, nil, err
	}
	if t.cfg.DirectoryCert != nil {
		if sig, err = get(src.name + verifier.SignatureSuffix); err != nil {
			return nil, nil, fmt.Errorf("detached signature: %w", err)
		}
	}
	return data, sig, nil
}

// buildLocked builds a verifier from the loaded sources and swaps it in.
func (t *Trust) buildLocked() error {
	opts := append([]verifier.Option(nil), t.cfg.Options...)
	if t.cfg.DirectoryCert != nil {
		opts = append(opts, verifier.WithDirectoryCertificate(t.cfg.DirectoryCert))
	}
	for _, s := range t.sources {
		if s.data == nil {
			return errNotReady // wait until every source has loaded once
		}
		if s.list {
			opts = append(opts, verifier.WithTrustListJSON(s.name, s.data))
		} else {
			opts = append(opts, verifier.WithTrustDirectoryJSON(s.name, s.data, s.sig))
		}
	}
	v, err := verifier.New(opts...)
	if err != nil {
		return err
	}
	for _, w := range v.ConfigWarnings() {
		t.log.Warn("trust configuration warning", "warning", w)
	}
	t.statsMu.Lock()
	if old := t.cur.Swap(v); old != nil {
		t.retired = addStats(t.retired, old.Stats())
	}
	t.statsMu.Unlock()
	t.log.Info("verifier built", "trust_sources", len(t.sources))
	return nil
}

// sniffTrustSource tells a trust list from a directory and reads the
// directory's "time" (RFC 3339 string or epoch seconds).
func sniffTrustSource(data []byte) (list bool, dirTime time.Time, err error) {
	var probe struct {
		Issuers    json.RawMessage `json:"participating_issuers"`
		IssuerInfo json.RawMessage `json:"issuerInfo"`
		Time       json.RawMessage `json:"time"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return false, time.Time{}, fmt.Errorf("not a JSON trust directory or trust list: %w", err)
	}
	switch {
	case probe.Issuers != nil:
		return true, time.Time{}, nil
	case probe.IssuerInfo != nil:
	default:
		return false, time.Time{}, errors.New(`neither a trust directory ("issuerInfo") nor a trust list ("participating_issuers")`)
	}
	if len(probe.Time) > 0 {
		var s string
		var f float64
		if json.Unmarshal(probe.Time, &s) == nil {
			if tm, err := time.Parse(time.RFC3339, s); err == nil {
				dirTime = tm
			}
		} else if json.Unmarshal(probe.Time, &f) == nil && f > 0 {
			dirTime = time.Unix(int64(f), 0)
		}
	}
	return false, dirTime, nil
}
