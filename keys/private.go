package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Signer is a signing key for SMART Health Cards. Sign follows the
// crypto.Signer contract for ECDSA (ASN.1 DER output, SHA-256 digest), and
// KeyID returns the RFC 7638 thumbprint used as the JWS kid (HDR-4), so
// issuers never need the private material to learn it.
type Signer interface {
	crypto.Signer
	KeyID() string
}

// PrivateKey is an in-memory P-256 signing key loaded from a JWK. It
// implements Signer. Its private scalar is never printed: fmt verbs, slog and
// encoding/json all render only the kid (or the public JWK).
type PrivateKey struct {
	key *ecdsa.PrivateKey
	pub JWK // public half: kid, x, y, optional x5c; never d
}

var _ Signer = (*PrivateKey)(nil)

// NewPrivateKey wraps a P-256 key as a Signer (KEY-1).
func NewPrivateKey(k *ecdsa.PrivateKey) (*PrivateKey, error) {
	if k == nil || k.Curve != elliptic.P256() {
		return nil, newErr(CodeUnsupportedKey, "need an ECDSA P-256 private key", nil)
	}
	if _, err := k.Bytes(); err != nil {
		return nil, newErr(CodeMalformed, "invalid private key", err)
	}
	return &PrivateKey{key: k, pub: PublicJWK(&k.PublicKey, nil)}, nil
}

// KeyID returns the kid: the RFC 7638 thumbprint of the public key.
func (k *PrivateKey) KeyID() string { return k.pub.Kid }

// Public returns the *ecdsa.PublicKey.
func (k *PrivateKey) Public() crypto.PublicKey { return &k.key.PublicKey }

// PublicJWK returns the public JWK (with x5c when the key file had one).
func (k *PrivateKey) PublicJWK() JWK {
	j := k.pub
	j.X5C = append([]string(nil), k.pub.X5C...)
	return j
}

// Sign signs a SHA-256 digest and returns an ASN.1 DER ECDSA signature, as
// crypto.Signer requires. Any other hash is refused: the key is for ES256
// only (HDR-2).
func (k *PrivateKey) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if err := CheckES256Digest(digest, opts); err != nil {
		return nil, err
	}
	return ecdsa.SignASN1(rand, k.key, digest)
}

// CheckES256Digest is the argument check every Signer in this module applies
// in Sign: opts must name SHA-256 and digest must be 32 bytes (HDR-2).
func CheckES256Digest(digest []byte, opts crypto.SignerOpts) error {
	if opts == nil || opts.HashFunc() != crypto.SHA256 || len(digest) != sha256.Size {
		return newErr(CodeSign, "ES256 keys sign 32-byte SHA-256 digests only", nil)
	}
	return nil
}

// String returns a redacted description that names only the kid.
func (k *PrivateKey) String() string {
	if k == nil {
		return "keys.PrivateKey(nil)"
	}
	return "keys.PrivateKey{kid:" + k.pub.Kid + "}"
}

// GoString is String: %#v must not dump the scalar either.
func (k *PrivateKey) GoString() string { return k.String() }

// Format makes every fmt verb (%v, %+v, %#v, %s, %x, %q, ...) print String.
func (k *PrivateKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// LogValue makes slog log only the kid.
func (k *PrivateKey) LogValue() slog.Value {
	if k == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("kid", k.pub.Kid))
}

// MarshalJSON encodes the public JWK only. Writing private key files goes
// through MarshalPrivateJWK, which says what it does.
func (k *PrivateKey) MarshalJSON() ([]byte, error) { return json.Marshal(k.PublicJWK()) }

// privateJWK is the on-disk form of a private EC JWK. It never leaves this
// file except through MarshalPrivateJWK.
type privateJWK struct {
	Kty string   `json:"kty"`
	Kid string   `json:"kid,omitempty"`
	Use string   `json:"use,omitempty"`
	Alg string   `json:"alg,omitempty"`
	Crv string   `json:"crv"`
	X   string   `json:"x"`
	Y   string   `json:"y"`
	D   string   `json:"d"`
	X5C []string `json:"x5c,omitempty"`
}

// LoadPrivate reads a private key from a JWK or a JWKS with "d" members (the
// shape of the VCI generator's issuer.jwks.private.json), optionally
// encrypted at rest as a compact JWE (see MarshalPrivateJWK).
//
// Key choice: if kid is not empty, the key with that kid is used; otherwise
// the file's only signing key is used, and several signing keys are an
// ErrAmbiguousKey error that lists their kids. Keys with use "enc" or an alg
// other than ES256 are refused for signing (KEY-5). The key must be P-256
// (KEY-1), d*G must equal (x, y), a present kid must equal the RFC 7638
// thumbprint (HDR-4), and the leaf certificate of a present x5c must hold the
// same public key (KEY-6).
//
// passphrase must be non-empty exactly when the data is encrypted: an
// encrypted file without a passphrase is ErrPassphraseRequired, and a
// plaintext file with one is ErrNotEncrypted (so a swapped-in plaintext key
// cannot pass for the protected one).
func LoadPrivate(data, passphrase []byte, kid string) (*PrivateKey, error) {
	return loadPrivate(data, passphrase, kid, MinPBES2Count)
}

// loadPrivate is LoadPrivate with the lowest accepted PBES2 count.
func loadPrivate(data, passphrase []byte, kid string, minCount int) (*PrivateKey, error) {
	if len(data) > MaxJWKSBytes {
		return nil, newErr(CodeTooLarge, fmt.Sprintf("key file is %d bytes, limit %d", len(data), MaxJWKSBytes), nil)
	}
	data = bytes.TrimSpace(data)
	if isCompactJWE(data) {
		if len(passphrase) == 0 {
			return nil, newErr(CodePassphraseRequired, "key file is encrypted; a passphrase is required", nil)
		}
		plain, err := decryptKeyFile(data, passphrase, minCount)
		if err != nil {
			return nil, err
		}
		defer clear(plain)
		data = plain
	} else if len(passphrase) != 0 {
		return nil, newErr(CodeNotEncrypted, "a passphrase was given but the key file is not encrypted", nil)
	}

	cands, err := parsePrivateJWKs(data)
	if err != nil {
		return nil, err
	}
	pj, err := choose(cands, kid)
	if err != nil {
		return nil, err
	}
	return pj.toKey()
}

func parsePrivateJWKs(data []byte) ([]privateJWK, error) {
	var probe struct {
		Keys json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, newErr(CodeMalformed, "key file is neither a JWK nor a JWKS", err)
	}
	if probe.Keys == nil {
		var one privateJWK
		if err := json.Unmarshal(data, &one); err != nil {
			return nil, newErr(CodeMalformed, "key file is not a JWK", err)
		}
		return []privateJWK{one}, nil
	}
	var many []privateJWK
	if err := json.Unmarshal(probe.Keys, &many); err != nil {
		return nil, newErr(CodeMalformed, `"keys" is not an array of JWKs`, err)
	}
	if len(many) == 0 {
		return nil, newErr(CodeKeyNotFound, "key file has no keys", nil)
	}
	if len(many) > MaxJWKSKeys {
		return nil, newErr(CodeTooLarge, fmt.Sprintf("key file has %d keys, limit %d", len(many), MaxJWKSKeys), nil)
	}
	return many, nil
}

// choose applies the key selection rules of LoadPrivate.
func choose(cands []privateJWK, kid string) (*privateJWK, error) {
	if kid != "" {
		var hit []*privateJWK
		for i := range cands {
			if cands[i].Kid == kid {
				hit = append(hit, &cands[i])
			}
		}
		switch len(hit) {
		case 0:
			return nil, newErr(CodeKeyNotFound, fmt.Sprintf("no key with kid %q; the file has %s", kid, kidList(cands, false)), nil)
		case 1:
			if err := checkUseAlg(kid, hit[0].Use, hit[0].Alg); err != nil {
				return nil, err
			}
			return hit[0], nil
		default:
			return nil, newErr(CodeAmbiguousKey, fmt.Sprintf("%d keys have kid %q", len(hit), kid), nil)
		}
	}
	var sig []*privateJWK
	for i := range cands {
		if checkUseAlg(cands[i].Kid, cands[i].Use, cands[i].Alg) == nil {
			sig = append(sig, &cands[i])
		}
	}
	switch len(sig) {
	case 0:
		if len(cands) == 1 {
			// Report why the only key is unusable.
			return nil, checkUseAlg(cands[0].Kid, cands[0].Use, cands[0].Alg)
		}
		return nil, newErr(CodeKeyNotFound, "the file has no signing key; it has "+kidList(cands, false), nil)
	case 1:
		return sig[0], nil
	default:
		return nil, newErr(CodeAmbiguousKey, "the file has several signing keys, choose one by kid: "+kidList(cands, true), nil)
	}
}

func kidList(cands []privateJWK, sigOnly bool) string {
	var ks []string
	for _, c := range cands {
		if sigOnly && checkUseAlg(c.Kid, c.Use, c.Alg) != nil {
			continue
		}
		k := c.Kid
		if k == "" {
			k = "(no kid)"
		}
		ks = append(ks, fmt.Sprintf("%q", k))
	}
	return strings.Join(ks, ", ")
}

// toKey validates the JWK and builds the PrivateKey.
func (pj *privateJWK) toKey() (*PrivateKey, error) {
	pub, err := decodePublic(pj.Kty, pj.Crv, pj.X, pj.Y)
	if err != nil {
		return nil, err
	}
	if pj.D == "" {
		return nil, newErr(CodeMalformed, fmt.Sprintf("key %q has no private part \"d\"", pj.Kid), nil)
	}
	d, err := base64.RawURLEncoding.Strict().DecodeString(pj.D)
	if err != nil || len(d) != 32 {
		clear(d)
		return nil, newErr(CodeMalformed, fmt.Sprintf("key %q: d is not a 32-byte base64url scalar", pj.Kid), nil)
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	clear(d)
	if err != nil {
		return nil, newErr(CodeMalformed, fmt.Sprintf("key %q: d is not a valid P-256 scalar", pj.Kid), nil)
	}
	if !priv.PublicKey.Equal(pub) {
		return nil, newErr(CodeKeyMismatch, fmt.Sprintf("key %q: d does not match x, y", pj.Kid), nil)
	}
	if pj.Kid != "" {
		if err := checkKid(pub, pj.Kid); err != nil {
			return nil, err
		}
	}
	k, err := NewPrivateKey(priv)
	if err != nil {
		return nil, err
	}
	if len(pj.X5C) > 0 {
		if err := checkX5CLeaf(pj.X5C[0], pub); err != nil {
			return nil, err
		}
		k.pub.X5C = append([]string(nil), pj.X5C...)
	}
	return k, nil
}

// checkX5CLeaf checks that the leaf certificate (standard base64 DER, KEY-6)
// carries pub.
func checkX5CLeaf(leaf string, pub *ecdsa.PublicKey) error {
	der, err := base64.StdEncoding.DecodeString(leaf)
	if err != nil {
		return newErr(CodeMalformed, "x5c[0] is not standard base64", nil)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return newErr(CodeMalformed, "x5c[0] is not a DER certificate", err)
	}
	cp, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !cp.Equal(pub) {
		return newErr(CodeKeyMismatch, "x5c leaf certificate key differs from the JWK (KEY-6)", nil)
	}
	return nil
}

// MarshalPrivateJWK returns the key as a private JWK (with "d"), for writing a
// key file. With a non-empty passphrase the JWK is encrypted as a compact JWE
// (PBES2-HS512+A256KW, A256GCM, DefaultPBES2Count iterations).
//
// The output holds private material: write it to a 0600 file (WritePrivateFile
// does) and never log it.
func MarshalPrivateJWK(k *PrivateKey, passphrase []byte) ([]byte, error) {
	return marshalPrivateJWK(k, passphrase, pbes2WriteCount)
}

// marshalPrivateJWK is MarshalPrivateJWK with the PBES2 count to write.
func marshalPrivateJWK(k *PrivateKey, passphrase []byte, count int) ([]byte, error) {
	db, err := k.key.Bytes()
	if err != nil {
		return nil, newErr(CodeMalformed, "invalid private key", err)
	}
	pj := privateJWK{
		Kty: k.pub.Kty, Kid: k.pub.Kid, Use: k.pub.Use, Alg: k.pub.Alg, Crv: k.pub.Crv,
		X: k.pub.X, Y: k.pub.Y, D: base64.RawURLEncoding.EncodeToString(db), X5C: k.pub.X5C,
	}
	clear(db)
	plain, err := json.Marshal(pj)
	if err != nil {
		return nil, newErr(CodeMalformed, "encoding JWK", err)
	}
	if len(passphrase) == 0 {
		return plain, nil
	}
	defer clear(plain)
	return encryptKeyFile(plain, passphrase, count)
}
