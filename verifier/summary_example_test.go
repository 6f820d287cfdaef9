package verifier_test

import (
	"fmt"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/verifier"
)

// Summarize a bundle the caller already trusts (here the sample lab
// result), as the issuer's printable page does for its own cards: the same
// names Verify puts in Result.Summary.
func ExampleSummarize() {
	s, err := verifier.Summarize(bundles.LabCovidPCR)
	if err != nil {
		fmt.Println(err)
		return
	}
	lr := s.LabResults[0]
	fmt.Println(lr.Text())
	fmt.Println(lr.Performer)
	// Output:
	// SARS-CoV-2 RNA Resp Ql NAA+probe (LOINC 94500-6): Not detected
	// Example Reference Laboratory
}
