package shl

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"testing"
)

// sealGCM is an independent AES-256-GCM compact JWE writer (RFC 7516 §5.1,
// AAD = ASCII of the base64url protected header) used to craft test inputs.
func sealGCM(t *testing.T, key []byte, hdrB64 string, content []byte) string {
	t.Helper()
	blk, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := cipher.NewGCM(blk)
	iv := make([]byte, 12)
	rand.Read(iv)
	ct := g.Seal(nil, iv, content, []byte(hdrB64))
	n := len(ct) - 16
	b := base64.RawURLEncoding.EncodeToString
	return hdrB64 + ".." + b(iv) + "." + b(ct[:n]) + "." + b(ct[n:])
}
