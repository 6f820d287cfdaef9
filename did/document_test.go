package did

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/keys"
)

func newJWK(t testing.TB) keys.JWK {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return keys.PublicJWK(&k.PublicKey, nil)
}

func kids(js []keys.JWK) []string {
	var out []string
	for _, j := range js {
		out = append(out, j.Kid)
	}
	return out
}

func TestDocument_RoundTrip(t *testing.T) {
	const d = "did:web:issuer.example:shc"
	k1, k2 := newJWK(t), newJWK(t)
	doc := NewDocument(d, []keys.JWK{k1, k2})
	if doc.VerificationMethod[0].ID != d+"#"+k1.Kid || doc.VerificationMethod[0].Type != "JsonWebKey2020" || doc.VerificationMethod[0].Controller != d {
		t.Fatalf("method %+v", doc.VerificationMethod[0])
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, member := range []string{`"@context":["https://www.w3.org/ns/did/v1"`, `"assertionMethod":["` + d + `#`, `"authentication":["`, `"publicKeyJwk":{`} {
		if !bytes.Contains(b, []byte(member)) {
			t.Fatalf("document JSON lacks %s: %s", member, b)
		}
	}
	back, err := ParseDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != d {
		t.Fatalf("id %q", back.ID)
	}
	got := back.Keys()
	if strings.Join(kids(got), ",") != k1.Kid+","+k2.Kid {
		t.Fatalf("Keys() = %v", kids(got))
	}
	for i, want := range []keys.JWK{k1, k2} {
		if got[i].X != want.X || got[i].Y != want.Y {
			t.Fatalf("key %d changed", i)
		}
	}
}

func TestNewDocument_SkipsInvalidKeys(t *testing.T) {
	good := newJWK(t)
	wrongKid := newJWK(t)
	wrongKid.Kid = good.Kid
	enc := newJWK(t)
	enc.Use = "enc"
	doc := NewDocument("did:web:example.com", []keys.JWK{wrongKid, good, enc, {Kty: "RSA"}})
	if len(doc.VerificationMethod) != 1 || doc.VerificationMethod[0].PublicKeyJwk.Kid != good.Kid {
		t.Fatalf("methods %+v", doc.VerificationMethod)
	}
}

// TestDocument_Keys_Filters: only assertionMethod keys that are P-256 ES256
// JsonWebKey2020, controlled by the DID, with fragment = thumbprint count.
func TestDocument_Keys_Filters(t *testing.T) {
	const d = "did:web:example.com"
	good := newJWK(t)
	vm := func(j keys.JWK, mod func(*VerificationMethod)) VerificationMethod {
		m := VerificationMethod{ID: d + "#" + j.Kid, Type: MethodTypeJWK2020, Controller: d, PublicKeyJwk: j}
		if mod != nil {
			mod(&m)
		}
		return m
	}
	tests := []struct {
		name string
		doc  Document
		want []string
	}{
		{"absolute ref", Document{ID: d, VerificationMethod: []VerificationMethod{vm(good, nil)}, AssertionMethod: []Reference{{ID: d + "#" + good.Kid}}}, []string{good.Kid}},
		{"relative ref", Document{ID: d, VerificationMethod: []VerificationMethod{vm(good, func(m *VerificationMethod) { m.ID = "#" + good.Kid })}, AssertionMethod: []Reference{{ID: "#" + good.Kid}}}, []string{good.Kid}},
		{"embedded", Document{ID: d, AssertionMethod: []Reference{{Method: &[]VerificationMethod{vm(good, nil)}[0]}}}, []string{good.Kid}},
		{"jwk without kid", Document{ID: d, VerificationMethod: []VerificationMethod{vm(good, func(m *VerificationMethod) { m.PublicKeyJwk.Kid = "" })}, AssertionMethod: []Reference{{ID: d + "#" + good.Kid}}}, []string{good.Kid}},
		{"duplicate refs", Document{ID: d, VerificationMethod: []VerificationMethod{vm(good, nil)}, AssertionMethod: []Reference{{ID: d + "#" + good.Kid}, {ID: "#" + good.Kid}}}, []string{good.Kid}},
		{"only authentication", Document{ID: d, VerificationMethod: []VerificationMethod{vm(good, nil)}, Authentication: []Reference{{ID: d + "#" + good.Kid}}}, nil},
		{"unresolved ref", Document{ID: d, VerificationMethod: []VerificationMethod{vm(good, nil)}, AssertionMethod: []Reference{{ID: d + "#other"}}}, nil},
		{"foreign ref", Document{ID: d, VerificationMethod: []VerificationMethod{vm(good, nil)}, AssertionMethod: []Reference{{ID: "did:web:evil.example#" + good.Kid}}}, nil},
		{"foreign controller", Document{ID: d, VerificationMethod: []VerificationMethod{vm(good, func(m *VerificationMethod) { m.Controller = "did:web:evil.example" })}, AssertionMethod: []Reference{{ID: d + "#" + good.Kid}}}, nil},
		{"other type", Document{ID: d, VerificationMethod: []VerificationMethod{vm(good, func(m *VerificationMethod) { m.Type = "EcdsaSecp256r1VerificationKey2019" })}, AssertionMethod: []Reference{{ID: d + "#" + good.Kid}}}, nil},
		{"fragment not thumbprint", Document{ID: d, VerificationMethod: []VerificationMethod{vm(good, func(m *VerificationMethod) { m.ID = d + "#key-1"; m.PublicKeyJwk.Kid = "" })}, AssertionMethod: []Reference{{ID: d + "#key-1"}}}, nil},
		{"kid not fragment", Document{ID: d, VerificationMethod: []VerificationMethod{vm(good, func(m *VerificationMethod) { m.PublicKeyJwk.Kid = "x" })}, AssertionMethod: []Reference{{ID: d + "#" + good.Kid}}}, nil},
		{"enc key", Document{ID: d, VerificationMethod: []VerificationMethod{vm(good, func(m *VerificationMethod) { m.PublicKeyJwk.Use = "enc" })}, AssertionMethod: []Reference{{ID: d + "#" + good.Kid}}}, nil},
		{"alg ES384", Document{ID: d, VerificationMethod: []VerificationMethod{vm(good, func(m *VerificationMethod) { m.PublicKeyJwk.Alg = "ES384" })}, AssertionMethod: []Reference{{ID: d + "#" + good.Kid}}}, nil},
		{"P-384", Document{ID: d, VerificationMethod: []VerificationMethod{vm(good, func(m *VerificationMethod) { m.PublicKeyJwk.Crv = "P-384" })}, AssertionMethod: []Reference{{ID: d + "#" + good.Kid}}}, nil},
		{"off-curve point", Document{ID: d, VerificationMethod: []VerificationMethod{vm(good, func(m *VerificationMethod) { m.PublicKeyJwk.Y = m.PublicKeyJwk.X })}, AssertionMethod: []Reference{{ID: d + "#" + good.Kid}}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := ParseDocument(b)
			if err != nil {
				t.Fatal(err)
			}
			got := kids(doc.Keys())
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("Keys() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseDocument_Rejects(t *testing.T) {
	ref := `"did:web:example.com#x"`
	many := `{"id":"did:web:example.com","assertionMethod":[` + strings.Repeat(ref+",", MaxMethods) + ref + `]}`
	tests := []struct {
		name string
		data string
		want *Error
	}{
		{"not JSON", `{"id":`, ErrMalformedDocument},
		{"array", `[]`, ErrMalformedDocument},
		{"no id", `{}`, ErrMalformedDocument},
		{"id not a DID", `{"id":"https://example.com"}`, ErrMalformedDocument},
		{"id is a DID URL", `{"id":"did:web:example.com#k"}`, ErrMalformedDocument},
		{"bad reference", `{"id":"did:web:example.com","assertionMethod":[1]}`, ErrMalformedDocument},
		{"too many methods", many, ErrTooLarge},
		{"too large", `{"id":"did:web:example.com","x":"` + strings.Repeat("a", MaxDocumentBytes) + `"}`, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := ParseDocument([]byte(tc.data))
			if doc != nil {
				t.Fatal("non-nil document with error")
			}
			wantCode(t, err, tc.want)
		})
	}
}

func TestParseDocumentFor(t *testing.T) {
	b, err := json.Marshal(NewDocument("did:web:example.com", []keys.JWK{newJWK(t)}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseDocumentFor("did:web:example.com", b); err != nil {
		t.Fatal(err)
	}
	_, err = ParseDocumentFor("did:web:example.org", b)
	wantCode(t, err, ErrMismatch)
	_, err = ParseDocumentFor("did:web:example.com", []byte("{"))
	wantCode(t, err, ErrMalformedDocument)
}
