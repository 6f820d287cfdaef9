package verifier

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/healthcards/healthcards/terminology"
)

// Summary is a human-readable digest of a verified FHIR bundle: who the
// card is about and what it attests. It is derived from the signed bundle
// only; codes are named from package terminology, and codes it does not
// know are shown as their code.
type Summary struct {
	Patient       *Patient       `json:"patient,omitempty"`
	Immunizations []Immunization `json:"immunizations,omitempty"`
	LabResults    []LabResult    `json:"labResults,omitempty"`
	LabReports    []LabReport    `json:"labReports,omitempty"`
	// Other counts the bundle's remaining resources by resourceType.
	Other map[string]int `json:"other,omitempty"`
}

// Patient is the subject of the card.
type Patient struct {
	Name      string `json:"name"`
	BirthDate string `json:"birthDate,omitempty"`
	// IdentityAssurance is how the issuer checked name and birth date
	// (meta.security, system IALSystem), when the card says.
	IdentityAssurance *IdentityAssurance `json:"identityAssurance,omitempty"`
}

// Coding is a code with its system and, when known, a readable name.
type Coding struct {
	System string `json:"system,omitempty"`
	Code   string `json:"code"`
	Name   string `json:"name,omitempty"` // terminology.Display; empty when unknown
}

// Immunization is one dose.
type Immunization struct {
	Vaccine   Coding `json:"vaccine"`
	Date      string `json:"date,omitempty"` // occurrenceDateTime (or occurrenceString)
	Status    string `json:"status,omitempty"`
	Lot       string `json:"lotNumber,omitempty"`
	Performer string `json:"performer,omitempty"`
	// Age is how long before the verification Date was ("2 days ago"),
	// set by the verifier.
	Age string `json:"age,omitempty"`
}

// LabResult is one Observation.
type LabResult struct {
	Test      Coding `json:"test"`
	Value     string `json:"value,omitempty"` // valueCodeableConcept (named), valueQuantity or valueString
	Date      string `json:"date,omitempty"`  // effectiveDateTime: when the sample was collected
	Status    string `json:"status,omitempty"`
	Performer string `json:"performer,omitempty"`
	// Age is how long before the verification the sample was collected
	// ("3 hours ago", "2 days ago"), set by the verifier.
	Age string `json:"age,omitempty"`

	valueCode Coding // the coded result, for entry rules (free text never counts)
}

// LabReport is one DiagnosticReport (its results are LabResults).
type LabReport struct {
	Test      Coding `json:"test"`
	Date      string `json:"date,omitempty"` // effectiveDateTime
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

// maxSummaryEntries bounds the entries summarized.
const maxSummaryEntries = 500

// Summarize returns the human summary of a FHIR Bundle: the one Verify
// puts in Result.Summary, read by the same decoder. Use it to show a
// bundle the caller already trusts (the issuer's printable page shows its
// own cards with it); it verifies nothing. It fails, with code
// bad_payload, only when bundle is not a JSON object; anything it does not
// understand is counted under Other or shown by its code.
//
// # Security considerations
//
// A summary says what a bundle says, not that anyone signed it: show the
// summary of an unverified bundle as unverified (TRUST-4). Input is bounded
// as in Verify (the first 500 entries are read).
func Summarize(bundle []byte) (*Summary, error) {
	s, err := summarizeBundle(bundle, &minIssues{}, false)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// summarize builds the Summary of a verified bundle and reports QR
// minimization issues (MIN-1..7) as warnings only (MIN-9): a card meant for
// file or link delivery need not be minimized.
func summarize(bundle []byte) (*Summary, []string) {
	var min minIssues
	s, err := summarizeBundle(bundle, &min, true)
	if err != nil {
		return nil, []string{"FHIR bundle could not be summarized: " + err.Err.Error()}
	}
	return s, min.warnings()
}

// summarizeBundle builds the Summary and counts minimization issues in min.
// checked says that bundle comes from a card shc parsed, so the strict
// reader already accepted it (see decodeBundleFast).
func summarizeBundle(bundle []byte, min *minIssues, checked bool) (*Summary, *Error) {
	d, ok := decodeBundleFast(bundle, checked)
	if !ok {
		// No second, lenient reader: what the strict decoder cannot read as a
		// Bundle is not shown (fail closed; a verified card stays valid).
		return nil, newErr(CodeBadPayload, StepParse, "a member has an unexpected kind or a null element, "+
			"or a name differs from a FHIR element only in letter case, or the bundle is not strict JSON")
	}
	s := &Summary{}
	for _, u := range d.fullURLs {
		if !strings.HasPrefix(u, "resource:") {
			min.fullURL++
		}
	}
	z := refNamer{d: d, min: min}
	for i := range d.res {
		r := &d.res[i]
		min.resource(r)
		switch r.ResourceType {
		case "Patient":
			if s.Patient == nil {
				s.Patient = &Patient{Name: patientName(r), BirthDate: r.BirthDate}
				if r.Meta != nil {
					s.Patient.IdentityAssurance = identityAssurance(r.Meta.Security)
				}
			}
		case "Immunization":
			date := r.OccurrenceDateTime
			if date == "" {
				date = r.OccurrenceString
			}
			s.Immunizations = append(s.Immunizations, Immunization{Vaccine: pickCoding(r.VaccineCode, min),
				Date: date, Status: r.Status, Lot: r.LotNumber, Performer: z.performerOf(r, r.Patient)})
		case "Observation":
			value, valueCode := resultValue(r, min)
			s.LabResults = append(s.LabResults, LabResult{Test: pickCoding(r.Code, min), Value: value,
				Date: r.EffectiveDateTime, Status: r.Status, Performer: z.performerOf(r, r.Subject), valueCode: valueCode})
		case "DiagnosticReport":
			s.LabReports = append(s.LabReports, LabReport{Test: pickCoding(r.Code, min),
				Date: r.EffectiveDateTime, Status: r.Status, Performer: z.performerOf(r, r.Subject)})
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
	return s, nil
}

// resultValue is an Observation's value: a named valueCodeableConcept,
// valueQuantity with its unit, or valueString.
func resultValue(r *fhirResource, min *minIssues) (string, Coding) {
	switch {
	case r.ValueCodeableConcept != nil:
		c := pickCoding(r.ValueCodeableConcept, min)
		if c.Name != "" {
			return c.Name, c
		}
		return c.Code, c
	case r.ValueQuantity != nil:
		return strings.TrimSpace(r.ValueQuantity.Value.String() + " " + r.ValueQuantity.Unit), Coding{}
	}
	return r.ValueString, Coding{}
}

// refNamer names the references of a bundle and counts those that are not
// resource:N (MIN-7). A reference is named by its display, else by the
// Organization (the decoder's orgs) or Practitioner (built on first need)
// on the card it points to.
type refNamer struct {
	d             *decodedBundle
	min           *minIssues
	practitioners map[string]string
}

// performerOf names the first performer of r that has a name (an
// Immunization's performers are {actor}; an Observation's or a
// DiagnosticReport's are references) and counts the subject reference.
func (n *refNamer) performerOf(r *fhirResource, subject *fhirRef) string {
	n.count(subject)
	for _, p := range r.Performer {
		ref := p.Actor
		if ref == nil && r.ResourceType != "Immunization" {
			pr := p.fhirRef
			ref = &pr
		}
		if ref == nil {
			continue
		}
		n.count(ref)
		if ref.Display != "" {
			return ref.Display
		}
		if name := n.of(ref.Reference); name != "" {
			return name
		}
	}
	return ""
}

func (n *refNamer) count(r *fhirRef) {
	if r != nil && r.Reference != "" && !strings.HasPrefix(r.Reference, "resource:") {
		n.min.refs++
	}
}

func (n *refNamer) of(ref string) string {
	if name := n.d.orgs[ref]; name != "" || ref == "" {
		return name
	}
	if n.practitioners == nil {
		n.practitioners = map[string]string{}
		for i := range n.d.res {
			if n.d.res[i].ResourceType == "Practitioner" {
				n.practitioners[n.d.fullURLs[i]] = patientName(&n.d.res[i])
			}
		}
	}
	return n.practitioners[ref]
}

// decodedBundle is what the summary reads from a bundle: the fullUrl and
// the decoded resource of each of the first maxSummaryEntries entries, and
// the Organization entries by fullUrl.
type decodedBundle struct {
	fullURLs []string
	res      []fhirResource
	orgs     map[string]string
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

// pickCoding returns the first coding that package terminology names, else
// the first coding, by its code.
func pickCoding(c *fhirConcept, min *minIssues) Coding {
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
		if out.Name != "" {
			continue
		}
		if name := terminology.Display(cd.System, cd.Code); name != "" {
			out = Coding{System: cd.System, Code: cd.Code, Name: name}
		} else if i == 0 {
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
	line := func(kind, text, date, lot, by string) {
		fmt.Fprintf(&b, "%s: %s on %s", kind, text, date)
		if lot != "" {
			fmt.Fprintf(&b, ", lot %s", lot)
		}
		if by != "" {
			fmt.Fprintf(&b, ", by %s", by)
		}
		b.WriteString("\n")
	}
	for _, im := range s.Immunizations {
		line("Immunization", im.Vaccine.Label(), im.Date, im.Lot, im.Performer)
	}
	for _, lr := range s.LabResults {
		line("Lab result", lr.Text(), lr.Date, "", lr.Performer)
	}
	for _, rep := range s.LabReports {
		line("Lab report", rep.Test.Label(), rep.Date, "", rep.Performer)
	}
	return b.String()
}

// Text is the result in a few words: the test's label and the value.
func (lr LabResult) Text() string {
	if lr.Value == "" {
		return lr.Test.Label()
	}
	return lr.Test.Label() + ": " + lr.Value
}

// Label shows a coding to a person: "name (LOINC 94500-6)" when the code is
// named, else the code with its system ("LOINC 12345-6", or
// "system|code" for a system package terminology does not name).
func (c Coding) Label() string {
	code := c.Code
	if sys := terminology.SystemName(c.System); sys != "" {
		code = sys + " " + c.Code
	} else if c.System != "" {
		code = c.System + "|" + c.Code
	}
	if c.Name != "" {
		return c.Name + " (" + code + ")"
	}
	return code
}
