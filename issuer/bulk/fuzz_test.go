package bulk

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/issuer"
)

// The per-record helpers take untrusted NDJSON lines: whatever the bytes,
// they return (no panic), and what they return is well-formed.
func FuzzRecordHelpers(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p1"},"performer":[{"reference":"Organization/x"}],"code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]}}`))
	f.Add([]byte(`{"resourceType":"Immunization","id":"i","patient":{"reference":"https://h/Patient/p"},"vaccineCode":{"coding":[{"system":"urn:x"}]}}`))
	f.Add([]byte(`[[[[[[[[{"reference":"a/b/c"}]]]]]]]]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, ref := range references(raw) {
			if strings.Count(ref, "/") < 1 {
				t.Fatalf("reference %q has no Type/id form", ref)
			}
		}
		err := checkCodeSystems(raw)
		if err != nil && issuer.CodeOf(err) != CodeUnknownCodeSystem {
			t.Fatalf("code %s", issuer.CodeOf(err))
		}
		var r record
		if json.Unmarshal(raw, &r) == nil {
			if id, ok := patientRef(r.Subject); ok && !validID(id) {
				t.Fatalf("patientRef gave %q", id)
			}
		}
	})
}
