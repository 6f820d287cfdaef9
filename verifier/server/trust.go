package server

import (
	"context"
	"crypto/x509"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/healthcards/healthcards/safehttp"
	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/verifier"
)

// maxTrustSourceBytes caps a file the service reads for the library (a
// --keys key set).
const maxTrustSourceBytes = 8 << 20

// TrustConfig configures a Trust.
type TrustConfig struct {
	// Sources are trust directories (VCI snapshot shape, with "issuerInfo")
	// or trust lists ("participating_issuers"), as file paths or https
	// URLs (verifier.WithTrustSource: the shape is detected from the
	// content).
	Sources []string
	// DirectoryCert, when set, requires each directory to carry a detached
	// signature (SOURCE + ".sig") that verifies with it
	// (verifier.WithDirectoryCertificate).
	DirectoryCert *x509.Certificate
	// RefreshInterval is how often sources are loaded again
	// (verifier.WithDirectoryTTL). Zero means verifier.DefaultDirectoryTTL.
	RefreshInterval time.Duration
	// MaxAge is the age past which a source is stale and /readyz fails:
	// measured from the directory's "time" member when it has one, else
	// from the last successful load (verifier.WithDirectoryMaxAge). Zero
	// means verifier.DefaultDirectoryMaxAge.
	MaxAge time.Duration
	// Options are passed to verifier.New (leeway, revocation policy,
	// static key sets, trusted issuers, offline, fetch settings, ...).
	Options []verifier.Option
	// Fetch, when set, is the client of every live fetch of the verifier,
	// trust sources included (verifier.WithFetchClient); it cannot be
	// combined with fetch settings in Options. Nil means the verifier
	// builds its own from Options.
	Fetch *safehttp.Client
	// Logger receives load and refresh events. Nil means slog.Default().
	Logger *slog.Logger
	// Metrics counts loads and failures. Nil means none.
	Metrics *Metrics
	// Now is the verifier's clock (verifier.WithClock), for verification
	// and staleness; nil means the clock in Options, else time.Now.
	Now func() time.Time
}

// Trust schedules the reloads of the service's trust sources: it builds
// one verifier.Verifier with the sources, calls its Reload every
// RefreshInterval, counts and logs each source's load, and reports
// readiness (verifier.TrustReady). Loading, parsing, signature checks and
// the atomic swap of the trust snapshot are the library's; the verifier's
// key-set and revocation caches live across reloads. Trust implements
// CardVerifier.
type Trust struct {
	cfg    TrustConfig
	log    *slog.Logger
	v      *verifier.Verifier
	loaded atomic.Bool // every source has loaded once
	mu     sync.Mutex  // serializes Refresh
}

var (
	_ CardVerifier  = (*Trust)(nil)
	_ LinkVerifier  = (*Trust)(nil)
	_ StatsVerifier = (*Trust)(nil)
)

// NewTrust builds the verifier, which reads the file sources now: a file
// that cannot be read, verified or recognized is an error. URL sources are
// fetched once here; one that cannot be fetched is logged and retried by
// Run, and the service is not ready until it loads.
func NewTrust(ctx context.Context, cfg TrustConfig) (*Trust, error) {
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = verifier.DefaultDirectoryTTL
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = verifier.DefaultDirectoryMaxAge
	}
	// The service reads QR photos and SVGs (the library alone reads text).
	opts := append([]verifier.Option{verifier.WithImageDecoder(qr.DecodeImage)}, cfg.Options...)
	for _, s := range cfg.Sources {
		opts = append(opts, verifier.WithTrustSource(s))
	}
	if cfg.DirectoryCert != nil {
		opts = append(opts, verifier.WithDirectoryCertificate(cfg.DirectoryCert))
	}
	if cfg.Fetch != nil {
		opts = append(opts, verifier.WithFetchClient(cfg.Fetch))
	}
	if cfg.Now != nil {
		opts = append(opts, verifier.WithClock(cfg.Now))
	}
	opts = append(opts, verifier.WithDirectoryTTL(cfg.RefreshInterval), verifier.WithDirectoryMaxAge(cfg.MaxAge))
	v, err := verifier.New(opts...)
	if err != nil {
		return nil, err
	}
	t := &Trust{cfg: cfg, log: cfg.Logger, v: v}
	if t.log == nil {
		t.log = slog.Default()
	}
	for _, w := range v.ConfigWarnings() {
		t.log.Warn("trust configuration warning", "warning", w)
	}
	for _, s := range v.TrustSources() {
		if !s.Loaded {
			t.Refresh(ctx) // a URL source: fetch it now rather than on first use
			return t, nil
		}
	}
	t.report(false) // file sources only, loaded (and warned about) by New
	return t, nil
}

// Verify verifies input with the verifier, once every source has loaded.
func (t *Trust) Verify(ctx context.Context, input []byte) ([]*verifier.Result, error) {
	if !t.loaded.Load() {
		return nil, errNotReady
	}
	return t.v.Verify(ctx, input)
}

// VerifyLink resolves a SMART Health Link, once every source has loaded.
func (t *Trust) VerifyLink(ctx context.Context, link string, opts verifier.LinkOptions) (*verifier.LinkResult, error) {
	if !t.loaded.Load() {
		return nil, errNotReady
	}
	return t.v.VerifyLink(ctx, link, opts)
}

// Stats returns the verifier's cache and fetch counters. There is one
// verifier for the life of the Trust, so they only grow across reloads.
func (t *Trust) Stats() verifier.Stats { return t.v.Stats() }

// Verifier returns the verifier.
func (t *Trust) Verifier() *verifier.Verifier { return t.v }

// Ready reports nil when every source is loaded and none is stale
// (verifier.TrustReady).
func (t *Trust) Ready() error { return t.v.TrustReady() }

// Run reloads the sources every RefreshInterval (every 30 s while a source
// has never loaded) until ctx is done.
func (t *Trust) Run(ctx context.Context) {
	for {
		wait := t.cfg.RefreshInterval
		if !t.loaded.Load() && wait > 30*time.Second {
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

// Refresh reloads every source (verifier.Reload). A source that fails
// keeps its last good copy, is logged and counted; the error names the
// failed sources.
func (t *Trust) Refresh(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	err := t.v.Reload(ctx)
	t.report(true)
	return err
}

// report counts and logs the outcome of each source's last load (their
// warnings too when warn is set) and marks the Trust loaded once every
// source has a good copy.
func (t *Trust) report(warn bool) {
	all := true
	for _, s := range t.v.TrustSources() {
		all = all && s.Loaded
		if t.cfg.Metrics != nil {
			t.cfg.Metrics.ObserveFetch("directory", s.Err != nil)
		}
		if s.Err != nil {
			t.log.Warn("trust source failed to load", "source", s.Name, "error", s.Err.Error(), "keeping_previous", s.Loaded)
			continue
		}
		for _, w := range s.Warnings {
			if warn {
				t.log.Warn("trust source warning", "source", s.Name, "warning", w)
			}
		}
	}
	if all {
		t.loaded.Store(true)
	}
	t.log.Info("trust sources loaded", "trust_sources", len(t.cfg.Sources), "all_loaded", all)
}
