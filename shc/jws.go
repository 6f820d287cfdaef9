package shc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"sync"

	"github.com/go-jose/go-jose/v4"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/healthcards/healthcards/internal/jsonlite"
	"github.com/healthcards/healthcards/keys"
)

// Header is the protected JWS header of a card (HDR-2..4).
type Header struct {
	Alg string `json:"alg"`
	Zip string `json:"zip"`
	Kid string `json:"kid"`
}

// Card is a parsed, structurally valid, NOT YET VERIFIED card. Parsing checks
// the shape (compact JWS, ES256, zip DEF, raw DEFLATE within limits, required
// claims); whether to trust it is the verifier's job (package verifier).
type Card struct {
	raw       string
	header    Header
	signature []byte // 64-byte r||s
	sigBuf    [64]byte
	payload   *Payload
	rawClaims []byte // inflated claim set, as signed
}

// Raw returns the compact JWS as parsed (whitespace trimmed).
func (c *Card) Raw() string { return c.raw }

// Header returns the protected header.
func (c *Card) Header() Header { return c.header }

// KeyID returns the header kid: the RFC 7638 thumbprint of the signing key (HDR-4).
func (c *Card) KeyID() string { return c.header.Kid }

// Issuer returns the unverified iss claim, which a verifier needs to find
// the key. Do not show it to anyone before the signature is verified.
func (c *Card) Issuer() string { return c.payload.Issuer }

// UnsafePayloadWithoutVerification returns the claims WITHOUT any signature
// or trust check. Use it only for debugging or after Verify succeeded.
func (c *Card) UnsafePayloadWithoutVerification() *Payload { return c.payload }

// UnsafeClaimsJSONWithoutVerification returns the inflated claim set bytes,
// unverified.
func (c *Card) UnsafeClaimsJSONWithoutVerification() []byte { return c.rawClaims }

// Parse parses a compact JWS card with the default Limits.
func Parse(jws string) (*Card, error) { return ParseWithLimits(jws, Limits{}) }

// ParseWithLimits parses a compact JWS card. It pins alg ES256 and zip DEF
// (HDR-2, HDR-3, HDR-8), requires a kid, a 64-byte r||s signature (HDR-5) and
// a raw-DEFLATE JSON payload (HDR-7) within the limits, and the claims of
// PAY-1..7. It never fetches anything and never trusts anything.
func ParseWithLimits(jws string, lim Limits) (*Card, error) {
	jws = strings.TrimSpace(jws)
	if len(jws) > lim.jws() {
		return nil, errorf(CodePayloadTooLarge, "JWS of %d bytes exceeds the %d-byte limit", len(jws), lim.jws())
	}
	h64, rest, ok1 := strings.Cut(jws, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return nil, errorf(CodeMalformedJWS, "not a compact JWS: want three dot-separated parts (HDR-1)")
	}
	if h64 == "" || p64 == "" || s64 == "" {
		return nil, errorf(CodeMalformedJWS, "empty JWS part (HDR-1)")
	}
	if len(h64) > maxHeaderBytes {
		return nil, errorf(CodeMalformedJWS, "header of %d bytes is too large", len(h64))
	}
	h, err := headers.parse(h64)
	if err != nil {
		return nil, err
	}
	c := &Card{raw: jws, header: h}
	sig, err := b64.AppendDecode(c.sigBuf[:0], []byte(s64)) // zero-copy conversions (go build -gcflags=-m)
	if err != nil {
		return nil, wrap(CodeMalformedJWS, "signature is not base64url", err)
	}
	if len(sig) != 64 {
		return nil, errorf(CodeMalformedJWS, "signature is %d bytes, want the 64-byte r||s form (HDR-5; DER is not JWS)", len(sig))
	}
	c.signature = sig
	claims, err := decodeAndInflate(p64, lim.payload())
	if err != nil {
		return nil, err
	}
	p, err := ParsePayload(claims)
	if err != nil {
		return nil, err
	}
	c.payload, c.rawClaims = p, claims
	return c, nil
}

// b64 is strict base64url without padding (HDR-1).
var b64 = base64.RawURLEncoding.Strict()

// decodeAndInflate base64url-decodes the payload part into a pooled buffer
// and inflates it (HDR-7).
func decodeAndInflate(p64 string, limit int) ([]byte, error) {
	bp := b64Bufs.Get().(*[]byte)
	defer b64Bufs.Put(bp)
	n := b64.DecodedLen(len(p64))
	if cap(*bp) < n {
		*bp = make([]byte, n)
	}
	buf := (*bp)[:n]
	m, err := b64.Decode(buf, []byte(p64))
	if err != nil {
		return nil, wrap(CodeBadPayloadEncoding, "payload is not base64url", err)
	}
	return Inflate(buf[:m], limit)
}

var b64Bufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// headerMembers are the header members read; any other is skipped.
var headerMembers = []string{"alg", "zip", "kid", "crit"}

// parseHeader decodes the protected header with the strict reader: a JSON
// object whose member names are unescaped and unique even ignoring letter
// case (at every depth), alg ES256, zip DEF, a non-empty kid and no crit.
func parseHeader(b []byte) (Header, error) {
	var h Header
	var rd jsonlite.Reader
	rd.Reset(b, maxJSONDepth)
	var typeErr error
	str := func(name string, dst *string) bool {
		raw, esc, ok := rd.String()
		if !ok {
			typeErr = errorf(CodeMalformedJWS, "header %q must be a string", name)
			return false
		}
		if *dst, ok = jsonlite.StringValue(raw, esc); !ok {
			typeErr = errorf(CodeMalformedJWS, "header %q has no UTF-8 form", name)
		}
		return ok
	}
	crit := false
	ok := rd.Kind() == '{' && rd.Enter('{') && rd.Members(headerMembers, func(field string) bool {
		switch field {
		case "alg":
			return str(field, &h.Alg)
		case "zip":
			return str(field, &h.Zip)
		case "kid":
			return str(field, &h.Kid)
		}
		crit = true
		_, ok := rd.Skip()
		return ok
	}) && rd.End()
	if !ok {
		var me *jsonlite.MemberError
		switch err := rd.Err(); {
		case typeErr != nil:
			return Header{}, typeErr
		case errors.As(err, &me):
			return Header{}, wrap(CodeMalformedJWS, "header refused by the strict reader: "+me.Error(), nil)
		}
		return Header{}, errorf(CodeMalformedJWS, "header is not a JSON object")
	}
	if crit {
		return Header{}, errorf(CodeUnsupportedAlg, "header has crit extensions, which cards never use")
	}
	if h.Alg != "ES256" {
		return Header{}, errorf(CodeUnsupportedAlg, "alg %q: only ES256 is accepted (HDR-2, HDR-8)", h.Alg)
	}
	if h.Zip != "DEF" {
		return Header{}, errorf(CodeUnsupportedAlg, "zip %q: cards must be compressed with zip DEF (HDR-3, HDR-8)", h.Zip)
	}
	if h.Kid == "" {
		return Header{}, errorf(CodeMalformedJWS, "header has no kid (HDR-4)")
	}
	return h, nil
}

// signingInput is the ASCII "header.payload" that the signature covers.
func (c *Card) signingInput() string {
	i := strings.LastIndexByte(c.raw, '.')
	return c.raw[:i]
}

// VerifySignature checks the ES256 signature with pub (HDR-5). It does not
// check that pub belongs to the issuer, nor any claim: see package verifier.
func (c *Card) VerifySignature(pub *ecdsa.PublicKey) error {
	if pub == nil || pub.Curve != elliptic.P256() {
		return errorf(CodeBadKey, "verification key is not P-256 (KEY-1)")
	}
	digest := sha256.Sum256([]byte(c.signingInput())) // zero-copy: Sum256 neither keeps nor writes it
	var buf [72]byte
	der, ok := appendDERSignature(buf[:0], c.signature)
	if !ok || !ecdsa.VerifyASN1(pub, digest[:], der) {
		return errorf(CodeBadSignature, "ES256 signature does not verify with key %s", c.header.Kid)
	}
	return nil
}

// appendDERSignature appends the ASN.1 DER form of a 64-byte r||s
// signature, exactly as ecdsa.Verify builds it from big.Ints, so that
// VerifyASN1 gives the same verdict without the big.Int round trip. It
// reports false when r or s is zero, which ecdsa.Verify refuses as well.
func appendDERSignature(dst, rs []byte) ([]byte, bool) {
	r, s := trimZeros(rs[:32]), trimZeros(rs[32:])
	if len(r) == 0 || len(s) == 0 {
		return dst, false
	}
	rl, sl := len(r)+int(r[0]>>7), len(s)+int(s[0]>>7)
	dst = append(dst, 0x30, byte(2+rl+2+sl)) // at most 2*35 < 128: short form
	dst = appendDERInt(dst, r, rl)
	dst = appendDERInt(dst, s, sl)
	return dst, true
}

func appendDERInt(dst, v []byte, l int) []byte {
	dst = append(dst, 0x02, byte(l))
	if l > len(v) {
		dst = append(dst, 0)
	}
	return append(dst, v...)
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// Signer signs cards with one P-256 key through go-jose v4. It is safe for
// concurrent use (as safe as the crypto.Signer it wraps).
type Signer struct {
	kid    string
	signer jose.Signer
}

// NewSigner wraps a crypto.Signer holding a P-256 key (KEY-1): a private key
// in memory, a PKCS#11 token, a KMS. The kid is the key's RFC 7638
// thumbprint (HDR-4).
func NewSigner(s crypto.Signer) (*Signer, error) {
	pub, ok := s.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errorf(CodeBadKey, "signing key must be ECDSA P-256 (KEY-1)")
	}
	kid, err := keys.Thumbprint(pub)
	if err != nil {
		return nil, wrap(CodeBadKey, "cannot compute kid", err)
	}
	opts := (&jose.SignerOptions{}).WithHeader("zip", "DEF").WithHeader("kid", kid)
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: es256Opaque{s, &jose.JSONWebKey{Key: pub}}}, opts)
	if err != nil {
		return nil, wrap(CodeBadKey, "cannot build the ES256 signer", err)
	}
	return &Signer{kid: kid, signer: js}, nil
}

// es256Opaque is the go-jose OpaqueSigner over a crypto.Signer: it hashes
// with SHA-256, signs, and turns the signer's ASN.1 signature into the JWS
// r||s form (HDR-5) without reflection.
type es256Opaque struct {
	key crypto.Signer
	pub *jose.JSONWebKey
}

func (o es256Opaque) Public() *jose.JSONWebKey { return o.pub }

func (o es256Opaque) Algs() []jose.SignatureAlgorithm { return []jose.SignatureAlgorithm{jose.ES256} }

func (o es256Opaque) SignPayload(payload []byte, alg jose.SignatureAlgorithm) ([]byte, error) {
	if alg != jose.ES256 {
		return nil, jose.ErrUnsupportedAlgorithm
	}
	digest := sha256.Sum256(payload)
	der, err := o.key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	var rs [64]byte
	if !rsFromDER(der, &rs) {
		return nil, errorf(CodeBadKey, "the signer returned no valid ECDSA P-256 signature")
	}
	return rs[:], nil
}

// KeyID returns the kid that signed cards carry.
func (s *Signer) KeyID() string { return s.kid }

// Sign minifies nothing: it serializes p (HDR-7), compresses it with raw
// DEFLATE and returns the compact ES256 JWS with header zip DEF and kid.
func (s *Signer) Sign(p *Payload) (string, error) {
	if p == nil || p.Issuer == "" || len(p.VC.CredentialSubject.FHIRBundle) == 0 {
		return "", errorf(CodeBadPayload, "payload needs iss and a fhirBundle")
	}
	if !p.HasType(HealthCardType) {
		return "", errorf(CodeBadPayload, "vc.type lacks %s (PAY-4)", HealthCardType)
	}
	if p.VC.RID != "" && !ValidRID(p.VC.RID) {
		return "", errorf(CodeBadPayload, "rid %q: at most 24 base64url characters (REV-1)", p.VC.RID)
	}
	claims, err := p.Marshal()
	if err != nil {
		return "", err
	}
	// Sign nothing the strict reader would refuse (a repeated or
	// case-variant member in the bundle, a date after year 9999, ...).
	if _, err := ParsePayload(claims); err != nil {
		return "", err
	}
	obj, err := s.signer.Sign(Deflate(claims))
	if err != nil {
		if CodeOf(err) != "" {
			return "", err
		}
		return "", wrap(CodeBadKey, "signing failed", err)
	}
	return obj.CompactSerialize()
}

// rsFromDER turns an ASN.1 ECDSA signature into the JWS r||s form (HDR-5):
// each integer positive and at most 32 bytes, left-padded.
func rsFromDER(der []byte, out *[64]byte) bool {
	var inner cryptobyte.String
	var r, s []byte
	in := cryptobyte.String(der)
	if !in.ReadASN1(&inner, cbasn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1Integer(&r) || !inner.ReadASN1Integer(&s) || !inner.Empty() {
		return false
	}
	return putScalar(out[:32], r) && putScalar(out[32:], s)
}

// putScalar left-pads the non-negative big-endian integer v (as
// ReadASN1Integer returns it: negatives refused, leading zeros removed)
// into dst (32 bytes), refusing zero and over-long values.
func putScalar(dst, v []byte) bool {
	v = trimZeros(v)
	if len(v) == 0 || len(v) > len(dst) {
		return false
	}
	copy(dst[len(dst)-len(v):], v)
	return true
}

// Sign is a one-shot convenience for NewSigner(signer).Sign(p).
func Sign(signer crypto.Signer, p *Payload) (string, error) {
	s, err := NewSigner(signer)
	if err != nil {
		return "", err
	}
	return s.Sign(p)
}

// ValidRID reports whether rid uses only the base64url alphabet and has at
// most 24 characters (REV-1).
func ValidRID(rid string) bool {
	if rid == "" || len(rid) > 24 {
		return false
	}
	for i := 0; i < len(rid); i++ {
		c := rid[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
