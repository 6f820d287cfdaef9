package shc_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/healthcards/healthcards/shc"
)

func Example() {
	bundle := []byte(`{"resourceType":"Bundle","id":"lab-1","type":"collection","entry":[
	  {"fullUrl":"urn:uuid:p","resource":{"resourceType":"Patient","id":"p","name":[{"family":"Doe","given":["Jane"]}],"birthDate":"1980-02-03"}},
	  {"fullUrl":"urn:uuid:o","resource":{"resourceType":"Observation","id":"o","status":"final",
	    "code":{"coding":[{"system":"http://loinc.org","code":"94500-6","display":"SARS-CoV-2 RNA"}]},
	    "subject":{"reference":"urn:uuid:p"},"effectiveDateTime":"2026-11-20",
	    "valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}]}}}]}`)

	// Minify for a QR-bound card (MIN-1..7).
	minified, err := shc.Minify(bundle)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(minified[:69]))

	// Sign with any crypto.Signer holding a P-256 key.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	payload := shc.NewPayload("https://lab.example.org", time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC), minified)
	jws, err := shc.Sign(key, payload)
	if err != nil {
		panic(err)
	}

	// Encode as the shc:/ text of a QR code, and back.
	text, _ := shc.EncodeQRText(jws)
	decoded, _ := shc.DecodeQRText(text)

	// Parse (structure only) and check the signature with a key of your choosing.
	card, err := shc.Parse(decoded)
	if err != nil {
		panic(err)
	}
	fmt.Println(card.Issuer(), card.VerifySignature(&key.PublicKey) == nil)
	// Output:
	// {"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"res
	// https://lab.example.org true
}

func ExampleParse_refused() {
	_, err := shc.Parse("eyJ6aXAiOiJERUYiLCJhbGciOiJub25lIiwia2lkIjoiayJ9.AAAA.AAAA")
	fmt.Println(shc.CodeOf(err))
	// Output: unsupported_alg
}
