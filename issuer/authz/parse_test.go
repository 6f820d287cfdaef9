package authz

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/healthcards/healthcards/issuer"
)

func TestParseScope(t *testing.T) {
	for _, c := range []struct {
		in    string
		ok    bool
		typ   string
		restr int
	}{
		{"patient/Observation.read", true, "Observation", 0},
		{"patient/*.read", true, "*", 0},
		{"user/Observation.rs", true, "Observation", 0},
		{"system/*.r", true, "*", 0},
		{"patient/Observation.rs?category=laboratory", true, "Observation", 1},
		{"patient/Observation.rs?category=laboratory&code=http://loinc.org|94500-6", true, "Observation", 2},
		{"patient/Observation.rs?code=a,b,%7Cc", true, "Observation", 1},
		{"patient/Observation.rs?status=final", false, "", 0},          // unsupported parameter
		{"patient/Observation.read?category=laboratory", false, "", 0}, // v1 takes no query
		{"patient/Observation.rs?category=", false, "", 0},
		{"patient/Observation.rs?", false, "", 0},
		{"patient/Observation.sr", false, "", 0}, // out of order
		{"patient/Observation.cud", false, "", 0},
		{"patient/observation.rs", false, "", 0},
		{"launch/patient", false, "", 0},
		{"cards:issue", false, "", 0},
		{"openid", false, "", 0},
	} {
		sc, err := ParseScope(c.in)
		if (err == nil) != c.ok || c.ok && (sc.Type != c.typ || len(sc.Restrictions) != c.restr) {
			t.Errorf("%q: %+v %v", c.in, sc, err)
		}
	}
	sc, _ := ParseScope("patient/Observation.rs?code=a,b,%7Cc")
	ts := sc.Restrictions[0].Tokens
	if len(ts) != 3 || !ts[0].AnySystem || ts[2].AnySystem || ts[2].System != "" || ts[2].Code != "c" {
		t.Fatalf("tokens %+v", ts)
	}
}

func TestParseAuthorizationDetails(t *testing.T) {
	good := `[{"type":"other","x":1},{"type":"healthcards:cards","patient":"Patient/p1","credentialTypes":["Observation"],"resourceTypes":["Observation"],"categories":{"include":["laboratory"]},"codes":{"exclude":["http://loinc.org|1-1"]},"since":"2026-01-01","actions":["issue"],"locations":["https://issuer.example"]}]`
	ds, err := ParseAuthorizationDetails([]byte(good))
	if err != nil || len(ds) != 1 {
		t.Fatalf("%v %+v", err, ds)
	}
	d := ds[0]
	if d.Patient != "p1" || d.Since.IsZero() || len(d.Categories.Include) != 1 || len(d.Codes.Exclude) != 1 || d.Codes.Exclude[0].System != "http://loinc.org" {
		t.Fatalf("%+v", d)
	}
	if ds, err := ParseAuthorizationDetails([]byte(`[{"type":"payment"}]`)); err != nil || ds != nil {
		t.Fatalf("unknown types only: %v %v", ds, err)
	}
	for _, bad := range []string{
		`{"type":"healthcards:cards"}`,
		`[1]`,
		`[{"no":"type"}]`,
		`[{"type":"healthcards:cards","Patient":"p1"}]`,
		`[{"type":"healthcards:cards","patient":"p1","patient":"p2"}]`,
		`[{"type":"healthcards:cards","extra":true}]`,
		`[{"type":"healthcards:cards","since":"soon"}]`,
		`[{"type":"healthcards:cards","actions":[]}]`,
		`[{"type":"healthcards:cards","actions":["read"]}]`,
		`[{"type":"healthcards:cards","categories":["laboratory"]}]`,
		`[{"type":"healthcards:cards","categories":{"include":[]}}]`,
		`[{"type":"healthcards:cards","codes":{"include":["a|b|c"]}}]`,
		`[{"type":"healthcards:cards","resourceTypes":["observation"]}]`,
		`[{"type":"healthcards:cards","patient":"a b"}]`,
	} {
		_, err := ParseAuthorizationDetails([]byte(bad))
		if !errors.Is(err, ErrInvalidAuthorizationDetails) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func FuzzParseAuthorizationDetails(f *testing.F) {
	f.Add([]byte(`[{"type":"healthcards:cards","categories":{"exclude":["laboratory"]},"since":"2026-01"}]`))
	f.Add([]byte(`[{"type":"x"},{"type":"healthcards:cards","codes":{"include":["s|c"]},"actions":["share"]}]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, err := ParseAuthorizationDetails(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidAuthorizationDetails) {
				t.Fatalf("uncoded error %v", err)
			}
			if ds != nil {
				t.Fatal("details with an error")
			}
			return
		}
		if len(ds) > maxDetails {
			t.Fatalf("%d details", len(ds))
		}
		for _, d := range ds {
			for _, a := range d.Actions {
				if a != "issue" && a != "share" {
					t.Fatalf("action %q", a)
				}
			}
			if d.Patient != "" && !issuer.ValidID(d.Patient) {
				t.Fatalf("patient %q", d.Patient)
			}
		}
	})
}

func FuzzParseScope(f *testing.F) {
	f.Add("patient/Observation.rs?category=laboratory&code=http://loinc.org|94500-6")
	f.Add("user/*.read")
	f.Add("system/Immunization.cruds?code=a,b")
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseScope(s)
		if err != nil {
			return
		}
		if sc.Level != "patient" && sc.Level != "user" && sc.Level != "system" {
			t.Fatalf("level %q", sc.Level)
		}
		n := 0
		for _, r := range sc.Restrictions {
			if r.Param != "category" && r.Param != "code" || len(r.Tokens) == 0 {
				t.Fatalf("restriction %+v", r)
			}
			for _, tk := range r.Tokens {
				n++
				if tk.Code == "" || !utf8.ValidString(tk.Code) {
					t.Fatalf("token %+v", tk)
				}
			}
		}
		if n > maxTokens {
			t.Fatalf("%d tokens", n)
		}
	})
}

// Labels are read from meta.security; a resource whose labels cannot be
// read for sure (an escaped member name, bad JSON) counts as restricted.
func TestResourceFactsFailClosed(t *testing.T) {
	e := &Engine{}
	for _, c := range []struct {
		json string
		want string
	}{
		{`{"resourceType":"Observation","status":"final"}`, ""},
		{`{"resourceType":"Observation","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"HIV"}]}}`, "HIV"},
		{`{"resourceType":"Observation","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"V"}]}}`, "V"},
		{`{"resourceType":"Observation","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"N"}]}}`, ""},
		{`{"resourceType":"Observation","\u006deta":{"security":[{"code":"HIV"}]}}`, "R"},
		{`{"resourceType":"Observation","meta":{"security":"HIV"}}`, "R"},
		{`{"resourceType":"Observation",`, "R"},
	} {
		f := resourceFacts(issuer.ContentResource{Type: "Observation", JSON: json.RawMessage(c.json)}, true)
		got := strings.Join(e.sensitiveCategories(f), ",")
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.json, got, c.want)
		}
	}
}
