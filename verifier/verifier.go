package verifier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/healthcards/healthcards/internal/capped"
	"github.com/healthcards/healthcards/safehttp"
	"github.com/healthcards/healthcards/shc"
)

// Verifier verifies SMART Health Cards against a fixed configuration. It is
// safe for concurrent use; build one and share it.
type Verifier struct {
	cfg    config
	clock  func() time.Time
	leeway time.Duration
	policy RevocationPolicy
	fetch  *safehttp.Client // issuer material (keys, DID documents, CRLs, directories); nil when offline
	// linkFetch fetches SMART Health Link manifests and files: fetch
	// without the WithPrivateOrigins exception (nil when offline).
	linkFetch *safehttp.Client
	trust     *trustStore
	cache     *keyCache
	crls      *crlCache
	did       didMethods
	stats     stats          // counters behind Stats (stats.go)
	bg        sync.WaitGroup // background refreshes (refresh.go)

	configWarnings []string
}

// New builds a Verifier. It fails when no trust source is configured (a
// directory, trust list, trusted issuer or static key set) unless
// WithoutIssuerTrustUnsafe is given, when an option is invalid, when options
// contradict each other, or when a trust source given as a file cannot be
// read or parsed (URL sources are fetched on first use).
func New(opts ...Option) (*Verifier, error) {
	var c config
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return nil, wrapErr(CodeConfig, StepConfig, err)
		}
	}
	if len(c.directories)+len(c.trustLists)+len(c.issuers)+len(c.staticKeys) == 0 && !c.anyIssuer {
		return nil, newErr(CodeConfig, StepConfig, "no trust source: give a directory, trust list, trusted issuer or static key set, or opt out with WithoutIssuerTrustUnsafe")
	}
	if c.client != nil && (c.allowPrivate || c.rootCAs != nil || c.fetchTimeout != 0 || len(c.privateOrigins) > 0) {
		return nil, newErr(CodeConfig, StepConfig, "WithFetchClient cannot be combined with WithAllowPrivateNetwork, WithPrivateOrigins, WithRootCAs or WithFetchTimeout")
	}
	if c.offline && (c.client != nil || c.allowPrivate || len(c.privateOrigins) > 0 || c.rootCAs != nil || len(c.mirrors) > 0) {
		return nil, newErr(CodeConfig, StepConfig, "WithOffline cannot be combined with fetch options (WithFetchClient, WithAllowPrivateNetwork, WithPrivateOrigins, WithRootCAs, WithIssuerMirror)")
	}
	if c.offline && c.anyIssuer {
		return nil, newErr(CodeConfig, StepConfig, "WithOffline cannot be combined with WithoutIssuerTrustUnsafe: an untrusted issuer's keys can only be fetched")
	}
	if c.offline {
		for _, d := range append(append([]dirSource(nil), c.directories...), c.trustLists...) {
			if d.url != "" {
				return nil, newErr(CodeConfig, StepConfig, "WithOffline: trust source %s is a URL", d.url)
			}
		}
	}
	var err error
	v := &Verifier{cfg: c, clock: c.clock, leeway: DefaultLeeway, policy: RevocationRequired}
	if v.clock == nil {
		v.clock = time.Now
	}
	if c.leeway != nil {
		v.leeway = *c.leeway
	}
	if c.revocation != nil {
		v.policy = *c.revocation
	}
	if c.keyTTL == 0 {
		v.cfg.keyTTL = DefaultKeyCacheTTL
	}
	if c.crlTTL == 0 {
		v.cfg.crlTTL = DefaultCRLCacheTTL
	}
	if c.dirTTL == 0 {
		v.cfg.dirTTL = DefaultDirectoryTTL
	}
	if c.dirMaxAge == 0 {
		v.cfg.dirMaxAge = DefaultDirectoryMaxAge
	}
	if c.refetchEvery == 0 {
		v.cfg.refetchEvery = DefaultRefetchInterval
	}
	if c.revMaxAge == 0 {
		v.cfg.revMaxAge = DefaultRevocationMaxAge
	}
	if !c.offline {
		v.fetch, v.linkFetch = c.client, c.client
		if v.fetch == nil {
			fc := safehttp.Config{
				Timeout:             c.fetchTimeout,
				AllowPrivateNetwork: c.allowPrivate,
				RootCAs:             c.rootCAs,
				MaxBytes:            MaxCRLBytes, // the largest body fetched (REV-6); key sets are capped lower in get
				UserAgent:           "healthcards-verifier",
			}
			// Links never get the origin exception (issue 10): a link
			// names any URL its sender likes.
			if v.linkFetch, err = safehttp.New(fc); err != nil {
				return nil, wrapErr(CodeConfig, StepConfig, err)
			}
			v.fetch = v.linkFetch
			if len(c.privateOrigins) > 0 {
				fc.PrivateOrigins = c.privateOrigins
				if v.fetch, err = safehttp.New(fc); err != nil {
					return nil, wrapErr(CodeConfig, StepConfig, err)
				}
			}
		}
	}
	ts, warns, err := newTrustStore(&v.cfg)
	if err != nil {
		return nil, wrapErr(CodeConfig, StepConfig, err)
	}
	v.trust = ts
	v.configWarnings = warns
	if c.client != nil && c.client.MaxBytes() < MaxCRLBytes {
		v.configWarnings = append(v.configWarnings, fmt.Sprintf("the fetch client caps bodies at %d bytes, below MaxCRLBytes (%d): larger revocation lists cannot be fetched", c.client.MaxBytes(), MaxCRLBytes))
	}
	v.cache = newKeyCache()
	v.crls = newCRLCache()
	v.did = didPackage{}
	return v, nil
}

// ConfigWarnings returns the warnings raised while loading file trust
// sources (skipped directory entries, stale directories).
func (v *Verifier) ConfigWarnings() []string {
	return append([]string(nil), v.configWarnings...)
}

// Verify verifies every card in input and returns one Result per card, in
// input order. input may be a compact JWS, shc:/ text (several texts
// separated by white space; legacy chunks in any order), a
// .smart-health-card file, a FHIR Parameters response of
// $health-cards-issue, a PNG, JPEG or SVG image of a QR code (only with
// WithImageDecoder; otherwise image_unsupported), or a SMART Health
// Link (shlink:/…, bare or behind a viewer URL, as text or QR image): the
// link is resolved without a passcode (a P link fails with
// passcode_required; use VerifyLink to give one) and its cards are
// returned; its unverified FHIR files are not (use VerifyLink).
//
// The error is non-nil only when input yields no card at all (it is then an
// *Error with a format code), holds more cards than the per-input limit
// (too_many_cards), or ctx ends before every card was examined
// (deadline_exceeded); per-card failures are reported in each Result
// (Verdict, Errors, Err).
func (v *Verifier) Verify(ctx context.Context, input []byte) ([]*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrapErr(CodeIssuerUnreachable, StepDecode, err)
	}
	if err := v.precheckCards(input); err != nil {
		return nil, err
	}
	jws, kind, err := v.extract(ctx, input)
	var li *linkInput
	if errors.As(err, &li) {
		return v.verifyLinkCards(ctx, li.text) // a SMART Health Link (see VerifyLink)
	}
	if err != nil {
		return nil, asError(StepDecode, err)
	}
	return v.verifyCards(ctx, jws, kind)
}

// VerifyJWS verifies one compact JWS and returns its Result (never nil).
func (v *Verifier) VerifyJWS(ctx context.Context, jws string) *Result {
	r := v.verifyJWS(v.withBudget(ctx), jws)
	r.InputKind = string(shc.KindJWS)
	return r
}

// extract turns any input form into JWS strings.
func (v *Verifier) extract(ctx context.Context, input []byte) ([]string, string, error) {
	if isImage(input) || isSVG(input) {
		text, err := decodeImage(ctx, v.cfg.imageDecoder, input)
		if err != nil {
			return nil, "", err
		}
		if IsLink([]byte(text)) {
			return nil, "", &linkInput{text: text} // the QR holds a SMART Health Link
		}
		if _, err := shc.ParseQRText(text); err != nil {
			return nil, "", err // a QR code, but neither a card nor a link
		}
		jws, _, err := shc.ExtractJWS([]byte(text))
		return jws, "qr-image", err
	}
	if IsLink(input) {
		return nil, "", &linkInput{text: string(input)}
	}
	jws, kind, err := shc.ExtractJWS(input)
	if err == nil && kind == shc.KindJWS && !isJWSText(jws[0]) {
		// Two dots but not base64url: a web address or other text read
		// from a QR code, not a damaged card (VerdictFor: unable_to_check).
		return nil, "", &Error{Pkg: pkg, Code: CodeMalformedInput, Step: StepDecode,
			Msg: "input is not a SMART Health Card (neither a JWS, shc:/ text, .smart-health-card file, FHIR Parameters nor a link)"}
	}
	return jws, string(kind), err
}

// isJWSText reports whether s uses only the compact JWS alphabet
// (base64url and the two dots).
func isJWSText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func isImage(b []byte) bool {
	return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF})
}

// readSource reads a file trust source now, or records a URL one.
func readSource(pathOrURL string, allowSig bool) (dirSource, error) {
	if strings.HasPrefix(pathOrURL, "https://") || strings.HasPrefix(pathOrURL, "http://") {
		if _, err := url.Parse(pathOrURL); err != nil {
			return dirSource{}, fmt.Errorf("bad trust source URL %q", pathOrURL)
		}
		return dirSource{name: pathOrURL, url: pathOrURL}, nil
	}
	data, err := capped.ReadFile(pathOrURL, maxDirectoryBytes)
	if err != nil {
		return dirSource{}, err
	}
	src := dirSource{name: pathOrURL, path: pathOrURL, data: data}
	if allowSig {
		if sig, err := capped.ReadFile(pathOrURL+SignatureSuffix, maxSignatureFileBytes); err == nil {
			src.sig = sig
		} else if !os.IsNotExist(err) {
			return dirSource{}, err
		}
	}
	return src, nil
}

// checkIssuerSyntax accepts an https iss (KEY-4: no trailing slash), a
// did:web or a did:key.
func checkIssuerSyntax(iss string) error {
	switch {
	case strings.HasPrefix(iss, "did:web:"), strings.HasPrefix(iss, "did:key:"):
		if len(iss) > maxIssuerLen {
			return fmt.Errorf("issuer DID too long")
		}
		return nil
	}
	return checkHTTPSIssuer(iss)
}

func checkHTTPSIssuer(iss string) error {
	if len(iss) > maxIssuerLen {
		return fmt.Errorf("iss of %d bytes is too long", len(iss))
	}
	u, err := url.Parse(iss)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("iss %q is not an https URL without query or fragment (KEY-4)", iss)
	}
	if strings.HasSuffix(iss, "/") {
		return fmt.Errorf("iss %q ends with '/' (KEY-4)", iss)
	}
	return nil
}
