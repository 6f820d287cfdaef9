package verifier

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Summary is a human-readable digest of a verified FHIR bundle: who the
// card is about and what it attests. It is derived from the signed bundle
// only; codes the package does not know are shown as their code.
type Summary struct {
	Patient       *Patient       `json:"patient,omitempty"`
	Immunizations []Immunization `json:"immunizations,omitempty"`
	LabResults    []LabResult    `json:"labResults,omitempty"`
	// Other counts the bundle's remaining resources by resourceType.
	Other map[string]int `json:"other,omitempty"`
}

// Patient is the subject of the card.
type Patient struct {
	Name      string `json:"name"`
	BirthDate string `json:"birthDate,omitempty"`
}

// Coding is a code with its system and, when known, a readable name.
type Coding struct {
	System string `json:"system,omitempty"`
	Code   string `json:"code"`
	Name   string `json:"name,omitempty"` // from this package's small tables; empty when unknown
}

// Immunization is one dose.
type Immunization struct {
	Vaccine   Coding `json:"vaccine"`
	Date      string `json:"date,omitempty"` // occurrenceDateTime (or occurrenceString)
	Status    string `json:"status,omitempty"`
	Lot       string `json:"lotNumber,omitempty"`
	Performer string `json:"performer,omitempty"`
}

// LabResult is one Observation.
type LabResult struct {
	Test      Coding `json:"test"`
	Value     string `json:"value,omitempty"` // valueCodeableConcept (named), valueQuantity or valueString
	Date      string `json:"date,omitempty"`  // effectiveDateTime
	Status    string `json:"status,omitempty"`
	Performer string `json:"performer,omitempty"`
}

// FHIR shapes read for the summary: only the members shown, decoded once.
type fhirRef struct {
	Reference string `json:"reference"`
	Display   string `json:"display"`
}

type fhirCoding struct {
	System  string          `json:"system"`
	Code    string          `json:"code"`
	Display json.RawMessage `json:"display"`
}

type fhirConcept struct {
	Coding []fhirCoding    `json:"coding"`
	Text   json.RawMessage `json:"text"`
}

type fhirResource struct {
	ResourceType string          `json:"resourceType"`
	ID           json.RawMessage `json:"id"`
	Meta         *struct {
		Security json.RawMessage `json:"security"`
		Other    json.RawMessage `json:"profile"`
	} `json:"meta"`
	Text json.RawMessage `json:"text"`
	// Patient
	Name []struct {
		Family string   `json:"family"`
		Given  []string `json:"given"`
		Text   string   `json:"text"`
	} `json:"name"`
	BirthDate string `json:"birthDate"`
	// Immunization and Observation
	Status             string       `json:"status"`
	VaccineCode        *fhirConcept `json:"vaccineCode"`
	OccurrenceDateTime string       `json:"occurrenceDateTime"`
	OccurrenceString   string       `json:"occurrenceString"`
	LotNumber          string       `json:"lotNumber"`
	Performer          []struct {
		Actor *fhirRef `json:"actor"`
		fhirRef
	} `json:"performer"`
	Patient              *fhirRef     `json:"patient"`
	Subject              *fhirRef     `json:"subject"`
	Code                 *fhirConcept `json:"code"`
	ValueCodeableConcept *fhirConcept `json:"valueCodeableConcept"`
	ValueQuantity        *struct {
		Value json.Number `json:"value"`
		Unit  string      `json:"unit"`
		Code  string      `json:"code"`
	} `json:"valueQuantity"`
	ValueString       string `json:"valueString"`
	EffectiveDateTime string `json:"effectiveDateTime"`

	// orgName is Organization.name (a string, unlike the HumanName list
	// above), filled by the decoders for Organization entries.
	orgName string
}

type fhirBundle struct {
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

// maxSummaryEntries bounds the entries summarized.
const maxSummaryEntries = 500

// summarize builds the Summary of a verified bundle and reports QR
// minimization issues (MIN-1..7) as warnings only (MIN-9): a card meant for
// file or link delivery need not be minimized. It never fails: anything it
// does not understand is counted under Other or shown by its code.
func summarize(bundle []byte) (*Summary, []string) {
	d, ok := decodeBundleFast(bundle)
	if !ok {
		var err error
		if d, err = decodeBundleReference(bundle); err != nil {
			return nil, []string{"FHIR bundle could not be summarized: " + err.Error()}
		}
	}
	s := &Summary{}
	var min minIssues
	for _, u := range d.fullURLs {
		if !strings.HasPrefix(u, "resource:") {
			min.fullURL++
		}
	}
	res, orgs := d.res, d.orgs
	performer := func(r *fhirRef) string {
		if r == nil {
			return ""
		}
		if r.Reference != "" && !strings.HasPrefix(r.Reference, "resource:") {
			min.refs++
		}
		if r.Display != "" {
			return r.Display
		}
		return orgs[r.Reference]
	}
	for i := range res {
		r := &res[i]
		min.resource(r)
		switch r.ResourceType {
		case "Patient":
			if s.Patient == nil {
				s.Patient = &Patient{Name: patientName(r), BirthDate: r.BirthDate}
			}
		case "Immunization":
			im := Immunization{Vaccine: pickCoding(r.VaccineCode, vaccineNames, &min), Date: r.OccurrenceDateTime, Status: r.Status, Lot: r.LotNumber}
			if im.Date == "" {
				im.Date = r.OccurrenceString
			}
			for _, p := range r.Performer {
				if name := performer(p.Actor); name != "" {
					im.Performer = name
					break
				}
			}
			performer(r.Patient)
			s.Immunizations = append(s.Immunizations, im)
		case "Observation":
			lr := LabResult{Test: pickCoding(r.Code, labNames, &min), Date: r.EffectiveDateTime, Status: r.Status}
			switch {
			case r.ValueCodeableConcept != nil:
				c := pickCoding(r.ValueCodeableConcept, resultNames, &min)
				lr.Value = c.Code
				if c.Name != "" {
					lr.Value = c.Name
				}
			case r.ValueQuantity != nil:
				lr.Value = strings.TrimSpace(r.ValueQuantity.Value.String() + " " + r.ValueQuantity.Unit)
			default:
				lr.Value = r.ValueString
			}
			for _, p := range r.Performer {
				ref := p.Actor
				if ref == nil {
					pr := p.fhirRef
					ref = &pr
				}
				if name := performer(ref); name != "" {
					lr.Performer = name
					break
				}
			}
			performer(r.Subject)
			s.LabResults = append(s.LabResults, lr)
		default:
			if s.Other == nil {
				s.Other = map[string]int{}
			}
			t := r.ResourceType
			if t == "" {
				t = "(unknown)"
			}
			s.Other[t]++
		}
	}
	return s, min.warnings()
}

// decodedBundle is what the summary reads from a bundle: the fullUrl and
// the decoded resource of each of the first maxSummaryEntries entries, and
// the Organization entries by fullUrl.
type decodedBundle struct {
	fullURLs []string
	res      []fhirResource
	orgs     map[string]string
}

// decodeBundleReference decodes with encoding/json: the definition of what
// the summary reads. decodeBundleFast gives the same result in one pass for
// ordinary bundles and defers to this for anything else.
func decodeBundleReference(bundle []byte) (*decodedBundle, error) {
	var b fhirBundle
	if err := json.Unmarshal(bundle, &b); err != nil {
		return nil, err
	}
	entries := b.Entry
	if len(entries) > maxSummaryEntries {
		entries = entries[:maxSummaryEntries]
	}
	d := &decodedBundle{fullURLs: make([]string, len(entries)), res: make([]fhirResource, len(entries)), orgs: map[string]string{}}
	for i, e := range entries {
		d.fullURLs[i] = e.FullURL
		// A type error (Organization.name is a string, not a HumanName
		// list) leaves the other members decoded.
		_ = json.Unmarshal(e.Resource, &d.res[i])
		var o struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(e.Resource, &o) // "" unless name is a string
		d.res[i].orgName = o.Name
		if d.res[i].ResourceType == "Organization" {
			d.orgs[e.FullURL] = o.Name
		}
	}
	return d, nil
}

func patientName(r *fhirResource) string {
	if len(r.Name) == 0 {
		return ""
	}
	n := r.Name[0]
	if n.Text != "" && n.Family == "" {
		return n.Text
	}
	return strings.TrimSpace(strings.Join(append(append([]string(nil), n.Given...), n.Family), " "))
}

// pickCoding returns the first coding, named from table when known.
func pickCoding(c *fhirConcept, table map[string]map[string]string, min *minIssues) Coding {
	if c == nil {
		return Coding{}
	}
	if len(c.Text) > 0 {
		min.conceptText++
	}
	var out Coding
	for i, cd := range c.Coding {
		if len(cd.Display) > 0 {
			min.display++
		}
		if name := table[cd.System][cd.Code]; name != "" && out.Name == "" {
			out = Coding{System: cd.System, Code: cd.Code, Name: name}
		} else if i == 0 && out.Code == "" {
			out = Coding{System: cd.System, Code: cd.Code}
		}
	}
	return out
}

// minIssues counts departures from the QR minimization rules (MIN-1..7)
// among the members the summary reads.
type minIssues struct {
	fullURL, refs, ids, meta, text, conceptText, display int
}

func (m *minIssues) resource(r *fhirResource) {
	if len(r.ID) > 0 {
		m.ids++
	}
	if r.Meta != nil && len(r.Meta.Other) > 0 {
		m.meta++
	}
	if len(r.Text) > 0 {
		m.text++
	}
}

func (m *minIssues) warnings() []string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(m.fullURL, "fullUrl not resource:N (MIN-6)")
	add(m.refs, "references not resource:N (MIN-7)")
	add(m.ids, "Resource.id (MIN-1)")
	add(m.meta, "Resource.meta beyond security (MIN-2)")
	add(m.text, "narrative text (MIN-3)")
	add(m.conceptText, "CodeableConcept.text (MIN-4)")
	add(m.display, "Coding.display (MIN-5)")
	if len(parts) == 0 {
		return nil
	}
	return []string{"bundle is not minimized for QR presentation (MIN-9; fine for file or link delivery): " + strings.Join(parts, ", ")}
}

// String renders the summary as a few lines of text.
func (s *Summary) String() string {
	if s == nil {
		return ""
	}
	var b strings.Builder
	if s.Patient != nil {
		fmt.Fprintf(&b, "Patient: %s", s.Patient.Name)
		if s.Patient.BirthDate != "" {
			fmt.Fprintf(&b, " (born %s)", s.Patient.BirthDate)
		}
		b.WriteString("\n")
	}
	for _, im := range s.Immunizations {
		fmt.Fprintf(&b, "Immunization: %s on %s", im.Vaccine.label(), im.Date)
		if im.Lot != "" {
			fmt.Fprintf(&b, ", lot %s", im.Lot)
		}
		if im.Performer != "" {
			fmt.Fprintf(&b, ", by %s", im.Performer)
		}
		b.WriteString("\n")
	}
	for _, lr := range s.LabResults {
		fmt.Fprintf(&b, "Lab result: %s: %s on %s", lr.Test.label(), lr.Value, lr.Date)
		if lr.Performer != "" {
			fmt.Fprintf(&b, ", by %s", lr.Performer)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (c Coding) label() string {
	if c.Name != "" {
		return c.Name + " (" + c.Code + ")"
	}
	if c.System != "" {
		return c.System + "|" + c.Code
	}
	return c.Code
}
