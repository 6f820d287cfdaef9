package issuer

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// RID computes the revocation id of a patient's cards under one key
// (REV-3): base64url (no padding) of the first 64 bits of
// HMAC-SHA-256, keyed with the UTF-8 bytes of secret followed by kid, over
// the patient id. secret is used in its string form, exactly as the
// specification's reference generator does, so the published example
// secret and kid K0 reproduce the example rids. The result has 11
// characters (REV-1: at most 24, base64url alphabet).
func RID(secret, kid, patientID string) string {
	m := hmac.New(sha256.New, []byte(secret+kid))
	m.Write([]byte(patientID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:8])
}

// NewRIDSecret returns a new 256-bit rid secret in its string form
// (base64url, 43 characters). Generate it once per issuer and keep it with
// the keys: changing it changes every rid (REV-3).
func NewRIDSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
