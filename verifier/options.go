package verifier

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/healthcards/healthcards/safehttp"
)

// Defaults.
const (
	// DefaultLeeway is how far in the future nbf may lie (clock skew).
	DefaultLeeway = 5 * time.Minute
	// DefaultKeyCacheTTL is how long a fetched key set or DID document is
	// used before it is fetched again.
	DefaultKeyCacheTTL = 1 * time.Hour
	// DefaultCRLCacheTTL is how long a fetched revocation list is used when
	// the key's crlVersion has not moved.
	DefaultCRLCacheTTL = 1 * time.Hour
	// DefaultDirectoryTTL is how often a directory given by URL is fetched again.
	DefaultDirectoryTTL = 6 * time.Hour
	// DefaultDirectoryMaxAge is the age (from the directory's "time") past
	// which a directory is reported stale.
	DefaultDirectoryMaxAge = 7 * 24 * time.Hour
	// DefaultRefetchInterval is the least time between two fetches of one
	// issuer's key set triggered by an unknown kid.
	DefaultRefetchInterval = 1 * time.Minute
	// DefaultRevocationMaxAge bounds how stale the revocation status of a
	// card may be (WithRevocationMaxAge).
	DefaultRevocationMaxAge = 5 * time.Minute
	// MaxRevocationMaxAge is the largest WithRevocationMaxAge accepted.
	MaxRevocationMaxAge = 24 * time.Hour
	// minRefresh is the shortest background refresh interval an issuer's
	// max-age can ask for (a max-age of 0 or no-cache does not make every
	// verification fetch).
	minRefresh = 10 * time.Second
)

// RevocationPolicy decides what happens when a key has crlVersion but its
// revocation list cannot be had (REV-10).
type RevocationPolicy int

// Revocation policies.
const (
	// RevocationRequired fails the card with revocation_unavailable (default).
	RevocationRequired RevocationPolicy = iota
	// RevocationBestEffort accepts the card with a warning and a
	// "warning" revocation check.
	RevocationBestEffort
)

// Option configures a Verifier. Options are checked by New: a bad value or a
// contradictory combination is an error, never "last one wins".
type Option func(*config) error

type dirSource struct {
	name string // file path or URL, for messages
	url  string // non-empty: fetched
	path string // non-empty: a file, read again by Reload
	data []byte // file or in-memory content
	sig  []byte // detached signature, when given
	auto bool   // directory or trust list, told apart by content (WithTrustSource)
}

type config struct {
	directories    []dirSource
	trustLists     []dirSource
	issuers        []string
	staticKeys     []staticSource
	anyIssuer      bool
	clock          func() time.Time
	leeway         *time.Duration
	offline        bool
	revocation     *RevocationPolicy
	allowPrivate   bool
	rootCAs        *x509.CertPool
	fetchTimeout   time.Duration
	client         *safehttp.Client
	privateOrigins []string
	imageDecoder   ImageDecoder
	keyTTL         time.Duration
	crlTTL         time.Duration
	dirTTL         time.Duration
	dirMaxAge      time.Duration
	refetchEvery   time.Duration
	revMaxAge      time.Duration
	entryRules     *EntryRules
	dirCert        *x509.Certificate
	mirrors        map[string]string
	budget         budgetConfig // per-request budgets (limits.go)
}

type staticSource struct {
	iss  string
	jwks []byte
}

// WithTrustDirectory adds a trust directory in the shape of the VCI
// directory snapshot, read from a file path now, or from an https URL on
// first use and again every DirectoryTTL. Issuers it lists are trusted,
// with the keys and revocation lists it carries. See the package
// documentation for the format and the detached signature convention.
func WithTrustDirectory(pathOrURL string) Option {
	return func(c *config) error {
		if pathOrURL == "" {
			return fmt.Errorf("WithTrustDirectory: empty path")
		}
		src, err := readSource(pathOrURL, true)
		if err != nil {
			return err
		}
		c.directories = append(c.directories, src)
		return nil
	}
}

// WithTrustDirectoryJSON adds a trust directory held in memory. sig is its
// detached signature (nil when no directory certificate is configured).
func WithTrustDirectoryJSON(name string, data, sig []byte) Option {
	return func(c *config) error {
		if len(data) == 0 {
			return fmt.Errorf("WithTrustDirectoryJSON: empty directory %q", name)
		}
		c.directories = append(c.directories, dirSource{name: name, data: data, sig: sig})
		return nil
	}
}

// WithDirectoryCertificate requires every trust directory to carry a
// detached ECDSA P-521/SHA-512 signature that verifies with cert's key.
func WithDirectoryCertificate(cert *x509.Certificate) Option {
	return func(c *config) error {
		if cert == nil {
			return fmt.Errorf("WithDirectoryCertificate: nil certificate")
		}
		c.dirCert = cert
		return nil
	}
}

// WithTrustList adds a VCI trust list (vci-issuers.json shape,
// {"participating_issuers":[{iss,name,website,canonical_iss}]}) from a file
// path or an https URL. Listed issuers are trusted (their keys are fetched
// live) and their names are shown.
func WithTrustList(pathOrURL string) Option {
	return func(c *config) error {
		if pathOrURL == "" {
			return fmt.Errorf("WithTrustList: empty path")
		}
		src, err := readSource(pathOrURL, false)
		if err != nil {
			return err
		}
		c.trustLists = append(c.trustLists, src)
		return nil
	}
}

// WithTrustListJSON adds a VCI trust list held in memory.
func WithTrustListJSON(name string, data []byte) Option {
	return func(c *config) error {
		if len(data) == 0 {
			return fmt.Errorf("WithTrustListJSON: empty list %q", name)
		}
		c.trustLists = append(c.trustLists, dirSource{name: name, data: data})
		return nil
	}
}

// WithTrustedIssuers trusts the given iss values (https URLs, did:web or
// did:key DIDs); their keys are fetched live (or taken from the DID).
func WithTrustedIssuers(iss ...string) Option {
	return func(c *config) error {
		for _, s := range iss {
			if err := checkIssuerSyntax(s); err != nil {
				return fmt.Errorf("WithTrustedIssuers: %w", err)
			}
		}
		c.issuers = append(c.issuers, iss...)
		return nil
	}
}

// WithStaticKeys trusts iss with exactly the keys of the JWKS jwks (the
// CLI's --jwks ISS=FILE). Nothing is fetched for iss.
func WithStaticKeys(iss string, jwks []byte) Option {
	return func(c *config) error {
		if err := checkIssuerSyntax(iss); err != nil {
			return fmt.Errorf("WithStaticKeys: %w", err)
		}
		if len(jwks) == 0 {
			return fmt.Errorf("WithStaticKeys: empty key set for %s", iss)
		}
		c.staticKeys = append(c.staticKeys, staticSource{iss: iss, jwks: jwks})
		return nil
	}
}

// WithoutIssuerTrustUnsafe verifies cards from any issuer: keys of issuers
// absent from every trust source are fetched from the issuer itself, and
// such cards get VerdictUntrusted (never VerdictVerified). Fetching for an
// attacker-chosen iss is what the trust policy normally prevents; use it for
// diagnostics only.
func WithoutIssuerTrustUnsafe() Option {
	return func(c *config) error { c.anyIssuer = true; return nil }
}

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("WithClock: nil clock")
		}
		c.clock = now
		return nil
	}
}

// WithLeeway sets how far in the future nbf may be (default DefaultLeeway).
// It loosens nbf only: exp is enforced exactly (PAY-3).
func WithLeeway(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 || d > 24*time.Hour {
			return fmt.Errorf("WithLeeway: %v out of range [0, 24h]", d)
		}
		c.leeway = &d
		return nil
	}
}

// WithOffline forbids all network access: keys and revocation lists come
// only from directories and static key sets, and a directory older than
// DirectoryMaxAge is reported stale.
func WithOffline() Option {
	return func(c *config) error { c.offline = true; return nil }
}

// WithRevocationPolicy sets what happens when a revocation list cannot be
// obtained (default RevocationRequired).
func WithRevocationPolicy(p RevocationPolicy) Option {
	return func(c *config) error {
		if p != RevocationRequired && p != RevocationBestEffort {
			return fmt.Errorf("WithRevocationPolicy: unknown policy %d", p)
		}
		c.revocation = &p
		return nil
	}
}

// WithAllowPrivateNetwork lets live fetches reach loopback, private and
// link-local addresses (tests, intranets).
func WithAllowPrivateNetwork() Option {
	return func(c *config) error { c.allowPrivate = true; return nil }
}

// WithPrivateOrigins lets fetches of issuer material (key sets, DID
// documents, revocation lists, trust sources) reach loopback and private
// addresses for the given origins only (scheme://host[:port], such as a
// companion issuer's "https://localhost:8443"); every other URL, and every
// SMART Health Link manifest and file whatever its origin, stays on public
// addresses. Prefer it to WithAllowPrivateNetwork, which lifts the guard
// for every fetch.
func WithPrivateOrigins(origins ...string) Option {
	return func(c *config) error {
		if len(origins) == 0 {
			return fmt.Errorf("WithPrivateOrigins: no origin")
		}
		if _, err := safehttp.New(safehttp.Config{PrivateOrigins: origins}); err != nil {
			return fmt.Errorf("WithPrivateOrigins: %w", err)
		}
		c.privateOrigins = append(c.privateOrigins, origins...)
		return nil
	}
}

// ImageDecoder returns the text held by the QR code in a PNG, JPEG or SVG
// image (SMART Health Card text or a SMART Health Link, as untrusted
// input). qr.DecodeImage of package shc/qr is one; errors without a code
// are reported as malformed_qr.
type ImageDecoder func(ctx context.Context, image []byte) (string, error)

// WithImageDecoder makes Verify accept QR images, read with d. Without it
// the verifier reads text only and refuses an image with image_unsupported,
// and a program that verifies text links no image, QR or SVG code.
func WithImageDecoder(d ImageDecoder) Option {
	return func(c *config) error {
		if d == nil {
			return fmt.Errorf("WithImageDecoder: nil decoder")
		}
		c.imageDecoder = d
		return nil
	}
}

// WithRootCAs sets the CA pool for live fetches (default: the system pool).
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *config) error {
		if pool == nil {
			return fmt.Errorf("WithRootCAs: nil pool")
		}
		c.rootCAs = pool
		return nil
	}
}

// WithFetchTimeout bounds each live fetch (default safehttp.DefaultTimeout).
func WithFetchTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("WithFetchTimeout: %v must be positive", d)
		}
		c.fetchTimeout = d
		return nil
	}
}

// WithFetchClient uses cl for every live fetch instead of building one,
// SMART Health Link manifests and files included: a cl with
// safehttp.Config.PrivateOrigins lets links reach those origins too, so
// prefer WithPrivateOrigins, which never applies to links. It cannot be
// combined with WithAllowPrivateNetwork, WithPrivateOrigins, WithRootCAs or
// WithFetchTimeout, which configure the built clients.
func WithFetchClient(cl *safehttp.Client) Option {
	return func(c *config) error {
		if cl == nil {
			return fmt.Errorf("WithFetchClient: nil client")
		}
		c.client = cl
		return nil
	}
}

// WithCacheTTL sets how long fetched key sets/DID documents and revocation
// lists are cached (defaults DefaultKeyCacheTTL, DefaultCRLCacheTTL).
func WithCacheTTL(keys, crls time.Duration) Option {
	return func(c *config) error {
		if keys <= 0 || crls <= 0 {
			return fmt.Errorf("WithCacheTTL: TTLs must be positive")
		}
		c.keyTTL, c.crlTTL = keys, crls
		return nil
	}
}

// WithRevocationMaxAge bounds how stale revocation status may be (default
// DefaultRevocationMaxAge, at most MaxRevocationMaxAge): a revocation list
// fetched from an issuer answers for at most d. A verifier that is already
// running reports a card revoked at its issuer at most d after the issuer
// published the revocation.
//
// Live key sets, DID documents and revocation lists are refreshed in the
// background with conditional requests (a 304 costs a few hundred bytes)
// once they are older than the issuer's Cache-Control max-age, kept within
// [10 s, d/2], or d/2 without one; verifications meanwhile use the cached
// copy and never wait on the refresh. Past d a revocation list is fetched
// before the card is answered; if that fails, RevocationRequired gives
// revocation_unavailable (unable_to_check) naming the age of the last good
// list, RevocationBestEffort accepts the card with a warning saying the same.
// A rid on the last good list still revokes the card.
//
// The trade-off: a smaller d shows revocations sooner but makes the
// verifier depend on reaching issuers more often (each issuer is asked at
// least every d/2 while cards of it are verified, and an unreachable issuer
// turns its cards unable_to_check after d under RevocationRequired). Lists
// carried by a trust directory are as fresh as the directory
// (WithDirectoryTTL); the bound applies to lists fetched from issuers.
func WithRevocationMaxAge(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Second || d > MaxRevocationMaxAge {
			return fmt.Errorf("WithRevocationMaxAge: %v out of range [1s, %v]", d, MaxRevocationMaxAge)
		}
		c.revMaxAge = d
		return nil
	}
}

// WithDirectoryTTL sets how often a directory or trust list given by URL is
// fetched again (default DefaultDirectoryTTL).
func WithDirectoryTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("WithDirectoryTTL: %v must be positive", d)
		}
		c.dirTTL = d
		return nil
	}
}

// WithDirectoryMaxAge sets the age past which a directory is reported stale
// (default DefaultDirectoryMaxAge).
func WithDirectoryMaxAge(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("WithDirectoryMaxAge: %v must be positive", d)
		}
		c.dirMaxAge = d
		return nil
	}
}

// WithRefetchInterval sets the least time between two key-set fetches for
// one issuer caused by an unknown kid (default DefaultRefetchInterval), so
// cards with made-up kids cannot make the verifier hammer an issuer.
func WithRefetchInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("WithRefetchInterval: %v is negative", d)
		}
		c.refetchEvery = d
		return nil
	}
}

// WithIssuerMirror fetches iss's key set and revocation lists from
// baseURL (baseURL + "/.well-known/jwks.json", baseURL +
// "/.well-known/crl/<kid>.json") instead of from iss itself: for mirrors in
// closed networks, and for tests. It grants no trust.
func WithIssuerMirror(iss, baseURL string) Option {
	return func(c *config) error {
		if err := checkIssuerSyntax(iss); err != nil {
			return fmt.Errorf("WithIssuerMirror: %w", err)
		}
		if err := checkHTTPSIssuer(baseURL); err != nil {
			return fmt.Errorf("WithIssuerMirror: mirror %w", err)
		}
		if c.mirrors == nil {
			c.mirrors = map[string]string{}
		}
		c.mirrors[iss] = baseURL
		return nil
	}
}
