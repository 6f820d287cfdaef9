package issuer

import (
	"sort"
	"strings"
	"time"
)

// CVX and LOINC code systems.
const (
	SystemCVX   = "http://hl7.org/fhir/sid/cvx"
	SystemLOINC = "http://loinc.org"
)

// cvxDisease maps CVX vaccine codes to the disease a card groups them
// under (PAY-10: immunizations for different diseases go on separate
// cards). Codes are without leading zeros. Combination vaccines and codes
// missing here are grouped by their own code.
var cvxDisease = func() map[string]string {
	m := map[string]string{}
	add := func(disease string, codes ...string) {
		for _, c := range codes {
			m[c] = disease
		}
	}
	add("covid-19", "207", "208", "210", "211", "212", "213", "217", "218", "219", "221", "225", "226", "227", "228",
		"229", "230", "300", "301", "302", "308", "309", "310", "311", "312", "313", "500", "501", "502", "503",
		"504", "505", "506", "507", "508", "509", "510", "511", "512", "513", "514", "515", "516", "517", "518", "519")
	add("influenza", "15", "16", "88", "111", "125", "126", "127", "128", "135", "140", "141", "144", "149", "150", "151",
		"153", "155", "158", "160", "161", "166", "168", "171", "185", "186", "194", "197", "200", "201", "202", "205", "231", "320")
	add("orthopoxvirus", "75", "105", "206")
	add("hepatitis-b", "8", "42", "43", "44", "45", "189", "220")
	add("hepatitis-a", "31", "52", "83", "84", "85")
	add("measles-mumps-rubella", "3", "4", "5", "6", "7", "38", "94")
	add("varicella", "21")
	add("zoster", "121", "187", "188")
	add("hpv", "62", "118", "137", "165")
	add("tetanus-diphtheria-pertussis", "1", "9", "11", "20", "22", "28", "35", "106", "107", "110", "112", "113", "115",
		"120", "130", "132", "138", "139", "142", "146", "170", "195", "196")
	add("polio", "2", "10", "89")
	add("pneumococcal", "33", "100", "109", "133", "152", "215", "216", "327")
	add("meningococcal", "32", "103", "108", "114", "136", "147", "148", "162", "163", "164", "167", "203", "316", "328")
	add("rsv", "303", "304", "305", "306", "307")
	add("rabies", "18", "40", "90", "175", "176")
	add("typhoid", "25", "41", "53", "91", "101", "190")
	add("yellow-fever", "37", "183", "184")
	add("japanese-encephalitis", "39", "129", "134")
	add("rotavirus", "74", "116", "119", "122")
	add("hib", "17", "46", "47", "48", "49", "148")
	add("dengue", "56")
	add("ebola", "204", "214")
	add("cholera", "26", "173", "174")
	return m
}()

// DiseaseOfCVX returns the disease group of a CVX code ("covid-19",
// "influenza", ...), or "" if the code is not in the table.
func DiseaseOfCVX(code string) string {
	return cvxDisease[normCVX(code)]
}

func normCVX(code string) string {
	c := strings.TrimLeft(strings.TrimSpace(code), "0")
	if c == "" && code != "" {
		return "0"
	}
	return c
}

// group is the content of one card: resources that belong together.
type group struct {
	Kind      string // "lab" or "immunization"
	Key       string // disease or event key, for ordering
	Resources []*resource
	// Support holds the supporting resources (SupportingTypes) the group's
	// resources reference, directly or through each other, in bundle order.
	Support []*resource
	Date    time.Time // latest date in the group
}

func (g *group) types() []string {
	set := map[string]bool{TypePatient: true}
	for _, r := range g.Resources {
		set[r.Type] = true
	}
	for _, r := range g.Support {
		set[r.Type] = true
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// immunizationKey is the disease group of an Immunization: the mapped
// disease of its first CVX coding, else "code:<system>|<code>" of its first
// coding, else "unknown".
func immunizationKey(r *resource) string {
	for _, c := range r.Codings {
		if c.System == SystemCVX {
			if d := DiseaseOfCVX(c.Code); d != "" {
				return d
			}
			return "cvx:" + normCVX(c.Code)
		}
	}
	if len(r.Codings) > 0 {
		return "code:" + r.Codings[0].System + "|" + r.Codings[0].Code
	}
	return "unknown"
}

// splitGranular splits a patient's resources into cards (PAY-10):
//   - every DiagnosticReport is one lab test event: the report plus the
//     Observations it lists in result (and their hasMember members);
//   - every other top-level Observation (one not listed by a report or by
//     another Observation's hasMember) is one event with its members;
//   - Immunizations are grouped per disease (CVX → disease table; unknown
//     codes grouped by code);
//   - labs and immunizations never share a card.
//
// Groups are ordered by date, then kind and key.
func splitGranular(res []*resource) []*group {
	ix := refIndex{}
	for i, r := range res {
		ix.add(i, r.FullURL, r.Type, r.ID)
	}
	member := make([]bool, len(res))
	for _, r := range res {
		if r.Type != TypeDiagnosticReport && r.Type != TypeObservation {
			continue
		}
		for _, ref := range r.Results {
			if j, ok := ix.lookup(ref); ok && res[j].Type == TypeObservation && res[j] != r {
				member[j] = true
			}
		}
	}
	var groups []*group
	// collect adds r and its members (transitively, each once) to g.
	var collect func(g *group, r *resource, seen map[*resource]bool)
	collect = func(g *group, r *resource, seen map[*resource]bool) {
		if seen[r] {
			return
		}
		seen[r] = true
		g.Resources = append(g.Resources, r)
		if r.Date.After(g.Date) {
			g.Date = r.Date
		}
		for _, ref := range r.Results {
			if j, ok := ix.lookup(ref); ok && res[j].Type == TypeObservation {
				collect(g, res[j], seen)
			}
		}
	}
	byDisease := map[string]*group{}
	for i, r := range res {
		switch r.Type {
		case TypeDiagnosticReport:
			g := &group{Kind: "lab", Key: r.Type + "/" + r.ID}
			collect(g, r, map[*resource]bool{})
			groups = append(groups, g)
		case TypeObservation:
			if member[i] {
				continue
			}
			g := &group{Kind: "lab", Key: r.Type + "/" + r.ID}
			collect(g, r, map[*resource]bool{})
			groups = append(groups, g)
		case TypeImmunization:
			k := immunizationKey(r)
			g := byDisease[k]
			if g == nil {
				g = &group{Kind: "immunization", Key: k}
				byDisease[k] = g
				groups = append(groups, g)
			}
			g.Resources = append(g.Resources, r)
			if r.Date.After(g.Date) {
				g.Date = r.Date
			}
		}
	}
	for _, g := range groups {
		if g.Kind == "immunization" {
			sort.SliceStable(g.Resources, func(i, j int) bool { return g.Resources[i].Date.Before(g.Resources[j].Date) })
		}
	}
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if !a.Date.Equal(b.Date) {
			return a.Date.Before(b.Date)
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Key < b.Key
	})
	return groups
}

// attachSupporting gives every group the supporting resources its content
// references, following references between supporting resources
// (PractitionerRole → Organization, Specimen → Device, ...) transitively.
// A supporting resource no group references goes on no card.
func attachSupporting(groups []*group, support []*resource) {
	if len(support) == 0 {
		return
	}
	ix := refIndex{}
	for i, r := range support {
		ix.add(i, r.FullURL, r.Type, r.ID)
	}
	for _, g := range groups {
		in := make([]bool, len(support))
		var visit func(refs []string)
		visit = func(refs []string) {
			for _, ref := range refs {
				j, ok := ix.lookup(ref)
				if !ok || in[j] {
					continue
				}
				in[j] = true
				visit(support[j].Refs)
			}
		}
		for _, r := range g.Resources {
			visit(r.Refs)
		}
		g.Support = g.Support[:0]
		for j, ok := range in {
			if ok {
				g.Support = append(g.Support, support[j])
			}
		}
	}
}
