package terminology

import "strings"

// Code systems, as FHIR Coding.system writes them.
const (
	SystemCVX    = "http://hl7.org/fhir/sid/cvx"
	SystemLOINC  = "http://loinc.org"
	SystemSNOMED = "http://snomed.info/sct"
)

// Group names a set of codes: a lab test group ("lab:...") or the vaccines
// against one disease ("vaccine:<disease>").
type Group string

// Lab test groups: COVID19Molecular is SARS-CoV-2 RNA detection by nucleic
// acid amplification (PCR and other NAA) or sequencing; COVID19Antigen,
// antigen detection (rapid tests); COVID19Antibody, antibodies to
// SARS-CoV-2 (serology); InfluenzaA and InfluenzaB, influenza virus A or B
// detection. A panel is in every group it tests for.
const (
	COVID19Molecular, COVID19Antigen, COVID19Antibody Group = "lab:covid-19-molecular", "lab:covid-19-antigen", "lab:covid-19-antibody"
	InfluenzaA, InfluenzaB                            Group = "lab:influenza-a", "lab:influenza-b"
)

const vaccinePrefix = "vaccine:"

// Vaccine groups used by name in this module; VaccineGroup gives any.
const (
	VaccineCOVID19       Group = vaccinePrefix + "covid-19"
	VaccineInfluenza     Group = vaccinePrefix + "influenza"
	VaccineOrthopoxvirus Group = vaccinePrefix + "orthopoxvirus"
)

// VaccineGroup returns the group of the vaccines against disease
// ("covid-19", "influenza", ...).
func VaccineGroup(disease string) Group { return Group(vaccinePrefix + disease) }

// Disease returns the disease of a vaccine group, or "" for a lab group.
func (g Group) Disease() string {
	d, ok := strings.CutPrefix(string(g), vaccinePrefix)
	if !ok {
		return ""
	}
	return d
}

// Concept is one code of the table.
type Concept struct {
	System  string
	Code    string
	Display string
	Groups  []Group
}

// In reports whether c belongs to g.
func (c Concept) In(g Group) bool {
	for _, x := range c.Groups {
		if x == g {
			return true
		}
	}
	return false
}

type key struct{ system, code string }

var (
	index   = map[key]int{}
	byGroup = map[Group][]int{}
	groups  []Group // in order of first appearance
)

func init() {
	for i, c := range table {
		k := key{c.System, c.Code}
		if _, dup := index[k]; dup {
			panic("terminology: duplicate code " + c.System + "|" + c.Code)
		}
		index[k] = i
		for _, g := range c.Groups {
			if _, seen := byGroup[g]; !seen {
				groups = append(groups, g)
			}
			byGroup[g] = append(byGroup[g], i)
		}
	}
}

// NormalizeCVX returns a CVX code without surrounding space and leading
// zeros ("08" → "8"; "0" and "00" → "0").
func NormalizeCVX(code string) string {
	c := strings.TrimLeft(strings.TrimSpace(code), "0")
	if c == "" && code != "" {
		return "0"
	}
	return c
}

func find(system, code string) (int, bool) {
	if system == SystemCVX {
		code = NormalizeCVX(code)
	}
	i, ok := index[key{system, code}]
	return i, ok
}

// Lookup returns the concept of a code (CVX codes normalized).
func Lookup(system, code string) (Concept, bool) {
	i, ok := find(system, code)
	if !ok {
		return Concept{}, false
	}
	return table[i].clone(), true
}

// Display returns the name of a code, or "" when the table lacks it.
func Display(system, code string) string {
	if i, ok := find(system, code); ok {
		return table[i].Display
	}
	return ""
}

// InGroup reports whether a code belongs to g.
func InGroup(system, code string, g Group) bool {
	i, ok := find(system, code)
	return ok && table[i].In(g)
}

// Members returns the concepts of g in table order (nil for an unknown
// group): a test or vaccine picker's list.
func Members(g Group) []Concept {
	ix := byGroup[g]
	if ix == nil {
		return nil
	}
	out := make([]Concept, len(ix))
	for j, i := range ix {
		out[j] = table[i].clone()
	}
	return out
}

// Groups returns every group of the table, lab groups first, in table order.
func Groups() []Group { return append([]Group(nil), groups...) }

// All returns every concept of the table, in table order.
func All() []Concept {
	out := make([]Concept, len(table))
	for i := range table {
		out[i] = table[i].clone()
	}
	return out
}

// VaccineDisease returns the disease group of a CVX code ("covid-19",
// "influenza", ...), or "" when the code is in no vaccine group.
func VaccineDisease(cvx string) string {
	i, ok := find(SystemCVX, cvx)
	if !ok {
		return ""
	}
	for _, g := range table[i].Groups {
		if d := g.Disease(); d != "" {
			return d
		}
	}
	return ""
}

// SystemName returns the short name of a code system ("LOINC", "CVX",
// "SNOMED CT"), or "" for another system.
func SystemName(system string) string {
	switch system {
	case SystemCVX:
		return "CVX"
	case SystemLOINC:
		return "LOINC"
	case SystemSNOMED:
		return "SNOMED CT"
	}
	return ""
}

func (c Concept) clone() Concept {
	c.Groups = append([]Group(nil), c.Groups...)
	return c
}
