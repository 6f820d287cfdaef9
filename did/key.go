package did

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"fmt"
	"strings"
)

const (
	keyPrefix = "did:key:"
	// multicodec p256-pub (0x1200) as an unsigned varint.
	p256Codec0, p256Codec1 = 0x80, 0x24
	// maxKeyDIDLen bounds ParseKey input; a P-256 did:key is 57 characters.
	maxKeyDIDLen = 128
)

// KeyFromPublic returns the did:key of a P-256 public key: "did:key:z" +
// base58btc(varint(0x1200) || compressed SEC1 point). It panics if pub is
// not a valid P-256 key (a programming error; parsed keys always are).
func KeyFromPublic(pub *ecdsa.PublicKey) string {
	if pub == nil || pub.Curve != elliptic.P256() {
		panic("did: KeyFromPublic needs a P-256 public key")
	}
	raw, err := pub.Bytes() // 0x04 || X || Y
	if err != nil || len(raw) != 65 {
		panic("did: KeyFromPublic: invalid P-256 public key")
	}
	b := make([]byte, 0, 35)
	b = append(b, p256Codec0, p256Codec1, 0x02|raw[64]&1)
	b = append(b, raw[1:33]...)
	return keyPrefix + "z" + base58Encode(b)
}

// ParseKey parses a P-256 did:key (no fragment, query or path) and returns
// its public key. Other key types are ErrUnsupportedKey; anything that is
// not exactly a base58btc multicodec P-256 compressed point on the curve is
// ErrMalformedDID.
func ParseKey(did string) (*ecdsa.PublicKey, error) {
	if len(did) > maxKeyDIDLen {
		return nil, newErr(CodeMalformedDID, fmt.Sprintf("did:key is over %d characters", maxKeyDIDLen), nil)
	}
	id, ok := strings.CutPrefix(did, keyPrefix)
	if !ok {
		return nil, newErr(CodeMalformedDID, fmt.Sprintf("%q is not a did:key", did), nil)
	}
	mb, ok := strings.CutPrefix(id, "z")
	if !ok {
		return nil, newErr(CodeMalformedDID, "did:key must use multibase base58btc (\"z\")", nil)
	}
	b, ok := base58Decode(mb)
	if !ok {
		return nil, newErr(CodeMalformedDID, "did:key is not valid base58btc", nil)
	}
	if len(b) < 2 {
		return nil, newErr(CodeMalformedDID, "did:key has no multicodec key", nil)
	}
	if b[0] != p256Codec0 || b[1] != p256Codec1 {
		return nil, newErr(CodeUnsupportedKey, "did:key is not a P-256 key (multicodec 0x1200)", nil)
	}
	pt := b[2:]
	if len(pt) != 33 || (pt[0] != 2 && pt[0] != 3) {
		return nil, newErr(CodeMalformedDID, "did:key P-256 key must be a 33-byte compressed point", nil)
	}
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), pt)
	if x == nil {
		return nil, newErr(CodeMalformedDID, "did:key point is not on P-256", nil)
	}
	raw := make([]byte, 65)
	raw[0] = 4
	x.FillBytes(raw[1:33])
	y.FillBytes(raw[33:])
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return nil, newErr(CodeMalformedDID, "did:key point is not on P-256", err)
	}
	return pub, nil
}
