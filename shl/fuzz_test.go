package shl

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/healthcards/healthcards/internal/testvectors"
)

func FuzzParse(f *testing.F) {
	seeds := []string{
		enc(`{"url":"https://x.example/m","key":"` + specKey + `"}`),
		enc(`{"url":"https://x.example/m","key":"` + specKey + `","flag":"LPU","exp":1.5e9,"label":"a","v":1}`),
		enc(`{"url":"https://x.example/m","key":"` + specKey + `","exp":"1767225600000","labelzzz":"x"}`),
		enc(`{"v":2}`),
		"https://viewer.example/#shlink:/e30",
		"shlink:/",
		"#",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	if testvectors.Available() {
		for _, rel := range []string{
			"derived-from-spec-text/links-specification.shlink-example-bare.txt",
			"derived-from-spec-text/links-specification.shlink-example-with-viewer.txt",
			"hl7-ig/input/images/IPS_IG-bundle-01-shl.txt",
			"hl7-ig/input/images/CARIN_INS_CD-bundle-01-shl.txt",
			"third-party/seanno-shc-demo-data/cards/carin-insurance-example/shl-expired.txt",
		} {
			f.Add(string(testvectors.Read(f, rel)))
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			if p != nil {
				t.Fatal("payload with error")
			}
			if c := CodeOf(err); c != CodeMalformedLink && c != CodeUnsupportedVersion {
				t.Fatalf("unexpected code %q: %v", c, err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed payload does not validate: %v", err)
		}
		if k, err := p.KeyBytes(); err != nil || len(k) != KeySize {
			t.Fatal("key")
		}
		q, err := Parse(p.URI("https://viewer.example/"))
		if err != nil || *q != *p {
			t.Fatalf("round trip: %+v vs %+v (%v)", q, p, err)
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	for _, s := range []string{
		`{"files":[]}`,
		`{"files":[{"contentType":"application/smart-health-card","embedded":"a.b.c.d.e"}],"list":{"resourceType":"List"}}`,
		`{"files":[{"contentType":"application/fhir+json","location":"https://x.example/f","lastUpdated":"2025-03-09T15:29:46Z","status":"finalized","fhirVersion":"4.0.1"}]}`,
		`{"files":[{"contentType":"a","location":"https://x.example/f","Location":"x"}]}`,
		`{"recipient":"r","passcode":"p","embeddedLengthMax":10}`,
	} {
		f.Add([]byte(s))
	}
	if testvectors.Available() {
		f.Add(testvectors.Read(f, "hl7-ig/input/resources/shl-manifest-1.json"))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			if m != nil {
				t.Fatal("manifest with error")
			}
			if c := CodeOf(err); c != CodeMalformedManifest && c != CodeTooLarge {
				t.Fatalf("unexpected code %q: %v", c, err)
			}
		} else {
			for i := range m.Files {
				if err := m.Files[i].Validate(); err != nil {
					t.Fatalf("files[%d] does not validate: %v", i, err)
				}
			}
			out, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			m2, err := ParseManifest(out)
			if err != nil || !reflect.DeepEqual(m.Files, m2.Files) {
				t.Fatalf("re-parse: %v", err)
			}
		}
		r, err := ParseManifestRequest(b)
		if err != nil {
			if r != nil {
				t.Fatal("request with error")
			}
			if c := CodeOf(err); c != CodeMalformedManifest && c != CodeTooLarge {
				t.Fatalf("unexpected request code %q: %v", c, err)
			}
		} else if r.Recipient == "" {
			t.Fatal("request without recipient accepted")
		}
	})
}
