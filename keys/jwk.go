package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// Bounds on untrusted input.
const (
	// MaxJWKSBytes bounds a JWKS or key file read by this package.
	MaxJWKSBytes = 256 << 10
	// MaxJWKSKeys bounds the number of keys in one JWKS.
	MaxJWKSKeys = 100
)

// Fixed values for SMART Health Cards signing keys (KEY-1, KEY-2).
const (
	KeyTypeEC = "EC"
	CurveP256 = "P-256"
	AlgES256  = "ES256"
	UseSig    = "sig"
)

// Generate returns a new ECDSA P-256 key, the only key type SMART Health
// Cards allow (KEY-1).
func Generate() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, newErr(CodeIO, "generating P-256 key", err)
	}
	return k, nil
}

// JWK is a public EC JSON Web Key as SMART Health Cards publish it (KEY-2).
//
// JWK has no field for the private scalar "d": it cannot carry or print
// private material, and unmarshaling a private JWK into it drops "d".
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	// CRLVersion is the issuer's CRL ctr for this key (KEY-11, REV-*); nil
	// when the issuer does not support revocation for the key.
	CRLVersion *int `json:"crlVersion,omitempty"`
	// X5C is the optional certificate chain, standard base64 DER, leaf first (KEY-6).
	X5C []string `json:"x5c,omitempty"`
}

// JWKS is a JSON Web Key Set. The same kid may appear more than once (one
// entry per certificate, KEY-7): use Lookup, never a map keyed by kid.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// PublicJWK returns the public JWK of a P-256 key with kid = RFC 7638
// thumbprint, use "sig", alg "ES256" (KEY-2), and crlVersion when non-nil
// (KEY-11). It panics if pub is not a valid P-256 key, which is a programming
// error: every key this package hands out is P-256.
func PublicJWK(pub *ecdsa.PublicKey, crlVersion *int) JWK {
	kid, err := Thumbprint(pub)
	if err != nil {
		panic("keys: PublicJWK: " + err.Error())
	}
	x, y := coordinates(pub)
	j := JWK{Kty: KeyTypeEC, Kid: kid, Use: UseSig, Alg: AlgES256, Crv: CurveP256, X: x, Y: y}
	if crlVersion != nil {
		v := *crlVersion
		j.CRLVersion = &v
	}
	return j
}

// PublicKey decodes the key's curve point. It checks kty "EC", crv "P-256",
// 32-byte coordinates and that the point is on the curve. It does not look
// at use, alg or kid; see CheckSigning.
func (j JWK) PublicKey() (*ecdsa.PublicKey, error) {
	return decodePublic(j.Kty, j.Crv, j.X, j.Y)
}

// CheckSigning reports whether j is acceptable as an SHC signing key:
// a valid P-256 point, use "sig" (or absent), alg "ES256" (or absent), and
// kid equal to the RFC 7638 thumbprint (KEY-2, KEY-5, HDR-4). It returns
// the public key on success.
func (j JWK) CheckSigning() (*ecdsa.PublicKey, error) {
	pub, err := j.PublicKey()
	if err != nil {
		return nil, err
	}
	if err := checkUseAlg(j.Kid, j.Use, j.Alg); err != nil {
		return nil, err
	}
	if err := checkKid(pub, j.Kid); err != nil {
		return nil, err
	}
	return pub, nil
}

// Lookup returns every key whose kid equals kid, in set order. Several
// entries may share a kid (KEY-7); callers should try each.
func (s JWKS) Lookup(kid string) []JWK {
	var out []JWK
	for _, k := range s.Keys {
		if k.Kid == kid {
			out = append(out, k)
		}
	}
	return out
}

// ParseJWKS parses a public JWKS, bounded by MaxJWKSBytes and MaxJWKSKeys.
// A set in which any key publishes a private member (EC or RSA "d", RSA
// "p", "q", "dp", "dq", "qi", "oth", oct "k"; names matched ignoring case)
// is refused with CodeMalformed: it must not be a trust source, and the
// key it exposes is compromised (KEY-2). Keys are not validated otherwise:
// use CheckSigning on the entries you intend to trust.
func ParseJWKS(data []byte) (JWKS, error) {
	if len(data) > MaxJWKSBytes {
		return JWKS{}, newErr(CodeTooLarge, fmt.Sprintf("JWKS is %d bytes, limit %d", len(data), MaxJWKSBytes), nil)
	}
	var s JWKS
	if err := json.Unmarshal(data, &s); err != nil {
		return JWKS{}, newErr(CodeMalformed, "JWKS is not valid JSON", err)
	}
	var members struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &members); err != nil {
		return JWKS{}, newErr(CodeMalformed, "JWKS is not valid JSON", err)
	}
	for i, k := range members.Keys {
		if name, ok := PrivateMember(k); ok {
			return JWKS{}, newErr(CodeMalformed, fmt.Sprintf("key %d of the set publishes the private member %q: "+
				"the set is refused as a trust source and that key is compromised (KEY-2)", i, name), nil)
		}
	}
	if s.Keys == nil {
		return JWKS{}, newErr(CodeMalformed, `JWKS has no "keys" array`, nil)
	}
	if len(s.Keys) > MaxJWKSKeys {
		return JWKS{}, newErr(CodeTooLarge, fmt.Sprintf("JWKS has %d keys, limit %d", len(s.Keys), MaxJWKSKeys), nil)
	}
	return s, nil
}

func decodePublic(kty, crv, x, y string) (*ecdsa.PublicKey, error) {
	if kty != KeyTypeEC {
		return nil, newErr(CodeUnsupportedKey, fmt.Sprintf("kty %q, want EC", kty), nil)
	}
	if crv != CurveP256 {
		return nil, newErr(CodeUnsupportedKey, fmt.Sprintf("crv %q, want P-256", crv), nil)
	}
	xb, err := decodeCoord("x", x)
	if err != nil {
		return nil, err
	}
	yb, err := decodeCoord("y", y)
	if err != nil {
		return nil, err
	}
	raw := make([]byte, 0, 65)
	raw = append(raw, 4)
	raw = append(raw, xb...)
	raw = append(raw, yb...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return nil, newErr(CodeMalformed, "point is not on P-256", err)
	}
	return pub, nil
}

// decodeCoord decodes a base64url (unpadded) field element of exactly 32
// bytes, as RFC 7518 §6.2.1.2 requires.
func decodeCoord(name, s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, newErr(CodeMalformed, fmt.Sprintf("%s is not unpadded base64url", name), nil)
	}
	if len(b) != 32 {
		return nil, newErr(CodeMalformed, fmt.Sprintf("%s is %d bytes, want 32", name, len(b)), nil)
	}
	return b, nil
}

func checkUseAlg(kid, use, alg string) error {
	if use != "" && use != UseSig {
		return newErr(CodeNotSigningKey, fmt.Sprintf("key %q has use %q, not \"sig\"", kid, use), nil)
	}
	if alg != "" && alg != AlgES256 {
		return newErr(CodeNotSigningKey, fmt.Sprintf("key %q has alg %q, not ES256", kid, alg), nil)
	}
	return nil
}

func checkKid(pub *ecdsa.PublicKey, kid string) error {
	tp, err := Thumbprint(pub)
	if err != nil {
		return newErr(CodeUnsupportedKey, "", err)
	}
	if kid != tp {
		return newErr(CodeKeyMismatch, fmt.Sprintf("kid %q is not the key's thumbprint %q", kid, tp), nil)
	}
	return nil
}

// privateMembers are the JWK members that carry private key material (RFC
// 7518 §6.2.2, §6.3.2, §6.4.1).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// PrivateMember reports the first member of a JWK (its members by name)
// that carries private key material, matching names ignoring case: a
// published key set must hold none (KEY-2).
func PrivateMember[V any](jwk map[string]V) (string, bool) {
	for _, p := range privateMembers {
		for name := range jwk {
			if strings.EqualFold(name, p) {
				return name, true
			}
		}
	}
	return "", false
}
