package issuer

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Input bounds.
const (
	// DefaultMaxBundleBytes caps a FHIR bundle sent by a lab system.
	DefaultMaxBundleBytes = 1 << 20
	// MaxBundleEntries caps the entries of one bundle.
	MaxBundleEntries = 1000
	maxRefsPerEntry  = 1000
	maxJSONDepth     = 64
)

// Resource types the issuer accepts in bundles and puts on cards.
const (
	TypePatient          = "Patient"
	TypeObservation      = "Observation"
	TypeImmunization     = "Immunization"
	TypeDiagnosticReport = "DiagnosticReport"
)

// SupportingTypes are the resource types a lab bundle may carry besides the
// Patient and the clinical resources: performers, specimens, places and
// devices. A supporting resource goes on a card only when something on that
// card references it (directly or through another supporting resource, as
// PractitionerRole → Practitioner); unreferenced ones are dropped. They are
// never split into cards of their own (PAY-10 granularity follows the
// clinical resources).
var SupportingTypes = []string{"Organization", "Practitioner", "PractitionerRole", "Specimen", "Location", "Device"}

func isSupporting(t string) bool {
	for _, s := range SupportingTypes {
		if s == t {
			return true
		}
	}
	return false
}

// clinicalTypes are the resource types cards are built around.
var clinicalTypes = []string{TypeObservation, TypeImmunization, TypeDiagnosticReport}

// Coding is a FHIR Coding reduced to what matching needs.
type Coding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

// resource is one clinical resource with the fields grouping, matching and
// reference checks need, plus its JSON as received.
type resource struct {
	Type    string
	ID      string
	FullURL string
	Date    time.Time
	Codings []Coding // Observation.code / Immunization.vaccineCode
	Refs    []string // every Reference.reference inside the resource
	Results []string // DiagnosticReport.result and Observation.hasMember references
	Subject string   // subject (Observation, DiagnosticReport) or patient (Immunization)
	JSON    json.RawMessage
}

// patientRecord is the Patient of a bundle.
type patientRecord struct {
	ID      string
	FullURL string
	JSON    json.RawMessage
}

// parsedBundle is a validated lab or immunization bundle.
type parsedBundle struct {
	Patient    patientRecord
	Resources  []*resource // clinical: Observation, Immunization, DiagnosticReport
	Supporting []*resource // SupportingTypes, in bundle order
}

type rawEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
}

// ParseFHIRDateTime parses a FHIR date or dateTime at year, month, day or
// time precision (OP-4 _since). Partial dates mean their first instant in
// UTC.
func ParseFHIRDateTime(s string) (time.Time, error) {
	var layouts []string
	switch len(s) {
	case 4:
		layouts = []string{"2006"}
	case 7:
		layouts = []string{"2006-01"}
	case 10:
		layouts = []string{"2006-01-02"}
	default:
		layouts = []string{time.RFC3339Nano}
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a FHIR dateTime", s)
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func obj(m map[string]any, k string) map[string]any {
	o, _ := m[k].(map[string]any)
	return o
}

// resourceDate is the clinically relevant time of a resource.
func resourceDate(m map[string]any) time.Time {
	cands := []string{str(m, "effectiveDateTime"), str(m, "effectiveInstant"), str(m, "occurrenceDateTime")}
	if p := obj(m, "effectivePeriod"); p != nil {
		cands = append(cands, str(p, "start"))
	}
	cands = append(cands, str(m, "issued"))
	for _, s := range cands {
		if s == "" {
			continue
		}
		if t, err := ParseFHIRDateTime(s); err == nil {
			return t
		}
	}
	return time.Time{}
}

func codings(m map[string]any, k string) []Coding {
	cc := obj(m, k)
	if cc == nil {
		return nil
	}
	arr, _ := cc["coding"].([]any)
	var out []Coding
	for _, c := range arr {
		if cm, ok := c.(map[string]any); ok {
			out = append(out, Coding{System: str(cm, "system"), Code: str(cm, "code")})
		}
	}
	return out
}

func refList(m map[string]any, k string) []string {
	arr, _ := m[k].([]any)
	var out []string
	for _, x := range arr {
		if xm, ok := x.(map[string]any); ok {
			if r := str(xm, "reference"); r != "" {
				out = append(out, r)
			}
		}
	}
	return out
}

// parseResource reads one resource's JSON.
func parseResource(raw json.RawMessage) (*resource, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, errf(CodeInvalidBundle, "an entry's resource is not a JSON object")
	}
	r := &resource{Type: str(m, "resourceType"), ID: str(m, "id"), JSON: raw, Date: resourceDate(m)}
	switch r.Type {
	case TypeObservation, TypeDiagnosticReport:
		r.Codings = codings(m, "code")
		if s := obj(m, "subject"); s != nil {
			r.Subject = str(s, "reference")
		}
	case TypeImmunization:
		r.Codings = codings(m, "vaccineCode")
		if s := obj(m, "patient"); s != nil {
			r.Subject = str(s, "reference")
		}
	case "RelatedPerson", "Consent", "CareTeam":
		// Relations read by issuer/authz (issue 12), also from an upstream
		// server, whose search results are kept only when they name the
		// patient: RelatedPerson.patient, Consent.patient, CareTeam.subject.
		field := "patient"
		if r.Type == "CareTeam" {
			field = "subject"
		}
		if s := obj(m, field); s != nil {
			r.Subject = str(s, "reference")
		}
	}
	r.Results = append(refList(m, "result"), refList(m, "hasMember")...)
	if err := walkRefs(m, 0, &r.Refs); err != nil {
		return nil, err
	}
	return r, nil
}

// walkRefs appends every Reference.reference below v, bounded in depth and
// count.
func walkRefs(v any, depth int, out *[]string) error {
	if depth > maxJSONDepth {
		return errf(CodeInvalidBundle, "resource nests deeper than %d levels", maxJSONDepth)
	}
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if s, ok := c.(string); ok && k == "reference" {
				if len(*out) >= maxRefsPerEntry {
					return errf(CodeTooLarge, "resource holds more than %d references", maxRefsPerEntry)
				}
				*out = append(*out, s)
				continue
			}
			if err := walkRefs(c, depth+1, out); err != nil {
				return err
			}
		}
	case []any:
		for _, c := range x {
			if err := walkRefs(c, depth+1, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// refIndex resolves references to entries the way shc.Minify rewrites them
// (MIN-7): by fullUrl, by its last two path segments, or by Type/id.
type refIndex map[string]int

func (ix refIndex) add(i int, fullURL, typ, id string) {
	if fullURL != "" {
		ix[fullURL] = i
		if t := lastTwo(fullURL); t != "" {
			ix[t] = i
		}
	}
	if typ != "" && id != "" {
		if _, taken := ix[typ+"/"+id]; !taken {
			ix[typ+"/"+id] = i
		}
	}
}

func (ix refIndex) lookup(ref string) (int, bool) {
	if i, ok := ix[ref]; ok {
		return i, true
	}
	i, ok := ix[lastTwo(ref)]
	return i, ok
}

func lastTwo(s string) string {
	parts := strings.Split(strings.TrimRight(s, "/"), "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[len(parts)-2] + "/" + parts[len(parts)-1]
}

// ParseBundle validates a FHIR R4 Bundle sent by a lab system: resourceType
// Bundle, exactly one Patient with an id, any number of Observation,
// Immunization and DiagnosticReport resources, each about that Patient,
// supporting resources (SupportingTypes: performers, specimens, ...), and
// every Reference resolvable inside the bundle. Errors are *Error with
// codes invalid_bundle, missing_patient, unsupported_resource,
// unresolved_reference, too_large or no_clinical_content.
func parseBundle(b []byte, maxBytes int) (*parsedBundle, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBundleBytes
	}
	if len(b) > maxBytes {
		return nil, errf(CodeTooLarge, "bundle of %d bytes exceeds the %d-byte limit", len(b), maxBytes)
	}
	var top struct {
		ResourceType string          `json:"resourceType"`
		Entry        json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, errf(CodeInvalidBundle, "body is not a JSON object: %v", jsonErrText(err))
	}
	if top.ResourceType != "Bundle" {
		return nil, errf(CodeInvalidBundle, "resourceType is %q, want \"Bundle\"", top.ResourceType)
	}
	var entries []rawEntry
	if len(top.Entry) > 0 {
		if err := json.Unmarshal(top.Entry, &entries); err != nil {
			return nil, errf(CodeInvalidBundle, "Bundle.entry must be an array of {fullUrl, resource}")
		}
	}
	if len(entries) > MaxBundleEntries {
		return nil, errf(CodeTooLarge, "bundle has %d entries, limit %d", len(entries), MaxBundleEntries)
	}
	pb := &parsedBundle{}
	all := make([]*resource, 0, len(entries))
	ix := refIndex{}
	patientIdx := -1
	for i, e := range entries {
		if len(e.Resource) == 0 {
			return nil, errf(CodeInvalidBundle, "Bundle.entry[%d] has no resource", i)
		}
		r, err := parseResource(e.Resource)
		if err != nil {
			err.(*Error).Msg = fmt.Sprintf("Bundle.entry[%d]: %s", i, err.(*Error).Msg)
			return nil, err
		}
		r.FullURL = e.FullURL
		switch r.Type {
		case TypePatient:
			if patientIdx >= 0 {
				return nil, errf(CodeMissingPatient, "Bundle.entry[%d] is a second Patient; send one patient per bundle", i)
			}
			patientIdx = i
			if r.ID == "" || len(r.ID) > 64 {
				return nil, errf(CodeMissingPatient, "Bundle.entry[%d]: Patient.id is required (1..64 characters): it keys storage and revocation", i)
			}
			pb.Patient = patientRecord{ID: r.ID, FullURL: e.FullURL, JSON: e.Resource}
		case TypeObservation, TypeImmunization, TypeDiagnosticReport:
			if r.ID != "" && !ValidID(r.ID) {
				return nil, errf(CodeInvalidBundle, "Bundle.entry[%d]: %s.id %q is not a FHIR id", i, r.Type, r.ID)
			}
		case "":
			return nil, errf(CodeInvalidBundle, "Bundle.entry[%d].resource has no resourceType", i)
		default:
			if !isSupporting(r.Type) {
				return nil, errf(CodeUnsupportedType, "Bundle.entry[%d] is a %.64q; accepted: Patient, Observation, Immunization, DiagnosticReport, and as supporting resources %s",
					i, r.Type, strings.Join(SupportingTypes, ", "))
			}
			if r.ID != "" && !ValidID(r.ID) {
				return nil, errf(CodeInvalidBundle, "Bundle.entry[%d]: %s.id %q is not a FHIR id", i, r.Type, r.ID)
			}
		}
		ix.add(i, e.FullURL, r.Type, r.ID)
		all = append(all, r)
	}
	if patientIdx < 0 {
		return nil, errf(CodeMissingPatient, "the bundle has no Patient")
	}
	if !ValidID(pb.Patient.ID) {
		return nil, errf(CodeMissingPatient, "Patient.id %q is not a FHIR id ([A-Za-z0-9.-]{1,64})", pb.Patient.ID)
	}
	for i, r := range all {
		for _, ref := range r.Refs {
			if strings.HasPrefix(ref, "#") {
				continue // contained resource
			}
			if _, ok := ix.lookup(ref); !ok {
				return nil, errf(CodeUnresolvedRef, "Bundle.entry[%d] (%s) references %q, which is not in the bundle", i, r.Type, ref)
			}
		}
		if r.Type == TypePatient {
			continue
		}
		if isSupporting(r.Type) {
			pb.Supporting = append(pb.Supporting, r)
			continue
		}
		field := "subject"
		if r.Type == TypeImmunization {
			field = "patient"
		}
		if j, ok := ix.lookup(r.Subject); !ok || j != patientIdx {
			return nil, errf(CodeInvalidBundle, "Bundle.entry[%d]: %s.%s must reference the bundle's Patient", i, r.Type, field)
		}
		pb.Resources = append(pb.Resources, r)
	}
	if len(pb.Resources) == 0 {
		return nil, errf(CodeNoContent, "the bundle has no Observation, Immunization or DiagnosticReport")
	}
	return pb, nil
}

// ValidID reports whether s is a FHIR id: [A-Za-z0-9\-\.]{1,64}.
func ValidID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func jsonErrText(err error) string {
	var se *json.SyntaxError
	if ok := asSyntax(err, &se); ok {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	return "invalid JSON"
}

func asSyntax(err error, target **json.SyntaxError) bool {
	se, ok := err.(*json.SyntaxError)
	if ok {
		*target = se
	}
	return ok
}
