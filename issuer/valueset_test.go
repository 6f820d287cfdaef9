package issuer

import (
	"sort"
	"strings"
	"testing"
)

// The value sets keep the members they had before the codes moved to
// package terminology, with one correction: the RdRp test is LOINC 94534-5
// (the old list had 94534-9, which fails LOINC's check digit).
func TestKnownValueSetsMembers(t *testing.T) {
	covidCVX := "207 208 210 211 212 213 217 218 219 221 225 226 227 228 229 230 300 301 302 308 309 310 311 312 313 " +
		"500 501 502 503 504 505 506 507 508 509 510 511 512 513 514 515 516 517 518 519"
	covidLab := "94309-2 94500-6 94502-2 94531-1 94533-7 94534-5 94558-4 94559-2 94565-9 94756-4 94757-2 94759-8 94760-6 " +
		"94845-5 95209-3 95406-5 95409-9 95423-0 95424-8 95425-5 95608-6 95609-4 96094-8 96119-3 96120-1 96121-9 " +
		"96122-7 96123-5 96448-6 96986-5 97097-0 97099-6"
	want := map[string]string{
		"immunization-covid-cvx":         covidCVX,
		"immunization-covid-all":         covidCVX,
		"immunization-orthopoxvirus-all": "75 105 206",
		"immunization-orthopoxvirus-cvx": "75 105 206",
		"lab-qualitative-test-covid":     covidLab,
		"lab-test-covid":                 covidLab,
	}
	if len(KnownValueSets) != len(want) {
		t.Errorf("%d value sets, want %d", len(KnownValueSets), len(want))
	}
	for name, codes := range want {
		v := KnownValueSets["https://terminology.smarthealth.cards/ValueSet/"+name]
		if v == nil {
			t.Errorf("%s missing", name)
			continue
		}
		var got []string
		for c := range v.Codes {
			got = append(got, c.Code)
		}
		w := strings.Fields(codes)
		sort.Strings(got)
		sort.Strings(w)
		if strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("%s = %v, want %v", name, got, w)
		}
	}
	if !KnownValueSets["https://terminology.smarthealth.cards/ValueSet/immunization-covid-cvx"].has(Coding{System: SystemCVX, Code: "0207"}) {
		t.Error("CVX with a leading zero not matched")
	}
}
