package shc

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/keys"
)

const labBundle = `{"resourceType":"Bundle","type":"collection","entry":[` +
	`{"fullUrl":"resource:0","resource":{"resourceType":"Patient","name":[{"family":"Doe","given":["Jane"]}],"birthDate":"1980-02-03"}},` +
	`{"fullUrl":"resource:1","resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},` +
	`"subject":{"reference":"resource:0"},"effectiveDateTime":"2026-11-20","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}]}}}]}`

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signed(t testing.TB, k *ecdsa.PrivateKey, mutate func(*Payload)) string {
	t.Helper()
	p := NewPayload("https://lab.example.org", time.Date(2026, 11, 20, 10, 0, 0, 123e6, time.UTC), json.RawMessage(labBundle))
	if mutate != nil {
		mutate(p)
	}
	jws, err := Sign(k, p)
	if err != nil {
		t.Fatal(err)
	}
	return jws
}

// HDR-2..5, HDR-7: a signed card has the pinned header, raw-DEFLATE payload,
// a 64-byte r||s signature and kid = thumbprint, and verifies.
func TestSignRoundTrip(t *testing.T) {
	k := newKey(t)
	jws := signed(t, k, func(p *Payload) { p.VC.RID = "abc_-123"; e := NumericDate(1900000000.5); p.Expires = &e })
	h, p, s := cut3(jws)
	hb, _ := base64.RawURLEncoding.DecodeString(h)
	var hdr map[string]string
	if err := json.Unmarshal(hb, &hdr); err != nil {
		t.Fatal(err)
	}
	kid, _ := keys.Thumbprint(&k.PublicKey)
	if hdr["alg"] != "ES256" || hdr["zip"] != "DEF" || hdr["kid"] != kid || len(hdr) != 3 {
		t.Fatalf("header = %v, want exactly alg ES256, zip DEF, kid %s", hdr, kid)
	}
	pb, _ := base64.RawURLEncoding.DecodeString(p)
	if _, err := zlib.NewReader(bytes.NewReader(pb)); err == nil {
		t.Errorf("payload has a zlib header; HDR-7 wants raw DEFLATE")
	}
	if sb, _ := base64.RawURLEncoding.DecodeString(s); len(sb) != 64 {
		t.Errorf("signature is %d bytes, want 64 (HDR-5)", len(sb))
	}
	card, err := Parse(jws)
	if err != nil {
		t.Fatal(err)
	}
	if err := card.VerifySignature(&k.PublicKey); err != nil {
		t.Fatal(err)
	}
	got := card.UnsafePayloadWithoutVerification()
	if got.VC.RID != "abc_-123" || got.Expires == nil || *got.Expires != 1900000000.5 || got.NotBefore != 1795168800.123 {
		t.Errorf("claims did not round-trip: %+v", got)
	}
	if err := card.VerifySignature(&newKey(t).PublicKey); CodeOf(err) != CodeBadSignature {
		t.Errorf("other key: %v", err)
	}
}

func TestSignRefuses(t *testing.T) {
	k384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := NewSigner(k384); CodeOf(err) != CodeBadKey {
		t.Errorf("P-384 key: err = %v, want bad_key (KEY-1)", err)
	}
	k := newKey(t)
	for name, mutate := range map[string]func(*Payload){
		"no health-card type": func(p *Payload) { p.VC.Type = []string{ImmunizationType} },
		"rid too long":        func(p *Payload) { p.VC.RID = strings.Repeat("a", 25) },
		"rid bad alphabet":    func(p *Payload) { p.VC.RID = "a.b" },
		"no iss":              func(p *Payload) { p.Issuer = "" },
	} {
		p := NewPayload("https://lab.example.org", time.Now(), json.RawMessage(labBundle))
		mutate(p)
		if _, err := Sign(k, p); CodeOf(err) != CodeBadPayload {
			t.Errorf("%s: err = %v, want bad_payload", name, err)
		}
	}
}

// rawJWS assembles a JWS from a header and claims, signing with k (nil: zero signature).
func rawJWS(t *testing.T, header string, claims []byte, k *ecdsa.PrivateKey, deflate bool) string {
	t.Helper()
	payload := claims
	if deflate {
		payload = Deflate(claims)
	}
	in := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig := make([]byte, 64)
	if k != nil {
		d := sha256.Sum256([]byte(in))
		r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
		if err != nil {
			t.Fatal(err)
		}
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

var goodClaims = []byte(`{"iss":"https://x.example","nbf":1700000000,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":{"resourceType":"Bundle"}}}}`)

// HDR-8 and friends: every malformed card gets its stable code, never a panic.
func TestParseRejects(t *testing.T) {
	k := newKey(t)
	good := rawJWS(t, `{"zip":"DEF","alg":"ES256","kid":"k"}`, goodClaims, k, true)
	if _, err := Parse(good); err != nil {
		t.Fatalf("control card: %v", err)
	}
	h, p, s := cut3(good)
	der, _ := ecdsa.SignASN1(rand.Reader, k, make([]byte, 32))
	claims := func(s string) []byte { return []byte(s) }
	cases := []struct {
		name string
		jws  string
		code Code
	}{
		{"empty", "", CodeMalformedJWS},
		{"two parts", h + "." + p, CodeMalformedJWS},
		{"four parts", good + ".x", CodeMalformedJWS},
		{"empty signature", h + "." + p + ".", CodeMalformedJWS},
		{"header not base64url", "*." + p + "." + s, CodeMalformedJWS},
		{"header padded base64", base64.URLEncoding.EncodeToString([]byte(`{"zip":"DEF","alg":"ES256","kid":"kk"}`)) + "." + p + "." + s, CodeMalformedJWS},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("nope")) + "." + p + "." + s, CodeMalformedJWS},
		{"alg none", rawJWS(t, `{"zip":"DEF","alg":"none","kid":"k"}`, goodClaims, nil, true), CodeUnsupportedAlg},
		{"alg HS256", rawJWS(t, `{"zip":"DEF","alg":"HS256","kid":"k"}`, goodClaims, nil, true), CodeUnsupportedAlg},
		{"alg ES384", rawJWS(t, `{"zip":"DEF","alg":"ES384","kid":"k"}`, goodClaims, nil, true), CodeUnsupportedAlg},
		{"alg lower-case", rawJWS(t, `{"zip":"DEF","alg":"es256","kid":"k"}`, goodClaims, nil, true), CodeUnsupportedAlg},
		{"alg name case", rawJWS(t, `{"zip":"DEF","ALG":"ES256","kid":"k"}`, goodClaims, nil, true), CodeMalformedJWS},
		{"alg and ALG", rawJWS(t, `{"zip":"DEF","ALG":"none","alg":"ES256","kid":"k"}`, goodClaims, nil, true), CodeMalformedJWS},
		{"escaped header name", rawJWS(t, `{"zip":"DEF","\u0061lg":"ES256","kid":"k"}`, goodClaims, nil, true), CodeMalformedJWS},
		{"duplicate alg", rawJWS(t, `{"zip":"DEF","alg":"none","alg":"ES256","kid":"k"}`, goodClaims, nil, true), CodeMalformedJWS},
		{"no zip", rawJWS(t, `{"alg":"ES256","kid":"k"}`, goodClaims, nil, false), CodeUnsupportedAlg},
		{"crit", rawJWS(t, `{"zip":"DEF","alg":"ES256","kid":"k","crit":["b64"]}`, goodClaims, nil, true), CodeUnsupportedAlg},
		{"no kid", rawJWS(t, `{"zip":"DEF","alg":"ES256"}`, goodClaims, nil, true), CodeMalformedJWS},
		{"kid not string", rawJWS(t, `{"zip":"DEF","alg":"ES256","kid":7}`, goodClaims, nil, true), CodeMalformedJWS},
		{"DER signature", h + "." + p + "." + base64.RawURLEncoding.EncodeToString(der), CodeMalformedJWS},
		{"payload not deflated", rawJWS(t, `{"zip":"DEF","alg":"ES256","kid":"k"}`, goodClaims, nil, false), CodeBadPayloadEncoding},
		{"payload zlib", h + "." + base64.RawURLEncoding.EncodeToString(zlibBytes(goodClaims)) + "." + s, CodeBadPayloadEncoding},
		{"payload not base64url", h + ".***." + s, CodeBadPayloadEncoding},
		{"claims not JSON", rawJWS(t, `{"zip":"DEF","alg":"ES256","kid":"k"}`, claims("{"), nil, true), CodeBadPayload},
		{"no iss", rawJWS(t, `{"zip":"DEF","alg":"ES256","kid":"k"}`, claims(`{"nbf":1,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":{}}}}`), nil, true), CodeBadPayload},
		{"nbf string", rawJWS(t, `{"zip":"DEF","alg":"ES256","kid":"k"}`, claims(`{"iss":"https://x","nbf":"1","vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":{}}}}`), nil, true), CodeBadPayload},
		{"iat without nbf (PAY-9)", rawJWS(t, `{"zip":"DEF","alg":"ES256","kid":"k"}`, claims(`{"iss":"https://x","iat":1,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":{}}}}`), nil, true), CodeBadPayload},
		{"no health-card type", rawJWS(t, `{"zip":"DEF","alg":"ES256","kid":"k"}`, claims(`{"iss":"https://x","nbf":1,"vc":{"type":["x"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":{}}}}`), nil, true), CodeBadPayload},
		{"bundle not object", rawJWS(t, `{"zip":"DEF","alg":"ES256","kid":"k"}`, claims(`{"iss":"https://x","nbf":1,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":"x"}}}`), nil, true), CodeBadPayload},
		{"too long", strings.Repeat("a", DefaultMaxJWSBytes+1), CodePayloadTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			card, err := Parse(tc.jws)
			if card != nil || err == nil {
				t.Fatalf("Parse succeeded, want %s", tc.code)
			}
			if CodeOf(err) != tc.code {
				t.Fatalf("err = %v, want code %s", err, tc.code)
			}
			if !IsMalformed(err) {
				t.Errorf("decode failure %v is not IsMalformed", err)
			}
			if !errors.Is(err, &Error{Code: tc.code}) {
				t.Errorf("errors.Is with a fresh sentinel of the same code failed")
			}
		})
	}
}

func zlibBytes(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// A 16 MiB deflate bomb is refused after inflating at most the limit.
func TestInflateBomb(t *testing.T) {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	zero := make([]byte, 1<<20)
	for i := 0; i < 16; i++ {
		w.Write(zero)
	}
	w.Close()
	bomb := buf.Bytes()
	const limit = 64 << 10
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Inflate(bomb, limit)
	runtime.ReadMemStats(&after)
	if CodeOf(err) != CodePayloadTooLarge {
		t.Fatalf("err = %v, want payload_too_large", err)
	}
	// The output buffer never grows far past the limit: well under 16 MiB allocated.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("inflating the bomb allocated %d bytes; it should stop at the %d-byte limit", alloc, limit)
	}
	// Through Parse with the default limits, too.
	jws := rawJWS(t, `{"zip":"DEF","alg":"ES256","kid":"k"}`, nil, nil, false)
	h, _, s := cut3(jws)
	_, err = ParseWithLimits(h+"."+base64.RawURLEncoding.EncodeToString(bomb)+"."+s, Limits{MaxPayloadBytes: 1 << 20})
	if CodeOf(err) != CodePayloadTooLarge {
		t.Fatalf("Parse bomb: err = %v, want payload_too_large", err)
	}
}

func TestNumeric(t *testing.T) {
	// QR-2: "-" is 00, "X" 43, "z" 77; leading zeros kept.
	d, err := EncodeNumeric("-.Xz0")
	if err != nil || d != "0001437703" {
		t.Fatalf("EncodeNumeric = %q, %v", d, err)
	}
	if s, err := DecodeNumeric(d); err != nil || s != "-.Xz0" {
		t.Fatalf("DecodeNumeric = %q, %v", s, err)
	}
	if _, err := EncodeNumeric("a b"); CodeOf(err) != CodeMalformedJWS {
		t.Errorf("space: %v", err)
	}
	for name, tc := range map[string]struct {
		in   []string
		code Code
	}{
		"odd digits":     {[]string{"shc:/123"}, CodeMalformedQR},
		"pair over 77":   {[]string{"shc:/78"}, CodeMalformedQR},
		"no prefix":      {[]string{"5676"}, CodeMalformedQR},
		"non-digit":      {[]string{"shc:/56a6"}, CodeMalformedQR},
		"empty":          {[]string{"shc:/"}, CodeMalformedQR},
		"C > N":          {[]string{"shc:/3/2/5656"}, CodeMalformedQR},
		"C zero":         {[]string{"shc:/0/2/5656"}, CodeMalformedQR},
		"bad prefix":     {[]string{"shc:/1/5656"}, CodeMalformedQR},
		"mixed totals":   {[]string{"shc:/1/2/5656", "shc:/2/3/5656"}, CodeMalformedQR},
		"duplicate":      {[]string{"shc:/1/2/5656", "shc:/1/2/5656"}, CodeMalformedQR},
		"missing chunk":  {[]string{"shc:/1/3/5656", "shc:/3/3/5656"}, CodeChunkMissing},
		"nothing at all": {nil, CodeMalformedQR},
	} {
		if _, err := DecodeQRText(tc.in...); CodeOf(err) != tc.code {
			t.Errorf("%s: err = %v, want %s", name, err, tc.code)
		}
	}
	// Whitespace and an upper-case scheme are tolerated.
	if s, err := DecodeQRText("  SHC:/5676\r\n"); err != nil || s != "ey" {
		t.Errorf("tolerant decode = %q, %v", s, err)
	}
}

// QR-5: chunks are balanced, not 1191 + remainder.
func TestChunksBalanced(t *testing.T) {
	jws := strings.Repeat("a", 1200)
	chunks, err := EncodeQRChunks(jws, 0)
	if err != nil || len(chunks) != 2 {
		t.Fatalf("chunks = %d, %v", len(chunks), err)
	}
	for i, c := range chunks {
		q, _ := ParseQRText(c)
		if len(q.Digits)/2 != 600 || q.Index != i+1 || q.Total != 2 {
			t.Errorf("chunk %d: %d chars, %d/%d", i, len(q.Digits)/2, q.Index, q.Total)
		}
	}
	if got, err := DecodeQRText(chunks[1], chunks[0]); err != nil || got != jws {
		t.Errorf("reverse-order join failed: %v", err)
	}
	single, _ := EncodeQRChunks("abc", 0)
	if len(single) != 1 || !strings.HasPrefix(single[0], "shc:/") || strings.Count(single[0], "/") != 1 {
		t.Errorf("short card should be one unprefixed text: %v", single)
	}
}

func TestExtractJWS(t *testing.T) {
	k := newKey(t)
	jws := signed(t, k, nil)
	qrText, _ := EncodeQRText(jws)
	chunks, _ := EncodeQRChunks(jws, 300)
	file, _ := MarshalFile(jws, jws)
	params := `{"resourceType":"Parameters","parameter":[{"name":"verifiableCredential","valueString":"` + jws + `"},{"name":"resourceLink","part":[]}]}`
	for _, tc := range []struct {
		name  string
		in    string
		kind  InputKind
		cards int
	}{
		{"jws", "\n" + jws + "\n", KindJWS, 1},
		{"qr text", qrText, KindQRText, 1},
		{"chunks reversed", strings.Join([]string{chunks[2], chunks[0], chunks[1]}, "\n"), KindQRText, 1},
		{"file", string(file), KindFile, 2},
		{"parameters", params, KindParameters, 1},
	} {
		got, kind, err := ExtractJWS([]byte(tc.in))
		if err != nil || kind != tc.kind || len(got) != tc.cards || got[0] != jws {
			t.Errorf("%s: got %d cards of kind %s, err %v", tc.name, len(got), kind, err)
		}
	}
	for _, bad := range []string{"", "hello", `{"foo":1}`, `{"verifiableCredential":[]}`, `{"resourceType":"Parameters"}`, "shc:/1/2/5656"} {
		if _, _, err := ExtractJWS([]byte(bad)); err == nil || !IsMalformed(err) {
			t.Errorf("%q: err = %v, want a malformed error", bad, err)
		}
	}
}

func TestNumericDate(t *testing.T) {
	// PAY-2, REV-9: fractions kept, never rounded up.
	d := NewNumericDate(time.Unix(1687450764, 656999999))
	if d != 1687450764.656 {
		t.Errorf("NewNumericDate = %v, want truncation to 1687450764.656", d)
	}
	b, _ := json.Marshal(d)
	if string(b) != "1687450764.656" {
		t.Errorf("marshal = %s", b)
	}
	var back NumericDate
	for _, bad := range []string{`"1"`, `-1`, `null`, `1e400`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if d.Time().UnixMilli() != 1687450764656 {
		t.Errorf("Time() = %v", d.Time())
	}
}

func TestMinifyRules(t *testing.T) {
	in := `{"resourceType":"Bundle","id":"b1","meta":{"lastUpdated":"2020"},"type":"collection","entry":[
	 {"fullUrl":"https://ehr.example/fhir/Patient/p1","resource":{"resourceType":"Patient","id":"p1","meta":{"versionId":"1"},"text":{"div":"<div/>"},"name":[{"text":"Jane Doe","family":"Doe"}]}},
	 {"fullUrl":"https://ehr.example/fhir/Observation/o1","resource":{"resourceType":"Observation","id":"o1","meta":{"security":[{"code":"IAL2"}]},
	   "code":{"coding":[{"system":"http://loinc.org","code":"94500-6","display":"SARS-CoV-2 RNA"}],"text":"COVID PCR"},
	   "subject":{"reference":"Patient/p1","display":"Jane <Doe> & co"},"performer":[{"reference":"https://ehr.example/fhir/Patient/p1"}]}}]}`
	got, err := Minify([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Bundle","type":"collection","entry":[` +
		`{"fullUrl":"resource:0","resource":{"resourceType":"Patient","name":[{"text":"Jane Doe","family":"Doe"}]}},` +
		`{"fullUrl":"resource:1","resource":{"resourceType":"Observation","meta":{"security":[{"code":"IAL2"}]},` +
		`"code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},` +
		`"subject":{"reference":"resource:0","display":"Jane <Doe> & co"},"performer":[{"reference":"resource:0"}]}}]}`
	if string(got) != want {
		t.Fatalf("Minify:\n got %s\nwant %s", got, want)
	}
	for _, bad := range []string{`{"resourceType":"Patient"}`, `[1]`, `{`, `{"resourceType":"Bundle","entry":{}}`, `{"resourceType":"Bundle","entry":[1]}`,
		`{"resourceType":"Bundle","x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`} {
		if _, err := Minify([]byte(bad)); CodeOf(err) != CodeBadBundle {
			t.Errorf("%.40s: err = %v, want bad_bundle", bad, err)
		}
	}
}

func TestBundleProblems(t *testing.T) {
	ok, err := BundleProblems([]byte(labBundle))
	if err != nil || len(ok) != 0 {
		t.Fatalf("clean bundle: %v, %v", ok, err)
	}
	bad := `{"resourceType":"Bundle","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Observation",
	  "subject":{"reference":"Patient/p9"},"performer":[{"reference":"Organization/o1"},{"reference":"Organization/o1"}],"contained":[],"specimen":{"reference":"#s1"}}}]}`
	got, err := BundleProblems([]byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fullUrl", "no Patient", `"Patient/p9"`, `"Organization/o1"`}
	if len(got) != len(want) {
		t.Fatalf("problems = %q, want %d", got, len(want))
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) && !strings.Contains(strings.Join(got, "|"), w) {
			t.Errorf("missing problem about %s in %q", w, got)
		}
	}
	if _, err := BundleProblems([]byte(`{"resourceType":"Patient"}`)); CodeOf(err) != CodeBadBundle {
		t.Errorf("not a bundle: %v", err)
	}
}

// lastSegments finds the last k segments of a reference without
// splitting it (MIN-7 matches "Type/id" tails of fullUrls).
func TestLastSegments(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://x.org/fhir/Patient/1", "Patient/1"}, {"Patient/1", "Patient/1"}, {"Patient/1/", "Patient/1"},
		{"1", ""}, {"", ""}, {"x//b", "/b"}, {"/b", "/b"}, {"urn:uuid:abc", ""},
	} {
		if got := lastSegments(c.in, 2); got != c.want {
			t.Errorf("lastSegments(%q, 2) = %q; want %q", c.in, got, c.want)
		}
	}
	if n := testing.AllocsPerRun(10, func() { lastSegments("https://x.org/fhir/Patient/1", 2) }); n != 0 {
		t.Errorf("lastSegments allocates %.0f times; want 0", n)
	}
}
