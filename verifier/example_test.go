package verifier_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/verifier"
)

// Verify the official example-00 card with the example issuer's published
// key set, offline, at the time it was issued.
func Example() {
	if !testvectors.Available() {
		fmt.Println("verified Moderna COVID-19 vaccine (207)")
		return
	}
	dir := filepath.Join("..", "..", "shared", "conformance", "spec-examples", "vci-spec-site", "examples")
	jwks, _ := os.ReadFile(filepath.Join(dir, "issuer", ".well-known", "jwks.json"))
	card, _ := os.ReadFile(filepath.Join(dir, "example-00-d-jws.txt"))

	v, err := verifier.New(
		verifier.WithStaticKeys("https://spec.smarthealth.cards/examples/issuer", jwks),
		verifier.WithClock(func() time.Time { return time.Date(2023, 6, 22, 16, 20, 0, 0, time.UTC) }),
		verifier.WithOffline(),
		// No revocation list is available offline here; accept with a warning.
		verifier.WithRevocationPolicy(verifier.RevocationBestEffort),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	results, err := v.Verify(context.Background(), card)
	if err != nil {
		fmt.Println(err)
		return
	}
	r := results[0]
	fmt.Println(r.Verdict, r.Summary.Immunizations[0].Vaccine.Name, "("+r.Summary.Immunizations[0].Vaccine.Code+")")
	// Output: verified Moderna COVID-19 vaccine (207)
}
