package did_test

import (
	"fmt"

	"github.com/healthcards/healthcards/did"
	"github.com/healthcards/healthcards/keys"
)

// A did:key round trip with a W3C CCG test vector.
func ExampleParseKey() {
	const id = "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169"
	pub, err := did.ParseKey(id)
	if err != nil {
		fmt.Println(err)
		return
	}
	jwk := keys.PublicJWK(pub, nil)
	fmt.Println(jwk.X)
	fmt.Println(did.KeyFromPublic(pub) == id)
	// Output:
	// fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI
	// true
}

func ExampleWebURL() {
	for _, id := range []string{"did:web:example.com", "did:web:example.com%3A8443", "did:web:example.com:user:alice"} {
		u, _ := did.WebURL(id)
		fmt.Println(u)
	}
	base, _ := did.WebBase("did:web:example.com:issuer")
	fmt.Println(base + "/.well-known/crl/<kid>.json")
	// Output:
	// https://example.com/.well-known/did.json
	// https://example.com:8443/.well-known/did.json
	// https://example.com/user/alice/did.json
	// https://example.com/issuer/.well-known/crl/<kid>.json
}

func ExampleNewDocument() {
	pub, _ := did.ParseKey("did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169")
	jwk := keys.PublicJWK(pub, nil)
	doc := did.NewDocument("did:web:issuer.example", []keys.JWK{jwk})
	fmt.Println(doc.VerificationMethod[0].ID == "did:web:issuer.example#"+jwk.Kid)
	fmt.Println(len(doc.Keys()))
	// Output:
	// true
	// 1
}
