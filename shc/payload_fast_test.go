package shc

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/internal/testvectors"
)

// checkPayloadPaths asserts the fast-path contract: whenever
// decodePayloadFast accepts b, the encoding/json reference accepts it too
// and yields the same claims. It reports whether the fast path accepted.
func checkPayloadPaths(t testing.TB, b []byte) bool {
	t.Helper()
	var fast, ref rawPayload
	if !decodePayloadFast(b, &fast) {
		return false
	}
	if err := decodePayloadReference(b, &ref); err != nil {
		t.Fatalf("fast path accepted %q, the reference refuses it: %v", b, err)
	}
	if !reflect.DeepEqual(fast, ref) {
		t.Fatalf("fast path and reference differ on %q:\nfast %s\nref  %s", b, dumpRaw(fast), dumpRaw(ref))
	}
	return true
}

func dumpRaw(r rawPayload) string {
	s := fmt.Sprintf("iss=%v nbf=%v exp=%v iat=%v", deref(r.Issuer), derefD(r.NotBefore), derefD(r.Expires), derefD(r.IssuedAt))
	if r.VC != nil {
		s += fmt.Sprintf(" type=%q rid=%v", r.VC.Type, deref(r.VC.RID))
		if cs := r.VC.CredentialSubject; cs != nil {
			s += fmt.Sprintf(" fhirVersion=%v bundle=%q", deref(cs.FHIRVersion), cs.FHIRBundle)
		}
	}
	return s
}

func deref(p *string) any {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func derefD(p *NumericDate) any {
	if p == nil {
		return "<nil>"
	}
	return *p
}

const hc = `"https://smarthealth.cards#health-card"`

// payloadCases are claim sets around the edges the two decoders could
// disagree on; fast says whether the fast path must take them itself.
var payloadCases = []struct {
	name string
	in   string
	fast bool
}{
	{"good", string(goodClaims), true},
	{"exp iat rid extra", `{"iss":"https://x","nbf":1.5,"exp":2e9,"iat":1,"x":[1,{"a":null}],"vc":{"type":[` + hc + `,"b"],"rid":"abc","credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":{"resourceType":"Bundle","entry":[]}},"y":true}}`, true},
	{"white space", " {\n\"iss\" : \"https://x\",\t\"nbf\":1 ,\"vc\":{\"type\":[" + hc + "],\"credentialSubject\":{\"fhirVersion\":\"4\",\"fhirBundle\": {\"a\" : 1} }}}\r\n", true},
	{"escaped iss", `{"iss":"https:\/\/x\u00e9\ud83d\ude00","nbf":1,"vc":{"type":[` + hc + `],"credentialSubject":{"fhirVersion":"4","fhirBundle":{}}}}`, true},
	{"non-ASCII iss", `{"iss":"https://é.example","nbf":1,"vc":{"type":[` + hc + `],"credentialSubject":{"fhirVersion":"4","fhirBundle":{}}}}`, true},
	{"empty type", `{"iss":"x","nbf":1,"vc":{"type":[],"credentialSubject":{"fhirVersion":"4","fhirBundle":{}}}}`, true},
	{"bundle not object", `{"iss":"x","nbf":1,"vc":{"type":[` + hc + `],"credentialSubject":{"fhirVersion":"4","fhirBundle":[1]}}}`, true},
	{"negative zero", `{"iss":"x","nbf":-0,"vc":{}}`, true},
	{"duplicate iss", `{"iss":"a","iss":"b","nbf":1,"vc":{}}`, false},
	{"duplicate vc", `{"iss":"a","nbf":1,"vc":{"rid":"x"},"vc":{"type":[]}}`, false},
	{"case variant", `{"iss":"a","ISS":"b","nbf":1,"vc":{}}`, false},
	{"case variant only", `{"Iss":"a","nbf":1,"vc":{}}`, false},
	{"dotless i", `{"ıss":"a","nbf":1,"vc":{}}`, false},
	{"escaped name", `{"i\u0073s":"a","nbf":1,"vc":{}}`, false},
	{"null iss", `{"iss":null,"nbf":1,"vc":{}}`, false},
	{"null bundle", `{"iss":"x","nbf":1,"vc":{"credentialSubject":{"fhirBundle":null}}}`, true},
	{"iss number", `{"iss":1,"nbf":1,"vc":{}}`, false},
	{"nbf string", `{"iss":"x","nbf":"1","vc":{}}`, false},
	{"nbf negative", `{"iss":"x","nbf":-1,"vc":{}}`, false},
	{"nbf huge", `{"iss":"x","nbf":1e400,"vc":{}}`, false},
	{"lone surrogate", `{"iss":"\ud800","nbf":1,"vc":{}}`, false},
	{"invalid UTF-8", "{\"iss\":\"\xff\",\"nbf\":1,\"vc\":{}}", false},
	{"trailing data", `{"iss":"x","nbf":1,"vc":{}} x`, false},
	{"not an object", `[1]`, false},
	{"null", `null`, false},
	{"type element null", `{"iss":"x","nbf":1,"vc":{"type":[null]}}`, false},
	{"deep", `{"iss":"x","nbf":1,"vc":{"credentialSubject":{"fhirBundle":{"a":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}}}}`, false},
	{"truncated", `{"iss":"x","nbf":1,"vc":{"type":[` + hc + `]`, false},
}

// The fast path takes the ordinary claim sets, refuses the unusual ones
// (which the reference then decides), and never disagrees with it.
func TestPayloadFastPath(t *testing.T) {
	for _, c := range payloadCases {
		t.Run(c.name, func(t *testing.T) {
			if got := checkPayloadPaths(t, []byte(c.in)); got != c.fast {
				t.Fatalf("fast path took it: %v, want %v", got, c.fast)
			}
		})
	}
}

// Every official payload goes through the fast path.
func TestPayloadFastPathVectors(t *testing.T) {
	forEachVector(t, func(t *testing.T, v vector) {
		if !checkPayloadPaths(t, bytes.TrimSpace(v.read(t, "c-jws-payload-minified.json"))) {
			t.Fatal("fast path refused an official payload")
		}
		if !checkPayloadPaths(t, v.read(t, "b-jws-payload-expanded.json")) {
			t.Fatal("fast path refused an official expanded payload")
		}
	})
}

// FuzzPayloadDifferential: whenever the fast path accepts, the
// encoding/json reference accepts with identical values.
func FuzzPayloadDifferential(f *testing.F) {
	for _, c := range payloadCases {
		f.Add([]byte(c.in))
	}
	if testvectors.Available() {
		for i := 0; i <= 3; i++ {
			f.Add(bytes.TrimSpace(testvectors.Read(f, fmt.Sprintf("vci-spec-site/examples/example-%02d-c-jws-payload-minified.json", i))))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkPayloadPaths(t, b)
	})
}
