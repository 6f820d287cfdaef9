package shl

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/testvectors"
)

const specKey = "rxTgYlOaKJPFtcEd0qcceN8wEU4p94SqAwIWQe6uX7Q"

func mustCode(t *testing.T, err error, want Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want %s", want)
	}
	if got := CodeOf(err); got != want {
		t.Fatalf("got code %q (%v), want %q", got, err, want)
	}
}

// SHL-3: the bare link and the viewer link from the HL7 spec page parse to
// the same payload, which re-encodes byte for byte.
func TestParse_SHL3_SpecExamples(t *testing.T) {
	bare := string(testvectors.Read(t, "derived-from-spec-text/links-specification.shlink-example-bare.txt"))
	viewer := string(testvectors.Read(t, "derived-from-spec-text/links-specification.shlink-example-with-viewer.txt"))
	want := Payload{
		URL:   "https://ehr.example.org/qr/Y9xwkUdtmN9wwoJoN3ffJIhX2UGvCL1JnlPVNL3kDWM/m",
		Flag:  "LP",
		Key:   specKey,
		Label: "Back-to-school immunizations for Oliver Brown",
	}
	for name, s := range map[string]string{"bare": bare, "viewer": viewer} {
		t.Run(name, func(t *testing.T) {
			p, err := Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			if *p != want {
				t.Fatalf("got %+v, want %+v", *p, want)
			}
			if !p.HasFlag('P') || p.HasFlag('U') {
				t.Fatal("flags")
			}
		})
	}
	p, _ := Parse(bare)
	if got := p.URI(""); got != strings.TrimSpace(bare) {
		t.Fatalf("re-encoded bare link differs:\n%s\n%s", got, bare)
	}
	if got := p.URI("https://viewer.example.org"); got != strings.TrimSpace(viewer) {
		t.Fatalf("re-encoded viewer link differs:\n%s\n%s", got, viewer)
	}
}

// The IG's IPS link (LU) and its details file; the details file swaps the
// shlink / shlinkBare labels (shc-rules §17), so both values are checked
// without trusting the labels.
func TestParse_IPSLinkAndDetails(t *testing.T) {
	s := string(testvectors.Read(t, "hl7-ig/input/images/IPS_IG-bundle-01-shl.txt"))
	p, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if p.Flag != "LU" || p.Label != "Demo SHL for IPS_IG-bundle-01" || p.Key != specKey ||
		p.URL != "https://raw.githubusercontent.com/seanno/shc-demo-data/main/ips/IPS_IG-bundle-01-enc.txt" {
		t.Fatalf("unexpected payload %+v", p)
	}
	var details struct {
		Payload    json.RawMessage `json:"shlinkJsonPayload"`
		Shlink     string          `json:"shlink"`
		ShlinkBare string          `json:"shlinkBare"`
	}
	if err := json.Unmarshal(testvectors.Read(t, "hl7-ig/input/images/IPS_IG-bundle-01-shl-details.json"), &details); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{details.Shlink, details.ShlinkBare} {
		q, err := Parse(u)
		if err != nil || *q != *p {
			t.Fatalf("details URI %q: %+v %v", u, q, err)
		}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, details.Payload); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.JSON(), compact.Bytes()) {
		t.Fatalf("minified payload differs:\n%s\n%s", p.JSON(), compact.Bytes())
	}
	if p.URI("") != details.Shlink {
		t.Fatal("bare URI does not re-encode byte for byte")
	}
}

func TestParse_CARINLinks(t *testing.T) {
	a := testvectors.Read(t, "hl7-ig/input/images/CARIN_INS_CD-bundle-01-shl.txt")
	b := testvectors.Read(t, "third-party/seanno-shc-demo-data/cards/carin-insurance-example/shl.txt")
	pa, err := Parse(string(a))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := Parse(string(b))
	if err != nil {
		t.Fatal(err)
	}
	var want Payload
	if err := json.Unmarshal(testvectors.Read(t, "third-party/seanno-shc-demo-data/cards/carin-insurance-example/shl.json"), &want); err != nil {
		t.Fatal(err)
	}
	if *pa != want || *pb != want {
		t.Fatalf("got %+v / %+v, want %+v", pa, pb, want)
	}
	// shl-expired.txt has exp 1 (1970): it parses, and is expired.
	pe, err := Parse(string(testvectors.Read(t, "third-party/seanno-shc-demo-data/cards/carin-insurance-example/shl-expired.txt")))
	if err != nil {
		t.Fatal(err)
	}
	if pe.Exp != 1 || !pe.Expired(time.Now()) {
		t.Fatalf("exp = %d", pe.Exp)
	}
}

// shl-payload-1.json: exp is the string "1767225600000" (milliseconds) and
// label is misspelled labelzzz. We refuse the string exp with
// malformed_link (documented on Parse); with exp fixed to seconds the
// unknown labelzzz is ignored (SHL-6) and v:1 is accepted.
func TestParse_SHL2_IGPayload1Quirks(t *testing.T) {
	raw := testvectors.Read(t, "hl7-ig/input/resources/shl-payload-1.json")
	_, err := ParsePayloadJSON(compactJSON(t, raw))
	mustCode(t, err, CodeMalformedLink)
	if !strings.Contains(err.Error(), "exp must be a JSON number") {
		t.Fatalf("unclear message: %v", err)
	}
	_, err = Parse(scheme + base64.RawURLEncoding.EncodeToString(compactJSON(t, raw)))
	mustCode(t, err, CodeMalformedLink)

	ms := bytes.Replace(raw, []byte(`"1767225600000"`), []byte(`1767225600000`), 1)
	_, err = ParsePayloadJSON(compactJSON(t, ms))
	mustCode(t, err, CodeMalformedLink)
	if !strings.Contains(err.Error(), "milliseconds") {
		t.Fatalf("unclear message: %v", err)
	}

	secs := bytes.Replace(raw, []byte(`"1767225600000"`), []byte(`1767225600`), 1)
	p, err := ParsePayloadJSON(compactJSON(t, secs))
	if err != nil {
		t.Fatal(err)
	}
	if p.Exp != 1767225600 || p.Label != "" || p.Flag != "LP" || p.V != 1 {
		t.Fatalf("got %+v", p)
	}
}

func TestParse_IGPayload2(t *testing.T) {
	raw := testvectors.Read(t, "hl7-ig/input/resources/shl-payload-2.json")
	p, err := ParsePayloadJSON(compactJSON(t, raw))
	if err != nil {
		t.Fatal(err)
	}
	if p.Flag != "LU" || p.Key != specKey {
		t.Fatalf("got %+v", p)
	}
}

func compactJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func enc(js string) string { return scheme + base64.RawURLEncoding.EncodeToString([]byte(js)) }

func TestParse_Rules(t *testing.T) {
	const u = `"url":"https://x.example/m"`
	const k = `"key":"` + specKey + `"`
	tests := []struct {
		name string
		in   string
		code Code
		flag string
	}{
		{"minimal", enc(`{` + u + `,` + k + `}`), "", ""},
		{"SHL6_unknown_flag_letters_ignored", enc(`{` + u + `,` + k + `,"flag":"XLQ"}`), "", "L"},
		{"SHL5_flags_reordered", enc(`{` + u + `,` + k + `,"flag":"PL"}`), "", "LP"},
		{"SHL6_unknown_property_ignored", enc(`{` + u + `,` + k + `,"_ext":{"a":1},"extension":[]}`), "", ""},
		{"SHL5_U_with_P", enc(`{` + u + `,` + k + `,"flag":"PU"}`), CodeMalformedLink, ""},
		{"SHL8_v2", enc(`{` + u + `,` + k + `,"v":2}`), CodeUnsupportedVersion, ""},
		{"SHL8_v2_even_if_rest_unknown", enc(`{"v":2,"somethingnew":true}`), CodeUnsupportedVersion, ""},
		{"v_zero", enc(`{` + u + `,` + k + `,"v":0}`), CodeMalformedLink, ""},
		{"v_fraction", enc(`{` + u + `,` + k + `,"v":1.5}`), CodeMalformedLink, ""},
		{"v_one", enc(`{` + u + `,` + k + `,"v":1}`), "", ""},
		{"exp_fraction_ok", enc(`{` + u + `,` + k + `,"exp":1767225600.5}`), "", ""},
		{"exp_negative", enc(`{` + u + `,` + k + `,"exp":-1}`), CodeMalformedLink, ""},
		{"exp_bool", enc(`{` + u + `,` + k + `,"exp":true}`), CodeMalformedLink, ""},
		{"SHL1_short_key", enc(`{` + u + `,"key":"abc"}`), CodeMalformedLink, ""},
		{"SHL1_key_not_b64", enc(`{` + u + `,"key":"` + strings.Repeat("*", 43) + `"}`), CodeMalformedLink, ""},
		{"no_url", enc(`{` + k + `}`), CodeMalformedLink, ""},
		{"url_not_string", enc(`{"url":5,` + k + `}`), CodeMalformedLink, ""},
		{"url_ftp", enc(`{"url":"ftp://x.example/m",` + k + `}`), CodeMalformedLink, ""},
		{"SHL4_url_too_long", enc(`{"url":"https://x.example/` + strings.Repeat("a", 120) + `",` + k + `}`), CodeMalformedLink, ""},
		{"SHL7_label_81", enc(`{` + u + `,` + k + `,"label":"` + strings.Repeat("é", 81) + `"}`), CodeMalformedLink, ""},
		{"SHL7_label_80", enc(`{` + u + `,` + k + `,"label":"` + strings.Repeat("é", 80) + `"}`), "", ""},
		{"label_control", enc(`{` + u + `,` + k + `,"label":"a\u202eb"}`), CodeMalformedLink, ""},
		{"duplicate_key", enc(`{` + u + `,` + k + `,` + k + `}`), CodeMalformedLink, ""},
		{"not_object", enc(`[1]`), CodeMalformedLink, ""},
		{"trailing", enc(`{` + u + `,` + k + `}{}`), CodeMalformedLink, ""},
		{"no_scheme", "https://viewer.example/#abc", CodeMalformedLink, ""},
		{"bad_base64", "shlink:/!!!", CodeMalformedLink, ""},
		{"empty", "", CodeMalformedLink, ""},
		{"whitespace_and_case", "  SHLINK:/" + enc(`{` + u + `,` + k + `}`)[len(scheme):] + "\n", "", ""},
		{"too_long", "shlink:/" + strings.Repeat("A", MaxURILen), CodeMalformedLink, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.in)
			if tc.code != "" {
				mustCode(t, err, tc.code)
				if p != nil {
					t.Fatal("non-nil payload with error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Flag != tc.flag {
				t.Fatalf("flag %q, want %q", p.Flag, tc.flag)
			}
		})
	}
}

func TestNewPayload_SHL1_SHL5_SHL7(t *testing.T) {
	p, err := NewPayload("https://shl.example/m/abc", WithFlags("PL"), WithLabel("x"), WithExpiry(time.Unix(1767225600, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Key) != KeyLen || p.Flag != "LP" || p.Exp != 1767225600 {
		t.Fatalf("got %+v", p)
	}
	k, err := p.KeyBytes()
	if err != nil || len(k) != KeySize {
		t.Fatal(err)
	}
	q, _ := NewPayload("https://shl.example/m/abc")
	if q.Key == p.Key {
		t.Fatal("two payloads share a key")
	}
	back, err := Parse(p.URI("https://viewer.example/"))
	if err != nil || *back != *p {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	for name, opt := range map[string]PayloadOption{
		"UP":       WithFlags("UP"),
		"unknown":  WithFlags("X"),
		"repeat":   WithFlags("LL"),
		"label":    WithLabel(strings.Repeat("a", 81)),
		"shortkey": WithKey(make([]byte, 16)),
		"epoch":    WithExpiry(time.Unix(0, 0)),
	} {
		if _, err := NewPayload("https://shl.example/m", opt); CodeOf(err) != CodeInvalidArgument {
			t.Errorf("%s: got %v", name, err)
		}
	}
	for _, u := range []string{"http://shl.example/m", "https://shl.example/" + strings.Repeat("a", 120), "/rel", "https://u@h/m"} {
		if _, err := NewPayload(u); CodeOf(err) != CodeInvalidArgument {
			t.Errorf("%q: got %v", u, err)
		}
	}
	// URI never HTML-escapes: & stays & in the minified JSON.
	r, _ := NewPayload("https://shl.example/m?a=1&b=2")
	if !bytes.Contains(r.JSON(), []byte("?a=1&b=2")) {
		t.Fatalf("escaped: %s", r.JSON())
	}
}

func TestErrorsIs(t *testing.T) {
	_, err := Parse("nope")
	if !errors.Is(err, ErrMalformedLink) || errors.Is(err, ErrLinkExpired) {
		t.Fatal("errors.Is by code")
	}
}
