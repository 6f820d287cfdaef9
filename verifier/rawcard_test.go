package verifier

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"testing"

	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
)

// rawCardNBF signs a card whose nbf shc.Sign would refuse (after year
// 9999), assembling the JWS by hand.
func rawCardNBF(t *testing.T, k *ecdsa.PrivateKey, nbf float64) string {
	t.Helper()
	kid, err := keys.Thumbprint(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	claims := fmt.Sprintf(`{"iss":%q,"nbf":%s,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":{"resourceType":"Bundle"}}}}`,
		testIss, strconv.FormatFloat(nbf, 'f', -1, 64))
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(`{"zip":"DEF","alg":"ES256","kid":"`+kid+`"}`)) + "." + enc.EncodeToString(shc.Deflate([]byte(claims)))
	d := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return in + "." + enc.EncodeToString(sig)
}
