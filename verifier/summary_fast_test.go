package verifier

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/internal/jsonlite"
	"github.com/healthcards/healthcards/internal/testvectors"
)

// checkBundlePaths asserts the fast-path contract of the summary: whenever
// decodeBundleFast accepts, decodeBundleReference (encoding/json) accepts
// too and reads exactly the same. It reports whether the fast path accepted.
//
// Bundles the strict reader refuses (a repeated, escaped or case-variant
// name anywhere) never reach the summary: shc.ParsePayload refuses the
// card. They are reported as not taken.
func checkBundlePaths(t testing.TB, b []byte) bool {
	t.Helper()
	if !jsonlite.Valid(b) {
		if _, ok := decodeBundleFast(b, false); ok {
			t.Fatalf("the decoder (unchecked input) accepted %q, which the strict reader refuses", b)
		}
		return false
	}
	fast, ok := decodeBundleFast(b, true)
	if strict, ok2 := decodeBundleFast(b, false); ok2 != ok || ok && !reflect.DeepEqual(fast, strict) {
		t.Fatalf("checked and unchecked decoding differ on %q", b)
	}
	if !ok {
		return false
	}
	ref, err := decodeBundleReference(b)
	if err != nil {
		t.Fatalf("fast path accepted %q, the reference refuses it: %v", b, err)
	}
	if !reflect.DeepEqual(fast, ref) {
		t.Fatalf("fast path and reference differ on %q:\nfast %+v\nref  %+v", b, fast, ref)
	}
	return true
}

const (
	patient   = `{"resourceType":"Patient","name":[{"family":"Anyperson","given":["John","B."]}],"birthDate":"1951-01-20"}`
	imm       = `{"resourceType":"Immunization","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"207"}]},"patient":{"reference":"resource:0"},"occurrenceDateTime":"2021-01-01","performer":[{"actor":{"display":"ABC General Hospital"}}],"lotNumber":"0000001"}`
	obs       = `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94558-4","display":"x"}],"text":"t"},"subject":{"reference":"Patient/1"},"effectiveDateTime":"2021-02-17","performer":[{"reference":"resource:2"}],"valueQuantity":{"value":12.50,"unit":"mg"},"meta":{"profile":["p"],"security":[]},"id":"x","text":{"div":"d"}}`
	org       = `{"resourceType":"Organization","name":"ACME Lab"}`
	orgNoName = `{"resourceType":"Organization","identifier":[{"value":"1"}]}`
)

func bundleOf(resources ...string) string {
	var e []string
	for i, r := range resources {
		e = append(e, fmt.Sprintf(`{"fullUrl":"resource:%d","resource":%s}`, i, r))
	}
	return `{"resourceType":"Bundle","type":"collection","entry":[` + strings.Join(e, ",") + `]}`
}

var bundleCases = []struct {
	name string
	in   string
	fast bool
}{
	{"immunization", bundleOf(patient, imm, imm), true},
	{"lab with organization", bundleOf(patient, obs, org), true},
	{"organization without name", bundleOf(orgNoName, obs), true},
	{"value concept and string", bundleOf(`{"resourceType":"Observation","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}]},"performer":[{"actor":{"reference":"resource:1"},"display":"d"}]}`, `{"resourceType":"Observation","valueString":"neg","code":null,"subject":null}`), true},
	{"name text and nulls", bundleOf(`{"resourceType":"Patient","name":[{"text":"J. Doe","given":null,"family":null}],"birthDate":null}`), true},
	{"empty arrays", bundleOf(`{"resourceType":"Patient","name":[]}`, `{"resourceType":"Immunization","performer":[],"vaccineCode":{"coding":[]}}`), true},
	{"no entry", `{"resourceType":"Bundle"}`, true},
	{"null entry", `{"resourceType":"Bundle","entry":null}`, true},
	{"fullUrl not resource", `{"entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"}}]}`, true},
	{"white space and escapes", "{ \"entry\" : [ {\"resource\": {\"resourceType\" : \"Pat\\u0069ent\", \"birthDate\":\"\\u00e9\"}, \"fullUrl\":\"resource:0\"} ] }", true},
	{"unknown members", bundleOf(`{"resourceType":"Condition","extension":[{"url":"x","valueBoolean":true}],"x":{"y":[1,2,null]}}`), true},
	{"duplicate status", bundleOf(`{"resourceType":"Immunization","status":"a","status":"b"}`), false},
	{"case variant", bundleOf(`{"resourceType":"Immunization","Status":"a"}`), false},
	{"escaped name", bundleOf(`{"resourceType":"Immunization","st\u0061tus":"a"}`), false},
	{"status number", bundleOf(`{"resourceType":"Immunization","status":1}`), false},
	{"quantity string", bundleOf(`{"resourceType":"Observation","valueQuantity":{"value":"1"}}`), false},
	{"resource not object", `{"entry":[{"fullUrl":"resource:0","resource":5}]}`, false},
	{"entry without resource", `{"entry":[{"fullUrl":"resource:0"}]}`, false},
	{"entry null", `{"entry":[null]}`, false},
	{"entry not array", `{"entry":{}}`, false},
	{"fullUrl number", `{"entry":[{"fullUrl":1,"resource":{}}]}`, false},
	{"lone surrogate", bundleOf(`{"resourceType":"Patient","birthDate":"\ud800"}`), false},
	{"deep", bundleOf(`{"resourceType":"Patient","x":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`), false},
}

func TestSummaryFastPath(t *testing.T) {
	for _, c := range bundleCases {
		t.Run(c.name, func(t *testing.T) {
			if got := checkBundlePaths(t, []byte(c.in)); got != c.fast {
				t.Fatalf("fast path took it: %v, want %v", got, c.fast)
			}
		})
	}
}

// More entries than the summary reads: the rest are checked, not decoded.
func TestSummaryFastPathManyEntries(t *testing.T) {
	rs := make([]string, maxSummaryEntries+20)
	for i := range rs {
		rs[i] = imm
	}
	b := bundleOf(rs...)
	if !checkBundlePaths(t, []byte(b)) {
		t.Fatal("fast path refused a long bundle")
	}
	bad := strings.Replace(b, `"fullUrl":"resource:510"`, `"fullUrl":510`, 1)
	if checkBundlePaths(t, []byte(bad)) {
		t.Fatal("fast path took a bad entry past the summary bound")
	}
	if s, _ := summarize([]byte(bad)); s != nil {
		t.Fatal("a bundle the reference cannot decode was summarized")
	}
}

// Every official bundle goes through the fast path.
func TestSummaryFastPathVectors(t *testing.T) {
	for i := 0; i <= 3; i++ {
		b := testvectors.Read(t, fmt.Sprintf("vci-spec-site/examples/example-%02d-a-fhirBundle.json", i))
		if !checkBundlePaths(t, b) {
			t.Errorf("example %02d: fast path refused an official bundle", i)
		}
	}
}

// FuzzSummaryDifferential: whenever the fast path accepts a bundle, the
// encoding/json reference reads exactly the same from it.
func FuzzSummaryDifferential(f *testing.F) {
	for _, c := range bundleCases {
		f.Add([]byte(c.in))
	}
	if testvectors.Available() {
		for i := 0; i <= 3; i++ {
			f.Add(testvectors.Read(f, fmt.Sprintf("vci-spec-site/examples/example-%02d-a-fhirBundle.json", i)))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkBundlePaths(t, b)
	})
}

// A performer that references an Organization entry without a display is
// named from that Organization (whose name is a string, not HumanNames).
func TestSummaryPerformerFromOrganization(t *testing.T) {
	bundle := []byte(`{"resourceType":"Bundle","type":"collection","entry":[
	 {"fullUrl":"resource:0","resource":{"resourceType":"Patient","name":[{"family":"Doe","given":["Jane"]}],"birthDate":"1980-02-03"}},
	 {"fullUrl":"resource:1","resource":{"resourceType":"Organization","name":"Example Reference Laboratory"}},
	 {"fullUrl":"resource:2","resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},
	   "subject":{"reference":"resource:0"},"performer":[{"reference":"resource:1"}],"effectiveDateTime":"2026-11-19",
	   "valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260415000"}]}}}]}`)
	for name, decode := range map[string]func([]byte) (*decodedBundle, bool){
		"fast":      func(b []byte) (*decodedBundle, bool) { return decodeBundleFast(b, false) },
		"reference": func(b []byte) (*decodedBundle, bool) { d, err := decodeBundleReference(b); return d, err == nil },
	} {
		d, ok := decode(bundle)
		if !ok || d.orgs["resource:1"] != "Example Reference Laboratory" {
			t.Errorf("%s: organization names = %v", name, d.orgs)
		}
	}
	s, _ := summarize(bundle)
	if len(s.LabResults) != 1 || s.LabResults[0].Performer != "Example Reference Laboratory" || s.Patient.Name != "Jane Doe" {
		t.Fatalf("summary = %+v", s)
	}
}

// The verified bundle handed to the caller is its own copy: writing to it
// cannot change the summary (whose strings point into the verifier's bytes).
func TestResultBundleIsACopy(t *testing.T) {
	k := newKey(t)
	card := signCard(t, k, testIss, cardNBF, nil)
	v, err := New(WithOffline(), WithClock(at(cardNBF+60)), WithStaticKeys(testIss, jwksOf(t, nil, k)))
	if err != nil {
		t.Fatal(err)
	}
	r := verifyOne(t, v, card)
	if !r.Valid || r.Summary == nil || r.Summary.Patient == nil {
		t.Fatalf("control card: %v", r.Errors)
	}
	before, _ := json.Marshal(r.Summary)
	for i := range r.FHIRBundle {
		r.FHIRBundle[i] = 'x'
	}
	if after, _ := json.Marshal(r.Summary); string(after) != string(before) {
		t.Fatalf("writing to Result.FHIRBundle changed the summary:\n%s\n%s", before, after)
	}
}

// What the decoder cannot read exactly as encoding/json would is not
// summarized at all: no second, lenient reader decides what a card shows.
func TestSummaryNoLenientFallback(t *testing.T) {
	for _, b := range []string{
		bundleOf(`{"resourceType":"Immunization","Status":"completed"}`), // encoding/json would read it as status
		bundleOf(`{"resourceType":"Immunization","status":1}`),
		`{"entry":[null]}`,
	} {
		s, warns := summarize([]byte(b))
		if s != nil || len(warns) != 1 || !strings.Contains(warns[0], "could not be summarized") {
			t.Errorf("summarize(%s) = %+v, %q", b, s, warns)
		}
	}
}
