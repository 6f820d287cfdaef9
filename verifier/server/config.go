package server

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/healthcards/healthcards/internal/capped"
	"github.com/healthcards/healthcards/internal/clientip"
	"github.com/healthcards/healthcards/verifier"
)

// Options configures the verifier service that Run serves. The
// shc-verifier command (cmd/shc-verifier) fills it from its flags and
// environment; each field is the flag of the same name (Listen is
// --listen, KeySets --keys, AllowPrivate --allow-private-network), and
// error messages name those flags. Start from DefaultOptions.
type Options struct {
	Listen          string
	Trust           []string // directory or trust list files/URLs
	TrustedIssuers  []string
	KeySets         []string // ISS=FILE
	DirectoryCert   string
	CACerts         []string // extra PEM CA certificates for outbound fetches
	Refresh         time.Duration
	MaxAge          time.Duration
	Offline         bool
	AnyIssuerUnsafe bool
	Leeway          time.Duration
	Revocation      string
	// RevocationMaxAge is --revocation-max-age: how stale revocation status
	// may be (verifier.WithRevocationMaxAge).
	RevocationMaxAge time.Duration
	// EntryRules is --entry-rules: a JSON file with the venue's entry rule
	// (verifier.ParseEntryRules); empty for none.
	EntryRules     string
	AllowPrivate   bool
	PrivateOrigins []string // origins whose issuer material may be on private addresses
	TLSCert        string
	TLSKey         string
	CORSOrigins    []string
	TrustedProxies []string
	MaxBody        int64
	RateLimit      float64
	RateBurst      int
	VerifyTimeout  time.Duration
	// FetchesPerClient is --fetches-per-client-per-minute, LargeBody
	// --large-body and MaxConcurrentLarge --max-concurrent-large (see the
	// Config fields of the same meaning).
	FetchesPerClient   int
	LargeBody          int64
	MaxConcurrentLarge int
	LogFormat          string
	LogLevel           string
}

// DefaultOptions returns the defaults of every option.
func DefaultOptions() *Options {
	return &Options{
		Listen:           "127.0.0.1:8080",
		Refresh:          verifier.DefaultDirectoryTTL,
		MaxAge:           verifier.DefaultDirectoryMaxAge,
		Leeway:           verifier.DefaultLeeway,
		Revocation:       "required",
		RevocationMaxAge: verifier.DefaultRevocationMaxAge,
		MaxBody:          DefaultMaxBodyBytes,
		RateLimit:        DefaultRateLimit,
		RateBurst:        DefaultRateBurst,
		VerifyTimeout:    DefaultVerifyTimeout,
		FetchesPerClient: DefaultFetchesPerClientPerMinute,
		LargeBody:        DefaultLargeBodyBytes,
		LogFormat:        "text",
		LogLevel:         "info",
	}
}

// Validate reports the first option that cannot work, naming its flag.
func (o *Options) Validate() error {
	switch {
	case o.Revocation != "required" && o.Revocation != "best-effort":
		return fmt.Errorf("--revocation %q: want required or best-effort", o.Revocation)
	case o.RevocationMaxAge < time.Second || o.RevocationMaxAge > verifier.MaxRevocationMaxAge:
		return fmt.Errorf("--revocation-max-age %v: want 1s to %v", o.RevocationMaxAge, verifier.MaxRevocationMaxAge)
	case (o.TLSCert == "") != (o.TLSKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case o.MaxBody <= 0:
		return fmt.Errorf("--max-body %d must be positive", o.MaxBody)
	case o.RateBurst < 0:
		return fmt.Errorf("--rate-burst %d must not be negative", o.RateBurst)
	case o.LargeBody <= 0:
		return fmt.Errorf("--large-body %d must be positive", o.LargeBody)
	case o.MaxConcurrentLarge < 0:
		return fmt.Errorf("--max-concurrent-large %d must not be negative", o.MaxConcurrentLarge)
	case o.Refresh <= 0 || o.MaxAge <= 0 || o.VerifyTimeout <= 0 || o.Leeway < 0:
		return errors.New("--refresh, --max-age and --verify-timeout must be positive, --leeway not negative")
	case o.LogFormat != "text" && o.LogFormat != "json":
		return fmt.Errorf("--log-format %q: want text or json", o.LogFormat)
	case o.Offline && o.AnyIssuerUnsafe:
		return errors.New("--offline cannot be combined with --any-issuer-unsafe: an unknown issuer's keys can only be fetched")
	case o.Offline && len(o.Trust)+len(o.KeySets) == 0:
		return errors.New("--offline needs a trust source: --trust FILE or --keys ISS=FILE")
	}
	if _, err := parseLevel(o.LogLevel); err != nil {
		return err
	}
	if o.EntryRules != "" {
		if _, err := o.entryRules(); err != nil {
			return err
		}
	}
	if _, err := clientip.Parse(o.TrustedProxies...); err != nil {
		return fmt.Errorf("--trusted-proxy: %v", err)
	}
	for _, k := range o.KeySets {
		if iss, file, ok := strings.Cut(k, "="); !ok || iss == "" || file == "" {
			return fmt.Errorf("--keys %q: want ISS=FILE", k)
		}
	}
	return nil
}

// AnyIssuer reports whether the service runs without an issuer trust
// source (explicitly, or because none was given).
func (o *Options) AnyIssuer() bool {
	return o.AnyIssuerUnsafe || len(o.Trust)+len(o.TrustedIssuers)+len(o.KeySets) == 0
}

// verifierOptions maps the options to verifier options (everything except
// the trust sources, which Trust adds).
func (o *Options) verifierOptions() ([]verifier.Option, *x509.Certificate, error) {
	opts := []verifier.Option{verifier.WithLeeway(o.Leeway), verifier.WithRevocationMaxAge(o.RevocationMaxAge)}
	if o.Revocation == "best-effort" {
		opts = append(opts, verifier.WithRevocationPolicy(verifier.RevocationBestEffort))
	} else {
		opts = append(opts, verifier.WithRevocationPolicy(verifier.RevocationRequired))
	}
	if o.Offline {
		opts = append(opts, verifier.WithOffline())
	}
	if o.EntryRules != "" {
		rules, err := o.entryRules()
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, verifier.WithEntryRules(rules))
	}
	if o.AllowPrivate {
		opts = append(opts, verifier.WithAllowPrivateNetwork())
	}
	if len(o.PrivateOrigins) > 0 {
		opts = append(opts, verifier.WithPrivateOrigins(o.PrivateOrigins...))
	}
	if len(o.TrustedIssuers) > 0 {
		opts = append(opts, verifier.WithTrustedIssuers(o.TrustedIssuers...))
	}
	for _, k := range o.KeySets {
		iss, file, _ := strings.Cut(k, "=")
		jwks, err := capped.ReadFile(file, maxTrustSourceBytes)
		if err != nil {
			return nil, nil, fmt.Errorf("--keys %s: %w", iss, err)
		}
		opts = append(opts, verifier.WithStaticKeys(iss, jwks))
	}
	if o.AnyIssuer() {
		opts = append(opts, verifier.WithoutIssuerTrustUnsafe())
	}
	if pool, err := o.rootCAs(); err != nil {
		return nil, nil, err
	} else if pool != nil {
		opts = append(opts, verifier.WithRootCAs(pool))
	}
	var cert *x509.Certificate
	if o.DirectoryCert != "" {
		pemBytes, err := capped.ReadFile(o.DirectoryCert, 1<<20)
		if err != nil {
			return nil, nil, fmt.Errorf("--directory-cert: %w", err)
		}
		block, _ := pem.Decode(pemBytes)
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, nil, fmt.Errorf("--directory-cert %s: no PEM CERTIFICATE block", o.DirectoryCert)
		}
		if cert, err = x509.ParseCertificate(block.Bytes); err != nil {
			return nil, nil, fmt.Errorf("--directory-cert %s: %w", o.DirectoryCert, err)
		}
	}
	return opts, cert, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// NewLogger returns the slog logger the options ask for, writing to w.
func (o *Options) NewLogger(w io.Writer) *slog.Logger {
	lvl, _ := parseLevel(o.LogLevel)
	ho := &slog.HandlerOptions{Level: lvl}
	if o.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

// rootCAs returns the system roots plus the --ca-cert certificates, or nil
// when no --ca-cert was given.
func (o *Options) rootCAs() (*x509.CertPool, error) {
	if len(o.CACerts) == 0 {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, f := range o.CACerts {
		pemBytes, err := capped.ReadFile(f, 1<<20)
		if err != nil {
			return nil, fmt.Errorf("--ca-cert: %w", err)
		}
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("--ca-cert %s: no PEM certificate found", f)
		}
	}
	return pool, nil
}

// entryRules reads and checks the --entry-rules file.
func (o *Options) entryRules() (*verifier.EntryRules, error) {
	b, err := capped.ReadFile(o.EntryRules, 64<<10)
	if err != nil {
		return nil, fmt.Errorf("--entry-rules: %w", err)
	}
	rules, err := verifier.ParseEntryRules(b)
	if err != nil {
		return nil, fmt.Errorf("--entry-rules %s: %w", o.EntryRules, err)
	}
	return rules, nil
}
