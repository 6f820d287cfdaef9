// Command issue-and-verify shows the library round trip an app developer
// needs: sign a lab-result card with a P-256 key, render it as a QR image,
// read the image back and verify the card against the issuer's key set with
// the embeddable verifier.
//
//	go run ./examples/issue-and-verify
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/verifier"
)

func main() {
	const iss = "https://lab.example.org"

	// The issuer's key. In production: keys.ReadPrivateFile, a keys.Ring or keys/pkcs11.
	raw, err := keys.Generate()
	if err != nil {
		log.Fatal(err)
	}
	key, err := keys.NewPrivateKey(raw)
	if err != nil {
		log.Fatal(err)
	}

	// Minify the lab's bundle for a QR (MIN-1..7) and sign it (ES256, zip DEF, kid = thumbprint).
	bundle, err := shc.Minify(bundles.LabCovidPCR)
	if err != nil {
		log.Fatal(err)
	}
	jws, err := shc.Sign(key, shc.NewPayload(iss, time.Now(), bundle))
	if err != nil {
		log.Fatal(err)
	}

	// The QR: byte segment "shc:/" + numeric segment, smallest version that fits.
	text, err := shc.EncodeQRText(jws)
	if err != nil {
		log.Fatal(err)
	}
	code, err := qr.Encode(text)
	if err != nil {
		log.Fatal(err)
	}
	var png bytes.Buffer
	if err := code.PNG(&png, 4); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("card: %d JWS characters, QR version %d, PNG %d bytes\n", len(jws), code.Version(), png.Len())

	// A venue's verifier trusts this issuer with exactly its published key set.
	jwks, _ := json.Marshal(keys.JWKS{Keys: []keys.JWK{key.PublicJWK()}})
	v, err := verifier.New(verifier.WithStaticKeys(iss, jwks), verifier.WithOffline())
	if err != nil {
		log.Fatal(err)
	}
	scanned, err := qr.DecodeBytes(png.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	results, err := v.Verify(context.Background(), []byte(scanned))
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		fmt.Printf("verdict: %s\n", r.Verdict)
		if r.Summary != nil && r.Summary.Patient != nil {
			fmt.Printf("patient: %s (born %s)\n", r.Summary.Patient.Name, r.Summary.Patient.BirthDate)
		}
		for _, l := range r.Summary.LabResults {
			fmt.Printf("lab:     %s — %s\n", l.Test.Name, l.Value)
		}
	}
}
