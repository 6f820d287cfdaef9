package issuer

// ValueSet is a set of codes the issuer can test Observation.code and
// Immunization.vaccineCode against (OP-7).
type ValueSet struct {
	URL   string
	Codes map[Coding]bool
}

func (v *ValueSet) has(c Coding) bool {
	if c.System == SystemCVX {
		c.Code = normCVX(c.Code)
	}
	return v.Codes[c]
}

func newValueSet(url, system string, codes ...string) *ValueSet {
	v := &ValueSet{URL: url, Codes: map[Coding]bool{}}
	for _, c := range codes {
		if system == SystemCVX {
			c = normCVX(c)
		}
		v.Codes[Coding{System: system, Code: c}] = true
	}
	return v
}

// KnownValueSets are the value sets this issuer understands, keyed by
// canonical URL. They are small, fixed extracts of the SMART Health Cards
// terminology value sets (https://terminology.smarthealth.cards); a
// credentialValueSet not listed here matches nothing (OP-7: content must
// come from every supplied value set, and the issuer cannot show that for a
// value set it does not know).
var KnownValueSets = func() map[string]*ValueSet {
	m := map[string]*ValueSet{}
	for _, v := range []*ValueSet{
		newValueSet("https://terminology.smarthealth.cards/ValueSet/immunization-covid-cvx", SystemCVX, covidCVX...),
		newValueSet("https://terminology.smarthealth.cards/ValueSet/immunization-covid-all", SystemCVX, covidCVX...),
		newValueSet("https://terminology.smarthealth.cards/ValueSet/immunization-orthopoxvirus-all", SystemCVX, "75", "105", "206"),
		newValueSet("https://terminology.smarthealth.cards/ValueSet/immunization-orthopoxvirus-cvx", SystemCVX, "75", "105", "206"),
		newValueSet("https://terminology.smarthealth.cards/ValueSet/lab-qualitative-test-covid", SystemLOINC, covidLabLOINC...),
		newValueSet("https://terminology.smarthealth.cards/ValueSet/lab-test-covid", SystemLOINC, covidLabLOINC...),
	} {
		m[v.URL] = v
	}
	return m
}()

var covidCVX = []string{"207", "208", "210", "211", "212", "213", "217", "218", "219", "221", "225", "226", "227",
	"228", "229", "230", "300", "301", "302", "308", "309", "310", "311", "312", "313", "500", "501", "502", "503",
	"504", "505", "506", "507", "508", "509", "510", "511", "512", "513", "514", "515", "516", "517", "518", "519"}

// SARS-CoV-2 RNA/antigen detection tests (qualitative), a subset.
var covidLabLOINC = []string{"94309-2", "94500-6", "94502-2", "94531-1", "94533-7", "94534-9", "94558-4", "94559-2",
	"94565-9", "94756-4", "94757-2", "94759-8", "94760-6", "94845-5", "95209-3", "95406-5", "95409-9", "95423-0",
	"95424-8", "95425-5", "95608-6", "95609-4", "96094-8", "96119-3", "96120-1", "96121-9", "96122-7", "96123-5",
	"96448-6", "96986-5", "97097-0", "97099-6"}

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
