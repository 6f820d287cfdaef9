package issuer

import "github.com/healthcards/healthcards/terminology"

// ValueSet is a set of codes the issuer can test Observation.code and
// Immunization.vaccineCode against (OP-7).
type ValueSet struct {
	URL   string
	Codes map[Coding]bool
}

func (v *ValueSet) has(c Coding) bool {
	if c.System == SystemCVX {
		c.Code = terminology.NormalizeCVX(c.Code)
	}
	return v.Codes[c]
}

// newValueSet is the value set of the codes in any of groups.
func newValueSet(url string, groups ...terminology.Group) *ValueSet {
	v := &ValueSet{URL: url, Codes: map[Coding]bool{}}
	for _, g := range groups {
		for _, c := range terminology.Members(g) {
			v.Codes[Coding{System: c.System, Code: c.Code}] = true
		}
	}
	return v
}

// KnownValueSets are the value sets this issuer understands, keyed by
// canonical URL. They are small, fixed extracts of the SMART Health Cards
// terminology value sets (https://terminology.smarthealth.cards), drawn from
// the groups of package terminology; a credentialValueSet not listed here
// matches nothing (OP-7: content must come from every supplied value set,
// and the issuer cannot show that for a value set it does not know).
var KnownValueSets = func() map[string]*ValueSet {
	const base = "https://terminology.smarthealth.cards/ValueSet/"
	m := map[string]*ValueSet{}
	for _, v := range []*ValueSet{
		newValueSet(base+"immunization-covid-cvx", terminology.VaccineCOVID19),
		newValueSet(base+"immunization-covid-all", terminology.VaccineCOVID19),
		newValueSet(base+"immunization-orthopoxvirus-all", terminology.VaccineOrthopoxvirus),
		newValueSet(base+"immunization-orthopoxvirus-cvx", terminology.VaccineOrthopoxvirus),
		// SARS-CoV-2 RNA and antigen detection tests (qualitative).
		newValueSet(base+"lab-qualitative-test-covid", terminology.COVID19Molecular, terminology.COVID19Antigen),
		newValueSet(base+"lab-test-covid", terminology.COVID19Molecular, terminology.COVID19Antigen),
	} {
		m[v.URL] = v
	}
	return m
}()

// groupInValueSet reports whether some Observation or Immunization of g has
// a code (Observation.code, Immunization.vaccineCode) in v.
func groupInValueSet(g *group, v *ValueSet) bool {
	for _, r := range g.Resources {
		if r.Type != TypeObservation && r.Type != TypeImmunization {
			continue
		}
		for _, c := range r.Codings {
			if v.has(c) {
				return true
			}
		}
	}
	return false
}
