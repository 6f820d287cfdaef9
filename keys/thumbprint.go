package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// Thumbprint returns the RFC 7638 JWK thumbprint of a P-256 public key:
// base64url (no padding) of SHA-256 over {"crv":"P-256","kty":"EC","x":..,"y":..}
// with exactly those members, sorted, and no whitespace (HDR-4, KEY-2).
// SMART Health Cards use it as the key's kid.
func Thumbprint(pub *ecdsa.PublicKey) (string, error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return "", errors.New("keys: thumbprint needs a P-256 public key")
	}
	// The canonical form is small and fixed; build it by hand so the
	// member order and the absence of whitespace are explicit.
	x, y := coordinates(pub)
	buf := make([]byte, 0, 128)
	buf = append(buf, `{"crv":"P-256","kty":"EC","x":"`...)
	buf = append(buf, x...)
	buf = append(buf, `","y":"`...)
	buf = append(buf, y...)
	buf = append(buf, `"}`...)
	sum := sha256.Sum256(buf)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// coordinates returns the base64url x and y of a P-256 key, each padded to
// 32 bytes as RFC 7518 §6.2.1.2 requires.
func coordinates(pub *ecdsa.PublicKey) (x, y string) {
	raw, err := pub.Bytes() // 0x04 || X || Y, fixed length
	if err != nil || len(raw) != 65 {
		return "", ""
	}
	return base64.RawURLEncoding.EncodeToString(raw[1:33]), base64.RawURLEncoding.EncodeToString(raw[33:65])
}
