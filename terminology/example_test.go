package terminology_test

import (
	"fmt"

	"github.com/healthcards/healthcards/terminology"
)

// Name a code from a minimized card, which carries no display text.
func ExampleDisplay() {
	fmt.Println(terminology.Display(terminology.SystemLOINC, "94500-6"))
	fmt.Println(terminology.Display(terminology.SystemCVX, "208"))
	fmt.Println(terminology.VaccineDisease("208"))
	// Output:
	// SARS-CoV-2 RNA Resp Ql NAA+probe
	// COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose
	// covid-19
}

// A lab desk's test picker: the antigen tests for COVID-19.
func ExampleMembers() {
	for _, c := range terminology.Members(terminology.COVID19Antigen) {
		fmt.Println(c.Code, c.Display)
	}
	// Output:
	// 94558-4 SARS-CoV-2 Ag Resp Ql IA.rapid
	// 95209-3 SARS-CoV+SARS-CoV-2 Ag Resp Ql IA.rapid
	// 96119-3 SARS-CoV-2 (COVID-19) Ag [Presence] in Upper respiratory specimen by Immunoassay
	// 97097-0 SARS-CoV-2 Ag Upper resp Ql IA.rapid
	// 97099-6 Influenza virus A and B and SARS-CoV-2 (COVID-19) Ag panel - Upper respiratory specimen by Rapid immunoassay
}
