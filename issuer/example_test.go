package issuer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"fmt"
	"strings"
	"time"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/store/memstore"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
)

// Issue cards from a lab bundle with a fixed key and clock: one card per lab
// test event, immunizations on their own card (PAY-10).
func Example() {
	// A fixed P-256 key for the example only; real issuers use a keys.Ring
	// or a PKCS#11 signer.
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), []byte("example-only-p256-scalar-32bytes"))
	if err != nil {
		panic(err)
	}
	k, _ := keys.NewPrivateKey(priv)
	is, err := issuer.New(issuer.Config{
		Iss:       "https://lab.example.org",
		Keys:      issuer.StaticKeys{Signer: k},
		Store:     memstore.New(),
		RIDSecret: "example-rid-secret-with-at-least-32-chars",
		Now:       func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[
	 {"fullUrl":"urn:uuid:p","resource":{"resourceType":"Patient","id":"p1","name":[{"family":"Anyperson","given":["John"]}],"birthDate":"1951-01-20"}},
	 {"fullUrl":"urn:uuid:o","resource":{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94558-4"}]},"subject":{"reference":"urn:uuid:p"},"effectiveDateTime":"2026-02-01","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}]}}},
	 {"fullUrl":"urn:uuid:i","resource":{"resourceType":"Immunization","id":"i1","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"207"}]},"patient":{"reference":"urn:uuid:p"},"occurrenceDateTime":"2021-01-01"}}]}`
	cards, err := is.IssueBundle(context.Background(), []byte(bundle), issuer.IssueOptions{Actor: "example"})
	if err != nil {
		panic(err)
	}
	for _, c := range cards {
		card, _ := shc.Parse(c.JWS)
		if err := card.VerifySignature(&priv.PublicKey); err != nil {
			panic(err)
		}
		p := card.UnsafePayloadWithoutVerification()
		fmt.Println(strings.Join(c.Types, "+"), "rid", c.RID, "nbf", p.NotBefore.Time().Format(time.RFC3339), "qr", strings.HasPrefix(c.QR[0], "shc:/"))
	}
	// Output:
	// Immunization+Patient rid H0EXWJomLKs nbf 2026-03-01T12:00:00Z qr true
	// Observation+Patient rid H0EXWJomLKs nbf 2026-03-01T12:00:00Z qr true
}
