package shc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/testvectors"
)

// oraclePayload is the claim set as encoding/json reads it: the test
// oracle for ParsePayload (pointers tell absent claims from zero ones).
type oraclePayload struct {
	Issuer    *string      `json:"iss"`
	NotBefore *NumericDate `json:"nbf"`
	Expires   *NumericDate `json:"exp"`
	VC        *struct {
		Type              []string `json:"type"`
		RID               *string  `json:"rid"`
		CredentialSubject *struct {
			FHIRVersion *string         `json:"fhirVersion"`
			FHIRBundle  json.RawMessage `json:"fhirBundle"`
		} `json:"credentialSubject"`
	} `json:"vc"`
}

// checkOracle asserts the differential property: whenever ParsePayload
// accepts b, encoding/json accepts it too and reads the same claims (the
// bundle compared as a decoded value). It reports whether ParsePayload
// accepted.
func checkOracle(t testing.TB, b []byte) bool {
	t.Helper()
	p, err := ParsePayload(b)
	if err != nil {
		if c := CodeOf(err); c != CodeBadPayload && c != CodeBadPayloadEncoding {
			t.Fatalf("ParsePayload(%q): code %q (%v), want bad_payload or bad_payload_encoding", b, c, err)
		}
		return false
	}
	var o oraclePayload
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatalf("strict reader accepted %q, the oracle refuses it: %v", b, err)
	}
	if o.Issuer == nil || o.NotBefore == nil || o.VC == nil || o.VC.CredentialSubject == nil || o.VC.CredentialSubject.FHIRVersion == nil {
		t.Fatalf("strict reader accepted %q, the oracle lacks a required claim", b)
	}
	cs := o.VC.CredentialSubject
	rid := ""
	if o.VC.RID != nil {
		rid = *o.VC.RID
	}
	if *o.Issuer != p.Issuer || *o.NotBefore != p.NotBefore || rid != p.VC.RID || *cs.FHIRVersion != p.VC.CredentialSubject.FHIRVersion ||
		!reflect.DeepEqual(o.VC.Type, p.VC.Type) || (o.Expires == nil) != (p.Expires == nil) || o.Expires != nil && *o.Expires != *p.Expires {
		t.Fatalf("strict reader and oracle differ on %q:\nstrict %+v\noracle iss=%q nbf=%v type=%q", b, p, *o.Issuer, *o.NotBefore, o.VC.Type)
	}
	var x, y any
	if json.Unmarshal(cs.FHIRBundle, &x) != nil || json.Unmarshal(p.VC.CredentialSubject.FHIRBundle, &y) != nil || !reflect.DeepEqual(x, y) {
		t.Fatalf("bundles differ on %q", b)
	}
	return true
}

const hc = `"https://smarthealth.cards#health-card"`

func claimsWith(rest string) string {
	return `{"iss":"x","nbf":1,"vc":{"type":[` + hc + `],"credentialSubject":{"fhirVersion":"4","fhirBundle":{` + rest + `}}}}`
}

// payloadCases: what the strict reader takes and what it refuses, with
// the code and a piece of the message (which names the member and path).
var payloadCases = []struct {
	name, in string
	code     Code   // "" when accepted
	msg      string // in the error message
}{
	{"good", string(goodClaims), "", ""},
	{"exp iat rid extra", `{"iss":"https://x","nbf":1.5,"exp":2e9,"iat":1,"x":[1,{"a":null}],"vc":{"type":[` + hc + `,"b"],"rid":"abc","credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":{"resourceType":"Bundle","entry":[]}},"y":true}}`, "", ""},
	{"white space", " {\n\"iss\" : \"https://x\",\t\"nbf\":1 ,\"vc\":{\"type\":[" + hc + "],\"credentialSubject\":{\"fhirVersion\":\"4\",\"fhirBundle\": {\"a\" : 1} }}}\r\n", "", ""},
	{"escaped iss value", `{"iss":"https:\/\/x\u00e9\ud83d\ude00","nbf":1,"vc":{"type":[` + hc + `],"credentialSubject":{"fhirVersion":"4","fhirBundle":{}}}}`, "", ""},
	{"non-ASCII iss", `{"iss":"https://é.example","nbf":1,"vc":{"type":[` + hc + `],"credentialSubject":{"fhirVersion":"4","fhirBundle":{}}}}`, "", ""},
	{"year 9999", `{"iss":"x","nbf":253402300799,"exp":253402300799,"vc":{"type":[` + hc + `],"credentialSubject":{"fhirVersion":"4","fhirBundle":{}}}}`, "", ""},
	{"same name in different objects", claimsWith(`"iss":"x","a":{"iss":1},"b":[{"iss":2}]`), "", ""},

	// Repeated, case-variant and escaped names, at every depth.
	{"duplicate iss", `{"iss":"a","iss":"b","nbf":1,"vc":{}}`, CodeBadPayload, `member "iss" is repeated (at $)`},
	{"duplicate vc", `{"iss":"a","nbf":1,"vc":{"rid":"x"},"vc":{"type":[]}}`, CodeBadPayload, `"vc" is repeated`},
	{"case variant", `{"iss":"a","ISS":"b","nbf":1,"vc":{}}`, CodeBadPayload, `member "ISS" differs only in letter case from "iss" (at $)`},
	{"case variant only", `{"Iss":"a","nbf":1,"vc":{}}`, CodeBadPayload, `member "Iss" is a variant spelling`},
	{"dotless i", `{"ıss":"a","nbf":1,"vc":{}}`, CodeBadPayload, `"ıss" is a variant spelling`},
	{"escaped name", `{"i\u0073s":"a","nbf":1,"vc":{}}`, CodeBadPayload, `member "i\\u0073s" is written with an escape`},
	{"second fhirBundle", `{"iss":"x","nbf":1,"vc":{"type":[` + hc + `],"credentialSubject":{"fhirVersion":"4","fhirBundle":{},"fhirBundle":{"a":1}}}}`, CodeBadPayload, `"fhirBundle" is repeated (at $.vc.credentialSubject)`},
	{"bundle duplicate deep", claimsWith(`"entry":[{"resource":{"a":1}},{"resource":{"code":{"coding":[{"code":"1","code":"2"}]}}}]`), CodeBadPayload, `"code" is repeated (at $.vc.credentialSubject.fhirBundle.entry[1].resource.code.coding[0])`},
	{"bundle case variant", claimsWith(`"resourceType":"Bundle","ResourceType":"x"`), CodeBadPayload, `"ResourceType" differs only in letter case from "resourceType" (at $.vc.credentialSubject.fhirBundle)`},
	{"bundle Kelvin sign", claimsWith("\"k\":1,\"\u212a\":2"), CodeBadPayload, `differs only in letter case from "k"`},
	{"bundle escaped name", claimsWith(`"entry":[{"\u0072esource":{}}]`), CodeBadPayload, `written with an escape (at $.vc.credentialSubject.fhirBundle.entry[0])`},
	{"unknown claim repeated", `{"x":1,"x":2,"iss":"a","nbf":1,"vc":{}}`, CodeBadPayload, `"x" is repeated`},

	// Types, null and dates.
	{"null iss", `{"iss":null,"nbf":1,"vc":{}}`, CodeBadPayload, "$.iss must be a string"},
	{"null exp", `{"iss":"x","nbf":1,"exp":null,"vc":{}}`, CodeBadPayload, "$.exp must be a NumericDate"},
	{"null rid", `{"iss":"x","nbf":1,"vc":{"rid":null}}`, CodeBadPayload, "$.vc.rid must be a string"},
	{"null type", `{"iss":"x","nbf":1,"vc":{"type":null}}`, CodeBadPayload, "$.vc.type must be an array"},
	{"null bundle", `{"iss":"x","nbf":1,"vc":{"credentialSubject":{"fhirBundle":null}}}`, CodeBadPayload, "fhirBundle must be a JSON object"},
	{"iss number", `{"iss":1,"nbf":1,"vc":{}}`, CodeBadPayload, "$.iss must be a string"},
	{"nbf string", `{"iss":"x","nbf":"1","vc":{}}`, CodeBadPayload, "$.nbf must be a NumericDate"},
	{"nbf negative", `{"iss":"x","nbf":-1,"vc":{}}`, CodeBadPayload, "$.nbf must be a NumericDate from 0"},
	{"nbf 1e400", `{"iss":"x","nbf":1e400,"vc":{}}`, CodeBadPayload, "$.nbf must be a NumericDate"},
	{"exp after year 9999", `{"iss":"x","nbf":1,"exp":253402300800,"vc":{}}`, CodeBadPayload, "$.exp must be a NumericDate from 0 to 253402300799"},
	{"nbf after year 9999", `{"iss":"x","nbf":1e15,"vc":{}}`, CodeBadPayload, "$.nbf must be a NumericDate"},
	{"type element null", `{"iss":"x","nbf":1,"vc":{"type":[null]}}`, CodeBadPayload, "$.vc.type[0] must be a string"},
	{"lone surrogate", `{"iss":"\ud800","nbf":1,"vc":{}}`, CodeBadPayload, "UTF-8 form"},
	{"invalid UTF-8", "{\"iss\":\"\xff\",\"nbf\":1,\"vc\":{}}", CodeBadPayloadEncoding, "not valid UTF-8"},
	{"invalid UTF-8 in bundle", claimsWith("\"a\":\"\xc3\""), CodeBadPayloadEncoding, "not valid UTF-8"},
	{"trailing data", `{"iss":"x","nbf":1,"vc":{}} x`, CodeBadPayload, "not a JSON claim set"},
	{"not an object", `[1]`, CodeBadPayload, "$ must be a JSON object"},
	{"null", `null`, CodeBadPayload, "$ must be a JSON object"},
	{"deep", claimsWith(`"a":` + strings.Repeat("[", 200) + strings.Repeat("]", 200)), CodeBadPayload, "nested deeper than 128"},
	{"truncated", `{"iss":"x","nbf":1,"vc":{"type":[` + hc + `]`, CodeBadPayload, "not a JSON claim set"},
	{"missing iss", `{"nbf":1,"vc":{}}`, CodeBadPayload, "missing iss"},
}

// Each case is accepted or refused with its code and a message naming the
// member; whatever is accepted, encoding/json reads the same way.
func TestParsePayloadStrict(t *testing.T) {
	for _, c := range payloadCases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParsePayload([]byte(c.in))
			if CodeOf(err) != c.code || err != nil && !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v, want code %q with %q", err, c.code, c.msg)
			}
			if got := checkOracle(t, []byte(c.in)); got != (c.code == "") {
				t.Fatalf("accepted = %v", got)
			}
		})
	}
}

// Every official payload is accepted and read as encoding/json reads it.
func TestParsePayloadVectors(t *testing.T) {
	forEachVector(t, func(t *testing.T, v vector) {
		if !checkOracle(t, bytes.TrimSpace(v.read(t, "c-jws-payload-minified.json"))) {
			t.Fatal("strict reader refused an official payload")
		}
		if !checkOracle(t, v.read(t, "b-jws-payload-expanded.json")) {
			t.Fatal("strict reader refused an official expanded payload")
		}
	})
}

// FuzzPayloadDifferential: whenever the strict reader accepts a claim set,
// the encoding/json oracle accepts it with identical values; refusals are
// bad_payload or bad_payload_encoding.
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
		checkOracle(t, b)
	})
}

// Marshal is encoding/json with HTML escaping off: "<", ">" and "&" stay.
func TestMarshalKeepsHTML(t *testing.T) {
	p := NewPayload("https://x.example", time.Unix(1, 0), json.RawMessage(`{ "a" : "<b>&" }`))
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"iss":"https://x.example","nbf":1,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":{"a":"<b>&"}}}}`
	if string(b) != want {
		t.Fatalf("Marshal = %s\nwant %s", b, want)
	}
	e := NumericDate(math.NaN())
	p.Expires = &e
	if _, err := p.Marshal(); CodeOf(err) != CodeBadPayload {
		t.Fatalf("NaN exp: %v", err)
	}
}

// Every official payload re-marshals to the signed bytes.
func TestMarshalVectors(t *testing.T) {
	forEachVector(t, func(t *testing.T, v vector) {
		c := bytes.TrimSpace(v.read(t, "c-jws-payload-minified.json"))
		p, err := ParsePayload(c)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := p.Marshal(); err != nil || !bytes.Equal(got, c) {
			t.Fatalf("Marshal does not reproduce the c-file (err %v)", err)
		}
	})
}

func randString(r *mrand.Rand) string {
	const alphabet = "abcXYZ019 -_:/.#\"\\\n\t<>&é中😀\u2028\x01\x7f"
	runes := []rune(alphabet)
	n := r.IntN(12)
	var sb strings.Builder
	for i := 0; i < n; i++ {
		sb.WriteRune(runes[r.IntN(len(runes))])
	}
	if r.IntN(10) == 0 {
		sb.WriteByte(0xff) // invalid UTF-8
	}
	return sb.String()
}

// randBundle returns random JSON whose objects have distinct names.
func randBundle(r *mrand.Rand, depth int) string {
	switch k := r.IntN(6); {
	case depth > 3 || k == 0:
		return []string{`1`, `-0.5e3`, `true`, `null`, `"x"`, `"\u00e9\n"`}[r.IntN(6)]
	case k <= 3:
		var m []string
		for i := 0; i < r.IntN(4); i++ {
			name := fmt.Sprintf(`"m%d_%s"`, i, []string{"a", "é", "中", "-/"}[r.IntN(4)])
			m = append(m, name+":"+randBundle(r, depth+1))
		}
		return "{" + strings.Join(m, ",") + "}"
	default:
		var a []string
		for i := 0; i < r.IntN(4); i++ {
			a = append(a, randBundle(r, depth+1))
		}
		return "[" + strings.Join(a, ",") + "]"
	}
}

// Property: what Marshal produces, ParsePayload reads back with the same
// values (strings through JSON: invalid UTF-8 becomes U+FFFD).
func TestMarshalParseProperty(t *testing.T) {
	r := mrand.New(mrand.NewPCG(7, 11))
	for i := 0; i < 2000; i++ {
		p := &Payload{
			Issuer:    "https://" + randString(r),
			NotBefore: NumericDate(r.Float64() * 2e9),
			VC: VC{
				Type:              []string{HealthCardType},
				CredentialSubject: CredentialSubject{FHIRVersion: randString(r) + "4", FHIRBundle: []byte(`{"resourceType":"Bundle","x":` + randBundle(r, 0) + `}`)},
			},
		}
		if r.IntN(2) == 0 {
			e := NumericDate(float64(r.Int64N(4e9)) / 1000)
			p.Expires = &e
		}
		if r.IntN(2) == 0 {
			p.VC.RID = randString(r)
		}
		if r.IntN(3) == 0 {
			p.VC.Type = append(p.VC.Type, randString(r))
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !checkOracle(t, b) {
			_, err := ParsePayload(b)
			t.Fatalf("ParsePayload(Marshal(p)): %v\n%s", err, b)
		}
		got, _ := ParsePayload(b)
		rt := func(s string) string { return strings.ToValidUTF8(s, "\ufffd") }
		want := *p
		want.Issuer, want.VC.RID = rt(p.Issuer), rt(p.VC.RID)
		want.VC.CredentialSubject.FHIRVersion = rt(p.VC.CredentialSubject.FHIRVersion)
		want.VC.Type = nil
		for _, s := range p.VC.Type {
			want.VC.Type = append(want.VC.Type, rt(s))
		}
		if !reflect.DeepEqual(got, &want) {
			t.Fatalf("round trip changed the payload:\n got %+v\nwant %+v", got, &want)
		}
	}
}

// Minify reads its input with the strict reader: a bundle it would
// otherwise pass on, to be signed and then refused, is refused here.
func TestMinifyStrict(t *testing.T) {
	for in, msg := range map[string]string{
		`{"resourceType":"Bundle","entry":[{"resource":{"id":"1","id":"2"}}]}`:     `"id" is repeated (at $.entry[0].resource)`,
		`{"resourceType":"Bundle","ResourceType":"Bundle"}`:                        `"ResourceType" differs only in letter case`,
		`{"resourceType":"Bundle","entry":[{"resource":{"st\u0061tus":"final"}}]}`: `written with an escape`,
	} {
		if _, err := Minify([]byte(in)); CodeOf(err) != CodeBadBundle || !strings.Contains(err.Error(), msg) {
			t.Errorf("Minify(%s): %v, want bad_bundle with %q", in, err, msg)
		}
	}
}

// Sign refuses to sign what the strict reader would refuse.
func TestSignRefusesWhatParseRefuses(t *testing.T) {
	k := newKey(t)
	for _, b := range []string{`{"resourceType":"Bundle","a":1,"A":2}`, `{"resourceType":"Bundle","x":{"y":1,"y":1}}`} {
		p := NewPayload("https://x.example", time.Unix(1, 0), json.RawMessage(b))
		if _, err := Sign(k, p); CodeOf(err) != CodeBadPayload {
			t.Errorf("Sign with bundle %s: %v", b, err)
		}
	}
	late := NumericDate(MaxNumericDate + 1)
	p := NewPayload("https://x.example", time.Unix(1, 0), json.RawMessage(`{"resourceType":"Bundle"}`))
	p.Expires = &late
	if _, err := Sign(k, p); CodeOf(err) != CodeBadPayload {
		t.Errorf("Sign with exp after year 9999: %v", err)
	}
}
