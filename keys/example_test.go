package keys_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/healthcards/healthcards/keys"
)

// A private key prints and logs as its kid only.
func ExampleLoadPrivate() {
	// keys[0] of the VCI example issuer (published test key).
	const file = `{"kty":"EC","kid":"3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s","use":"sig","alg":"ES256","crv":"P-256",
	"x":"11XvRWy1I2S0EyJlyf_bWfw_TQ5CJJNLw78bHXNxcgw","y":"eZXwxvO1hvCY0KucrPfKo7yAyMT6Ajc3N7OkAB6VYy8",
	"d":"FvOOk6hMixJ2o9zt4PCfan_UW7i4aOEnzj76ZaCI9Og"}`
	k, err := keys.LoadPrivate([]byte(file), nil, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(k.KeyID())
	fmt.Printf("%v\n", k)
	// Output:
	// 3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s
	// keys.PrivateKey{kid:3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s}
}

// A key set that publishes private key material is refused (KEY-2).
func ExampleParseJWKS_private() {
	// The same published test key, with its private scalar by mistake.
	const set = `{"keys":[{"kty":"EC","kid":"3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s","use":"sig","alg":"ES256","crv":"P-256",
	"x":"11XvRWy1I2S0EyJlyf_bWfw_TQ5CJJNLw78bHXNxcgw","y":"eZXwxvO1hvCY0KucrPfKo7yAyMT6Ajc3N7OkAB6VYy8",
	"d":"FvOOk6hMixJ2o9zt4PCfan_UW7i4aOEnzj76ZaCI9Og"}]}`
	_, err := keys.ParseJWKS([]byte(set))
	fmt.Println(errors.Is(err, keys.ErrMalformed))
	var m map[string]json.RawMessage
	_ = json.Unmarshal([]byte(`{"kty":"oct","k":"c2VjcmV0"}`), &m)
	fmt.Println(keys.PrivateMember(m))
	// Output:
	// true
	// k true
}

// Rotate keys and publish the JWKS (KEY-8, KEY-9, KEY-11).
func ExampleRing() {
	dir, _ := os.MkdirTemp("", "ring")
	defer os.RemoveAll(dir)
	ring, err := keys.OpenRing(filepath.Join(dir, "keys"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	old, _ := ring.Rotate()
	cur, _ := ring.Rotate()

	digest := sha256.Sum256([]byte("payload"))
	sig, _ := cur.Sign(rand.Reader, digest[:], crypto.SHA256)
	fmt.Println(ecdsa.VerifyASN1(cur.Public().(*ecdsa.PublicKey), digest[:], sig))

	jwks := ring.PublicJWKS(func(string) int { return 1 })
	fmt.Println(len(jwks.Keys))
	_ = ring.Retire(old.KeyID())
	b, _ := json.Marshal(ring.PublicJWKS(nil))
	var back keys.JWKS
	_ = json.Unmarshal(b, &back)
	fmt.Println(len(back.Keys), back.Keys[0].Kid == cur.KeyID())
	// Output:
	// true
	// 2
	// 1 true
}
