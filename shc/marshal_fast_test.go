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

	"github.com/healthcards/healthcards/internal/testvectors"
)

// checkMarshal asserts that Marshal gives exactly what encoding/json gives
// (the same bytes, or an error of the same code) and reports whether the
// append path took p.
func checkMarshal(t testing.TB, p *Payload) bool {
	t.Helper()
	want, werr := marshalReference(p)
	got, gerr := p.Marshal()
	if CodeOf(gerr) != CodeOf(werr) || (gerr == nil) != (werr == nil) {
		t.Fatalf("Marshal error %v, reference %v", gerr, werr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Marshal differs from encoding/json:\n got %q\nwant %q", got, want)
	}
	_, fast := appendPayload(nil, p)
	return fast
}

var trickyStrings = []string{
	"", "plain", `q"uote`, `back\slash`, "nl\n cr\r tab\t bs\b ff\f", "\x00\x01\x1f\x7f",
	"<html> & 'x'", "é ü 中文 😀", "\u2028\u2029", "bad\xffutf8\xc3", "\xed\xa0\x80", "/slash/",
}

func TestMarshalMatchesReference(t *testing.T) {
	exp := NumericDate(1.7e9 + 0.5)
	base := func() *Payload {
		return &Payload{Issuer: "https://x.example", NotBefore: 1687450764.656, Expires: &exp,
			VC: VC{Type: []string{HealthCardType}, RID: "abc",
				CredentialSubject: CredentialSubject{FHIRVersion: "4.0.1", FHIRBundle: []byte(`{"resourceType":"Bundle","a":"<b>&\u00e9"}`)}}}
	}
	cases := map[string]struct {
		mutate func(*Payload)
		fast   bool
	}{
		"full":               {func(p *Payload) {}, true},
		"no exp, no rid":     {func(p *Payload) { p.Expires = nil; p.VC.RID = "" }, true},
		"nil type":           {func(p *Payload) { p.VC.Type = nil }, true},
		"empty type":         {func(p *Payload) { p.VC.Type = []string{} }, true},
		"nil bundle":         {func(p *Payload) { p.VC.CredentialSubject.FHIRBundle = nil }, true},
		"negative zero":      {func(p *Payload) { p.NotBefore = NumericDate(math.Copysign(0, -1)) }, true},
		"huge date":          {func(p *Payload) { p.NotBefore = 1e300 }, true},
		"tiny date":          {func(p *Payload) { p.NotBefore = 5e-324 }, true},
		"bundle with spaces": {func(p *Payload) { p.VC.CredentialSubject.FHIRBundle = []byte("{ \"a\" : [1, 2] }\n") }, false},
		"empty bundle":       {func(p *Payload) { p.VC.CredentialSubject.FHIRBundle = []byte{} }, false},
		"invalid bundle":     {func(p *Payload) { p.VC.CredentialSubject.FHIRBundle = []byte(`{"a":}`) }, false},
		"non-UTF-8 bundle":   {func(p *Payload) { p.VC.CredentialSubject.FHIRBundle = []byte("{\"a\":\"\xff\"}") }, false},
		"NaN":                {func(p *Payload) { p.NotBefore = NumericDate(math.NaN()) }, false},
		"infinite exp":       {func(p *Payload) { e := NumericDate(math.Inf(1)); p.Expires = &e }, false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := base()
			c.mutate(p)
			if fast := checkMarshal(t, p); fast != c.fast {
				t.Fatalf("append path took it: %v, want %v", fast, c.fast)
			}
		})
	}
	for _, s := range trickyStrings {
		p := base()
		p.Issuer, p.VC.RID, p.VC.CredentialSubject.FHIRVersion = s, s, s
		p.VC.Type = []string{s, HealthCardType}
		if !checkMarshal(t, p) {
			t.Fatalf("append path refused string %q", s)
		}
	}
}

// Every official payload re-marshals through the append path to the
// signed bytes.
func TestMarshalVectorsFastPath(t *testing.T) {
	forEachVector(t, func(t *testing.T, v vector) {
		c := bytes.TrimSpace(v.read(t, "c-jws-payload-minified.json"))
		p, err := ParsePayload(c)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendPayload(nil, p)
		if !ok || !bytes.Equal(got, c) {
			t.Fatalf("append path: ok=%v, reproduces the c-file: %v", ok, bytes.Equal(got, c))
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

func randBundle(r *mrand.Rand, depth int) string {
	switch k := r.IntN(6); {
	case depth > 3 || k == 0:
		return []string{`1`, `-0.5e3`, `true`, `null`, `"x"`, `"\u00e9\n"`}[r.IntN(6)]
	case k <= 3:
		var m []string
		for i := 0; i < r.IntN(4); i++ {
			v, _ := json.Marshal(randString(r))
			m = append(m, string(v)+":"+randBundle(r, depth+1))
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

// Property: for random payloads Marshal equals encoding/json, and what it
// produces is read back by the ParsePayload fast path with the same values.
func TestMarshalParseProperty(t *testing.T) {
	r := mrand.New(mrand.NewPCG(7, 11))
	for i := 0; i < 3000; i++ {
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
		if !checkMarshal(t, p) {
			t.Fatalf("append path refused %+v", p)
		}
		b, _ := p.Marshal()
		if !checkPayloadPaths(t, b) && !strings.ContainsRune(string(b), 0xfffd) && utf8Clean(p) {
			t.Fatalf("fast parse refused a marshaled payload: %s", b)
		}
		got, err := ParsePayload(b)
		if err != nil {
			t.Fatalf("ParsePayload(Marshal(p)): %v\n%s", err, b)
		}
		want := *p
		want.Issuer = roundTrip(p.Issuer)
		want.VC.RID = roundTrip(p.VC.RID)
		want.VC.CredentialSubject.FHIRVersion = roundTrip(p.VC.CredentialSubject.FHIRVersion)
		want.VC.Type = nil
		for _, s := range p.VC.Type {
			want.VC.Type = append(want.VC.Type, roundTrip(s))
		}
		if !reflect.DeepEqual(got, &want) {
			t.Fatalf("round trip changed the payload:\n got %+v\nwant %+v", got, &want)
		}
	}
}

// roundTrip is what a string becomes through JSON: invalid UTF-8 turns into U+FFFD.
func roundTrip(s string) string { return strings.ToValidUTF8(s, "\ufffd") }

func utf8Clean(p *Payload) bool {
	all := p.Issuer + p.VC.RID + p.VC.CredentialSubject.FHIRVersion + strings.Join(p.VC.Type, "")
	return strings.ToValidUTF8(all, "") == all
}

// FuzzMarshal: Marshal is byte-identical to encoding/json for any strings,
// dates and bundle bytes.
func FuzzMarshal(f *testing.F) {
	f.Add("https://x.example", 1687450764.656, 0.0, "4.0.1", "rid", HealthCardType, []byte(`{"resourceType":"Bundle"}`))
	f.Add("\u2028\"\\", -1.0, math.Inf(1), "\xff", "", "<&>", []byte("{ }"))
	if testvectors.Available() {
		for i := 0; i <= 3; i++ {
			b := testvectors.Read(f, fmt.Sprintf("vci-spec-site/examples/example-%02d-a-fhirBundle.json", i))
			f.Add("https://spec.smarthealth.cards/examples/issuer", 1687450764.656, 0.0, "4.0.1", "", HealthCardType, compactOrSelf(b))
		}
	}
	f.Fuzz(func(t *testing.T, iss string, nbf, exp float64, ver, rid, typ string, bundle []byte) {
		p := &Payload{Issuer: iss, NotBefore: NumericDate(nbf), VC: VC{Type: []string{typ}, RID: rid,
			CredentialSubject: CredentialSubject{FHIRVersion: ver, FHIRBundle: bundle}}}
		if exp != 0 {
			e := NumericDate(exp)
			p.Expires = &e
		}
		checkMarshal(t, p)
	})
}

func compactOrSelf(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}
