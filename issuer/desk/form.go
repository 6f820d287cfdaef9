package desk

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/healthcards/healthcards/terminology"
)

// IALSystem is the spec's identity assurance code system.
const IALSystem = "https://smarthealth.cards/ial"

// IdentityCheck is how staff checked the patient's identity at the desk,
// and the identity assurance level it maps to (https://smarthealth.cards/ial).
type IdentityCheck struct {
	Value, Label, IAL string
}

// IdentityChecks are the choices of the form. Self-asserted identity is
// IAL1, which the value set leaves out: nothing is stamped then.
var IdentityChecks = []IdentityCheck{
	{"photo-id", "Government photo ID seen (passport, ID card, driving licence)", "IAL1.4"},
	{"other-id", "Other ID document seen (no photo)", "IAL1.2"},
	{"none", "No ID seen: name and birth date as told by the patient", ""},
}

// Specimen is a specimen type (SNOMED CT).
type Specimen struct{ Code, Display string }

// Specimens offered by the form.
var Specimens = []Specimen{
	{"258500001", "Nasopharyngeal swab"},
	{"697989009", "Anterior nares swab"},
	{"258529004", "Throat swab"},
	{"258560004", "Oral saliva sample"},
	{"119364003", "Serum specimen"},
}

// Result is a qualitative result (SNOMED CT, from the terminology table).
type Result struct{ Value, Code string }

// Results offered by the form.
var Results = []Result{{"detected", "260373001"}, {"not-detected", "260415000"}, {"inconclusive", "419984006"}}

func (r Result) Display() string { return terminology.Display(terminology.SystemSNOMED, r.Code) }

// TestGroup is a group of tests for the form's list.
type TestGroup struct {
	Label string
	Tests []terminology.Concept
}

var groupLabels = []struct {
	g     terminology.Group
	label string
}{
	{terminology.COVID19Molecular, "COVID-19 PCR / molecular (NAA)"},
	{terminology.COVID19Antigen, "COVID-19 antigen (rapid test)"},
	{terminology.COVID19Antibody, "COVID-19 antibody (serology)"},
	{terminology.InfluenzaA, "Influenza A"},
	{terminology.InfluenzaB, "Influenza B"},
}

// TestGroups builds the short list of tests from the terminology package.
func TestGroups() []TestGroup {
	var out []TestGroup
	for _, gl := range groupLabels {
		var tests []terminology.Concept
		for _, c := range terminology.Members(gl.g) {
			if c.System == terminology.SystemLOINC {
				tests = append(tests, c)
			}
		}
		out = append(out, TestGroup{Label: gl.label, Tests: tests})
	}
	return out
}

func knownTest(code string) (terminology.Concept, bool) {
	c, ok := terminology.Lookup(terminology.SystemLOINC, code)
	if !ok {
		return c, false
	}
	for _, gl := range groupLabels {
		if c.In(gl.g) {
			return c, true
		}
	}
	return c, false
}

// Form is the result form: the values as typed and the field errors.
type Form struct {
	Given, Family, BirthDate, PatientID, Contact string
	Test, Specimen, Collected, Result, Identity  string
	Errors                                       map[string]string
}

var (
	fhirID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)
	phone  = regexp.MustCompile(`^\+?[0-9 ()\-]{6,20}$`)
)

func line(s string, max int) (string, bool) {
	s = strings.TrimSpace(s)
	return s, utf8.ValidString(s) && utf8.RuneCountInString(s) <= max && !strings.ContainsAny(s, "\x00\r\n<>")
}

// validate checks every field and fills Errors with one message per field
// in plain words; now and loc interpret the collection time.
func (f *Form) validate(now time.Time, loc *time.Location) (collected time.Time, ok bool) {
	f.Errors = map[string]string{}
	var good bool
	if f.Given, good = line(f.Given, 100); f.Given == "" || !good {
		f.Errors["given"] = "Enter the given name(s), up to 100 characters."
	}
	if f.Family, good = line(f.Family, 100); f.Family == "" || !good {
		f.Errors["family"] = "Enter the family name, up to 100 characters."
	}
	bd, err := time.Parse("2006-01-02", strings.TrimSpace(f.BirthDate))
	switch {
	case err != nil:
		f.Errors["birthDate"] = "Enter the birth date as year-month-day, for example 1984-07-15."
	case bd.After(now) || bd.Year() < 1900:
		f.Errors["birthDate"] = "The birth date must be between 1900 and today."
	}
	f.PatientID = strings.TrimSpace(f.PatientID)
	if !fhirID.MatchString(f.PatientID) {
		f.Errors["patientId"] = "Enter the lab's patient id: 1 to 64 letters, digits, '-' or '.'."
	}
	if f.Contact, good = line(f.Contact, 100); !good {
		f.Errors["contact"] = "The contact must be one line of at most 100 characters."
	} else if f.Contact != "" && !strings.Contains(f.Contact, "@") && !phone.MatchString(f.Contact) {
		f.Errors["contact"] = "Enter an e-mail address or a phone number, or leave it empty."
	} else if strings.Contains(f.Contact, "@") {
		if _, err := mail.ParseAddress(f.Contact); err != nil {
			f.Errors["contact"] = "This e-mail address is not valid."
		}
	}
	if _, ok := knownTest(f.Test); !ok {
		f.Errors["test"] = "Choose the test from the list."
	}
	if specimenOf(f.Specimen) == nil {
		f.Errors["specimen"] = "Choose the specimen from the list."
	}
	collected, err = time.ParseInLocation("2006-01-02T15:04", strings.TrimSpace(f.Collected), loc)
	switch {
	case err != nil:
		f.Errors["collected"] = "Enter the date and time the specimen was collected."
	case collected.After(now.Add(5 * time.Minute)):
		f.Errors["collected"] = "The collection time cannot be in the future."
	case f.Errors["birthDate"] == "" && collected.Before(bd):
		f.Errors["collected"] = "The collection time cannot be before the birth date."
	}
	if resultOf(f.Result) == nil {
		f.Errors["result"] = "Choose detected, not detected or inconclusive."
	}
	if identityOf(f.Identity) == nil {
		f.Errors["identity"] = "Say how the patient's identity was checked."
	}
	return collected, len(f.Errors) == 0
}

func specimenOf(code string) *Specimen {
	for i := range Specimens {
		if Specimens[i].Code == code {
			return &Specimens[i]
		}
	}
	return nil
}

func resultOf(v string) *Result {
	for i := range Results {
		if Results[i].Value == v {
			return &Results[i]
		}
	}
	return nil
}

func identityOf(v string) *IdentityCheck {
	for i := range IdentityChecks {
		if IdentityChecks[i].Value == v {
			return &IdentityChecks[i]
		}
	}
	return nil
}

// shortID is 72 random bits in hex (FHIR ids allow no '_').
func shortID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Bundle builds the FHIR R4 collection Bundle of a validated form: the
// Patient, the lab (Organization), the Specimen and the Observation, the
// Patient and Observation stamped with the identity assurance level as
// meta.security (unless self-asserted).
func (f *Form) Bundle(labName string, collected time.Time) ([]byte, error) {
	test, _ := knownTest(f.Test)
	spec := specimenOf(f.Specimen)
	res := resultOf(f.Result)
	ial := identityOf(f.Identity).IAL
	var meta map[string]any
	if ial != "" {
		meta = map[string]any{"security": []any{map[string]any{"system": IALSystem, "code": ial}}}
	}
	patient := map[string]any{
		"resourceType": "Patient", "id": f.PatientID,
		"name":      []any{map[string]any{"family": f.Family, "given": strings.Fields(f.Given)}},
		"birthDate": f.BirthDate,
	}
	if f.Contact != "" {
		sys := "phone"
		if strings.Contains(f.Contact, "@") {
			sys = "email"
		}
		patient["telecom"] = []any{map[string]any{"system": sys, "value": f.Contact}}
	}
	obsID, specID := "obs-"+shortID(), "spec-"+shortID()
	obs := map[string]any{
		"resourceType": "Observation", "id": obsID, "status": "final",
		"category":          []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}}}},
		"code":              map[string]any{"coding": []any{map[string]any{"system": terminology.SystemLOINC, "code": test.Code, "display": test.Display}}},
		"subject":           map[string]any{"reference": "Patient/" + f.PatientID},
		"effectiveDateTime": collected.UTC().Format(time.RFC3339),
		"performer":         []any{map[string]any{"reference": "Organization/lab", "display": labName}},
		"specimen":          map[string]any{"reference": "Specimen/" + specID},
		"valueCodeableConcept": map[string]any{
			"coding": []any{map[string]any{"system": terminology.SystemSNOMED, "code": res.Code, "display": res.Display()}}},
	}
	if meta != nil {
		patient["meta"], obs["meta"] = meta, meta
	}
	entry := func(r map[string]any) map[string]any {
		return map[string]any{"fullUrl": r["resourceType"].(string) + "/" + r["id"].(string), "resource": r}
	}
	b := map[string]any{"resourceType": "Bundle", "type": "collection", "entry": []any{
		entry(patient),
		entry(map[string]any{"resourceType": "Organization", "id": "lab", "name": labName}),
		entry(map[string]any{"resourceType": "Specimen", "id": specID, "subject": map[string]any{"reference": "Patient/" + f.PatientID},
			"type":       map[string]any{"coding": []any{map[string]any{"system": terminology.SystemSNOMED, "code": spec.Code, "display": spec.Display}}},
			"collection": map[string]any{"collectedDateTime": collected.UTC().Format(time.RFC3339)}}),
		entry(obs),
	}}
	return json.MarshalIndent(b, "", "  ")
}
