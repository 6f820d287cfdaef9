package desk

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The form's bundle: the IAL of the identity check is stamped as
// meta.security on Patient and Observation (none for self-asserted, which
// the value set leaves out); codes come from the terminology table.
func TestFormBundleIAL(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ check, ial string }{{"photo-id", "IAL1.4"}, {"other-id", "IAL1.2"}, {"none", ""}} {
		f := &Form{Given: "Maria Elena", Family: "Garcia", BirthDate: "1984-07-15", PatientID: "pt-1", Test: "94500-6", Specimen: "258500001",
			Collected: "2026-11-29T10:30", Result: "detected", Identity: tc.check}
		at, ok := f.validate(now, time.UTC)
		if !ok {
			t.Fatalf("%s: %v", tc.check, f.Errors)
		}
		b, err := f.Bundle("Lab", at)
		if err != nil {
			t.Fatal(err)
		}
		var bundle struct {
			Entry []struct {
				Resource struct {
					ResourceType string
					Meta         *struct {
						Security []struct{ System, Code string }
					}
				}
			}
		}
		if err := json.Unmarshal(b, &bundle); err != nil || len(bundle.Entry) != 4 {
			t.Fatalf("%v %s", err, b)
		}
		for _, e := range bundle.Entry {
			r := e.Resource
			if r.ResourceType != "Patient" && r.ResourceType != "Observation" {
				continue
			}
			switch {
			case tc.ial == "" && r.Meta != nil:
				t.Errorf("%s: %s has meta %+v", tc.check, r.ResourceType, r.Meta)
			case tc.ial != "" && (r.Meta == nil || r.Meta.Security[0].System != IALSystem || r.Meta.Security[0].Code != tc.ial):
				t.Errorf("%s: %s meta %+v, want %s", tc.check, r.ResourceType, r.Meta, tc.ial)
			}
		}
		if !strings.Contains(string(b), `"260373001"`) || !strings.Contains(string(b), `"2026-11-29T10:30:00Z"`) {
			t.Errorf("result code or time missing: %s", b)
		}
	}
	f := &Form{Collected: "2030-01-01T00:00", BirthDate: "2020-01-01", Contact: "not a contact"}
	if _, ok := f.validate(now, time.UTC); ok || len(f.Errors) != 9 || f.Errors["birthDate"] != "" || f.Errors["collected"] == "" || f.Errors["contact"] == "" {
		t.Fatalf("empty form errors: %d %v", len(f.Errors), f.Errors)
	}
}
