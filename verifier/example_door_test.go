package verifier_test

import (
	"fmt"

	"github.com/healthcards/healthcards/verifier"
)

// What a door shows for a failure: the verdict decided from the code, and
// one line telling staff what to do.
func ExampleVerdictFor() {
	for _, code := range []verifier.Code{verifier.CodeRevoked, verifier.CodeNoQRFound, verifier.CodeIssuerUnreachable} {
		fmt.Printf("%s: %s. %s\n", code, verifier.VerdictFor(code), verifier.AdviceFor(code))
	}
	// Output:
	// revoked: invalid. Do not accept this card: its issuer has withdrawn it.
	// no_qr_found: unable_to_check. Ask the visitor to brighten the screen and scan again.
	// issuer_unreachable: unable_to_check. Check your connection and try again.
}

// A venue's entry rule, read strictly; pass it to New with WithEntryRules
// and every verified card's Result.Entry says whether it is met.
func ExampleParseEntryRules() {
	rule, err := verifier.ParseEntryRules([]byte(`{
	  "name": "Negative COVID-19 test within 72 hours, or 2 vaccine doses",
	  "anyOf": [
	    {"negativeTest": {"tests": ["lab:covid-19-molecular", "lab:covid-19-antigen"], "within": "72h"}},
	    {"vaccination": {"vaccines": ["vaccine:covid-19"], "minDoses": 2, "minDaysSinceLastDose": 14}}
	  ]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rule.Name, len(rule.AnyOf))
	_, err = verifier.ParseEntryRules([]byte(`{"name": "x", "anyOf": [{"negativeTest": {"tests": ["lab:covid-19-antigen"], "within": "3 days"}}]}`))
	fmt.Println(err != nil)
	// Output:
	// Negative COVID-19 test within 72 hours, or 2 vaccine doses 2
	// true
}
