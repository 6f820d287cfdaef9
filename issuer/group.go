package issuer

import (
	"sort"
	"time"

	"github.com/healthcards/healthcards/terminology"
)

// CVX and LOINC code systems (terminology.SystemCVX, terminology.SystemLOINC).
const (
	SystemCVX   = terminology.SystemCVX
	SystemLOINC = terminology.SystemLOINC
)

// DiseaseOfCVX returns the disease group of a CVX code ("covid-19",
// "influenza", ...; the vaccine groups of package terminology), or "" if the
// code is in none. Immunizations for different diseases go on separate
// cards (PAY-10).
func DiseaseOfCVX(code string) string {
	return terminology.VaccineDisease(code)
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
			return "cvx:" + terminology.NormalizeCVX(c.Code)
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
