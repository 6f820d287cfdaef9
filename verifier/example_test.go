package verifier_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/verifier"
)

// Verify a lab-result card offline against the issuer's published key set,
// as a venue's app would after scanning its QR code.
func Example() {
	// The issuer side, for the example: a key and a card.
	raw, _ := keys.Generate()
	key, _ := keys.NewPrivateKey(raw)
	bundle, _ := shc.Minify(bundles.LabCovidPCR)
	issued := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	jws, _ := shc.Sign(key, shc.NewPayload("https://lab.example.org", issued, bundle))
	qrText, _ := shc.EncodeQRText(jws)
	jwks, _ := json.Marshal(keys.JWKS{Keys: []keys.JWK{key.PublicJWK()}})

	// The verifier: built once, trust configured, clock injected.
	v, err := verifier.New(
		verifier.WithStaticKeys("https://lab.example.org", jwks),
		verifier.WithOffline(),
		verifier.WithClock(func() time.Time { return issued.Add(24 * time.Hour) }),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	results, err := v.Verify(context.Background(), []byte(qrText))
	if err != nil {
		fmt.Println(err)
		return
	}
	r := results[0]
	fmt.Println(r.Verdict, r.Issuer)
	fmt.Println(r.Summary.Patient.Name, r.Summary.Patient.BirthDate)
	fmt.Println(r.Summary.LabResults[0].Test.Name+":", r.Summary.LabResults[0].Value)
	// Output:
	// verified https://lab.example.org
	// Maria Elena Garcia 1984-07-15
	// SARS-CoV-2 RNA Resp Ql NAA+probe: Not detected
}

// A card whose issuer is in no trust source is never "verified".
func Example_untrusted() {
	raw, _ := keys.Generate()
	key, _ := keys.NewPrivateKey(raw)
	bundle, _ := shc.Minify(bundles.ImmunizationsCOVID)
	jws, _ := shc.Sign(key, shc.NewPayload("https://unknown.example", time.Now(), bundle))

	v, _ := verifier.New(verifier.WithTrustedIssuers("https://lab.example.org"), verifier.WithOffline())
	results, _ := v.Verify(context.Background(), []byte(jws))
	fmt.Println(results[0].Verdict, results[0].Errors[0].Code)
	// Output: issuer_not_trusted untrusted_issuer
}
