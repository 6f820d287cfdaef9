package server

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/healthcards/healthcards/internal/capped"
	"github.com/healthcards/healthcards/verifier"
)

// EnvPrefix prefixes the environment variables that configure the service.
const EnvPrefix = "SHC_VERIFIER_"

// Options is the command-line and environment configuration of the
// shc-verifier command. Every flag --name has an environment variable
// SHC_VERIFIER_NAME (dashes become underscores; repeatable flags take a
// comma-separated list). Flags win over the environment.
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
	AllowPrivate    bool
	TLSCert         string
	TLSKey          string
	CORSOrigins     []string
	TrustedProxies  []string
	MaxBody         int64
	RateLimit       float64
	RateBurst       int
	VerifyTimeout   time.Duration
	LogFormat       string
	LogLevel        string
}

// Usage is the help text of the shc-verifier command.
const Usage = `shc-verifier: verify SMART Health Cards over HTTP, with a scanning page for venues.

Usage:
  shc-verifier [flags]

Trust (which issuers give a green "verified"):
  --trust FILE|URL          trust directory (VCI snapshot shape) or trust list
                            (vci-issuers.json shape); repeatable
  --trusted-issuer ISS      trust this issuer, keys fetched live; repeatable
  --keys ISS=FILE           trust ISS with exactly the JWKS in FILE; repeatable
  --directory-cert FILE     PEM certificate; directories must carry a detached
                            signature SOURCE.sig that verifies with it
  --refresh DURATION        reload trust sources this often (default 6h)
  --max-age DURATION        a source older than this is stale and /readyz
                            fails (default 168h)
  --offline                 never use the network: keys and revocation lists
                            come only from --trust directories and --keys
  --any-issuer-unsafe       verify cards from any issuer (amber at best); the
                            default when no trust source is given
  --allow-private-network   let live fetches reach private addresses (intranets)
  --ca-cert FILE            also trust the PEM CA certificate(s) in FILE when
                            fetching keys, revocation lists and directories
                            (e.g. a development issuer's self-signed
                            certificate); repeatable

Checks:
  --leeway DURATION         allowed clock skew for nbf (default 5m)
  --revocation POLICY       required (default: fail when a revocation list
                            cannot be had) or best-effort

Serving:
  --listen ADDR             address to listen on (default 127.0.0.1:8080)
  --tls-cert FILE, --tls-key FILE   serve HTTPS (browsers need HTTPS, or
                            localhost, to open the camera)
  --cors-origin ORIGIN      allow browser calls to the API from ORIGIN; repeatable
  --trusted-proxy CIDR      read the client IP from X-Forwarded-For when the
                            peer is in CIDR; repeatable
  --max-body BYTES          request size limit (default 10485760)
  --rate-limit N            requests per second per client IP (default 10;
                            negative: off)
  --rate-burst N            burst per client IP (default 30)
  --verify-timeout DURATION per-request limit (default 20s)
  --log-format text|json    (default text)
  --log-level debug|info|warn|error (default info)

Every flag can also be set as SHC_VERIFIER_<NAME> (e.g. SHC_VERIFIER_TRUST,
comma-separated for repeatable flags); flags win.

Example:
  shc-verifier --listen :8443 --tls-cert cert.pem --tls-key key.pem \
    --trust https://example.org/directory.json --revocation required
`

// listFlag is a repeatable flag whose first command-line use replaces the
// value taken from the environment.
type listFlag struct {
	vals    *[]string
	fromEnv bool
}

func (l *listFlag) String() string {
	if l.vals == nil {
		return ""
	}
	return strings.Join(*l.vals, ",")
}

func (l *listFlag) Set(s string) error {
	if l.fromEnv {
		*l.vals = nil
		l.fromEnv = false
	}
	*l.vals = append(*l.vals, s)
	return nil
}

// ParseOptions reads the configuration from args (without the program
// name) and the environment (getenv, e.g. os.Getenv).
func ParseOptions(args []string, getenv func(string) string, stderr io.Writer) (*Options, error) {
	o := &Options{
		Listen:        "127.0.0.1:8080",
		Refresh:       verifier.DefaultDirectoryTTL,
		MaxAge:        verifier.DefaultDirectoryMaxAge,
		Leeway:        verifier.DefaultLeeway,
		Revocation:    "required",
		MaxBody:       DefaultMaxBodyBytes,
		RateLimit:     DefaultRateLimit,
		RateBurst:     DefaultRateBurst,
		VerifyTimeout: DefaultVerifyTimeout,
		LogFormat:     "text",
		LogLevel:      "info",
	}
	fs := flag.NewFlagSet("shc-verifier", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, Usage) }

	var envErr error
	env := func(name string) (string, bool) {
		v := getenv(EnvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_")))
		return v, v != ""
	}
	str := func(p *string, name string) {
		if v, ok := env(name); ok {
			*p = v
		}
		fs.StringVar(p, name, *p, "")
	}
	list := func(p *[]string, name string) {
		lf := &listFlag{vals: p}
		if v, ok := env(name); ok {
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					*p = append(*p, s)
				}
			}
			lf.fromEnv = true
		}
		fs.Var(lf, name, "")
	}
	dur := func(p *time.Duration, name string) {
		if v, ok := env(name); ok {
			d, err := time.ParseDuration(v)
			if err != nil && envErr == nil {
				envErr = fmt.Errorf("%s%s: %v", EnvPrefix, strings.ToUpper(strings.ReplaceAll(name, "-", "_")), err)
			}
			*p = d
		}
		fs.DurationVar(p, name, *p, "")
	}
	boolean := func(p *bool, name string) {
		if v, ok := env(name); ok {
			b, err := strconv.ParseBool(v)
			if err != nil && envErr == nil {
				envErr = fmt.Errorf("%s%s: %v", EnvPrefix, strings.ToUpper(strings.ReplaceAll(name, "-", "_")), err)
			}
			*p = b
		}
		fs.BoolVar(p, name, *p, "")
	}
	num := func(name string, set func(string) error, flagVar func()) {
		if v, ok := env(name); ok {
			if err := set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s%s: %v", EnvPrefix, strings.ToUpper(strings.ReplaceAll(name, "-", "_")), err)
			}
		}
		flagVar()
	}

	str(&o.Listen, "listen")
	list(&o.Trust, "trust")
	list(&o.TrustedIssuers, "trusted-issuer")
	list(&o.KeySets, "keys")
	str(&o.DirectoryCert, "directory-cert")
	list(&o.CACerts, "ca-cert")
	dur(&o.Refresh, "refresh")
	dur(&o.MaxAge, "max-age")
	boolean(&o.Offline, "offline")
	boolean(&o.AnyIssuerUnsafe, "any-issuer-unsafe")
	dur(&o.Leeway, "leeway")
	str(&o.Revocation, "revocation")
	boolean(&o.AllowPrivate, "allow-private-network")
	str(&o.TLSCert, "tls-cert")
	str(&o.TLSKey, "tls-key")
	list(&o.CORSOrigins, "cors-origin")
	list(&o.TrustedProxies, "trusted-proxy")
	num("max-body", func(v string) (err error) { o.MaxBody, err = strconv.ParseInt(v, 10, 64); return },
		func() { fs.Int64Var(&o.MaxBody, "max-body", o.MaxBody, "") })
	num("rate-limit", func(v string) (err error) { o.RateLimit, err = strconv.ParseFloat(v, 64); return },
		func() { fs.Float64Var(&o.RateLimit, "rate-limit", o.RateLimit, "") })
	num("rate-burst", func(v string) (err error) { o.RateBurst, err = strconv.Atoi(v); return },
		func() { fs.IntVar(&o.RateBurst, "rate-burst", o.RateBurst, "") })
	dur(&o.VerifyTimeout, "verify-timeout")
	str(&o.LogFormat, "log-format")
	str(&o.LogLevel, "log-level")

	if envErr != nil {
		return nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	return o, o.validate()
}

func (o *Options) validate() error {
	switch {
	case o.Revocation != "required" && o.Revocation != "best-effort":
		return fmt.Errorf("--revocation %q: want required or best-effort", o.Revocation)
	case (o.TLSCert == "") != (o.TLSKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case o.MaxBody <= 0:
		return fmt.Errorf("--max-body %d must be positive", o.MaxBody)
	case o.RateBurst < 0:
		return fmt.Errorf("--rate-burst %d must not be negative", o.RateBurst)
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
	for _, c := range o.TrustedProxies {
		if _, _, err := net.ParseCIDR(c); err != nil {
			return fmt.Errorf("--trusted-proxy %q: %v", c, err)
		}
	}
	for _, k := range o.KeySets {
		if iss, file, ok := strings.Cut(k, "="); !ok || iss == "" || file == "" {
			return fmt.Errorf("--keys %q: want ISS=FILE", k)
		}
	}
	return nil
}

// anyIssuer reports whether the service runs without an issuer trust
// source (explicitly, or because none was given).
func (o *Options) anyIssuer() bool {
	return o.AnyIssuerUnsafe || len(o.Trust)+len(o.TrustedIssuers)+len(o.KeySets) == 0
}

// verifierOptions maps the options to verifier options (everything except
// the trust sources, which Trust adds).
func (o *Options) verifierOptions() ([]verifier.Option, *x509.Certificate, error) {
	opts := []verifier.Option{verifier.WithLeeway(o.Leeway)}
	if o.Revocation == "best-effort" {
		opts = append(opts, verifier.WithRevocationPolicy(verifier.RevocationBestEffort))
	} else {
		opts = append(opts, verifier.WithRevocationPolicy(verifier.RevocationRequired))
	}
	if o.Offline {
		opts = append(opts, verifier.WithOffline())
	}
	if o.AllowPrivate {
		opts = append(opts, verifier.WithAllowPrivateNetwork())
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
	if o.anyIssuer() {
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
