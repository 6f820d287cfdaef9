package shc

import (
	"bytes"
	"compress/flate"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/keys"
)

var updateStrict = flag.Bool("update-strict", false, "re-sign testdata/strict/*.jws with a fresh test key")

// strictDir holds cards signed with a throw-away test key (its public JWK
// is key.jwk; the private key was discarded) whose signatures are valid,
// whose payloads encoding/json and compress/flate read without complaint,
// and which the strict reader refuses. Regenerate with
//
//	go test ./shc -run TestStrictVectors -update-strict
const strictDir = "testdata/strict"

const strictBundle = `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"resource:0","resource":{"resourceType":"Patient","name":[{"family":"Doe","given":["Jane"]}],"birthDate":"1980-02-03"}}]}`

func strictClaims(iss, claims, bundle string) []byte {
	return []byte(`{"iss":"` + iss + `",` + claims + `"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":` + bundle + `}}}`)
}

// strictVectors: each file, its payload (before DEFLATE), what comes
// after the DEFLATE stream, and the refusal (code and message part).
var strictVectors = []struct {
	file    string
	payload []byte
	tail    string
	code    Code
	msg     string
}{
	{"iss-twice", []byte(`{"iss":"https://evil.example","iss":"https://lab.example.org","nbf":1700000000,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":` + strictBundle + `}}}`),
		"", CodeBadPayload, `member "iss" is repeated (at $)`},
	{"iss-and-ISS", []byte(`{"iss":"https://lab.example.org","ISS":"https://evil.example","nbf":1700000000,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":` + strictBundle + `}}}`),
		"", CodeBadPayload, `member "ISS" differs only in letter case from "iss" (at $)`},
	{"iss-escaped-name", []byte(`{"i\u0073s":"https://lab.example.org","nbf":1700000000,"vc":{}}`),
		"", CodeBadPayload, `member "i\\u0073s" is written with an escape (at $)`},
	{"fhirBundle-twice", []byte(`{"iss":"https://lab.example.org","nbf":1700000000,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":` + strictBundle + `,"fhirBundle":{"resourceType":"Bundle"}}}}`),
		"", CodeBadPayload, `member "fhirBundle" is repeated (at $.vc.credentialSubject)`},
	{"vc-twice", []byte(`{"iss":"https://lab.example.org","nbf":1700000000,"vc":{"type":["x"]},"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":` + strictBundle + `}}}`),
		"", CodeBadPayload, `member "vc" is repeated (at $)`},
	{"bundle-birthDate-twice", strictClaims("https://lab.example.org", `"nbf":1700000000,`, strings.Replace(strictBundle, `"birthDate":"1980-02-03"`, `"birthDate":"1980-02-03","birthDate":"2001-01-01"`, 1)),
		"", CodeBadPayload, `member "birthDate" is repeated (at $.vc.credentialSubject.fhirBundle.entry[0].resource)`},
	{"bundle-family-case-variant", strictClaims("https://lab.example.org", `"nbf":1700000000,`, strings.Replace(strictBundle, `"family":"Doe"`, `"family":"Doe","Family":"Roe"`, 1)),
		"", CodeBadPayload, `member "Family" differs only in letter case from "family" (at $.vc.credentialSubject.fhirBundle.entry[0].resource.name[0])`},
	{"bundle-kelvin-sign", strictClaims("https://lab.example.org", `"nbf":1700000000,`, strings.Replace(strictBundle, `"type":"collection"`, "\"link\":[],\"lin\u212a\":[],\"type\":\"collection\"", 1)),
		"", CodeBadPayload, "member \"lin\u212a\" differs only in letter case from \"link\" (at $.vc.credentialSubject.fhirBundle)"},
	{"bundle-escaped-name", strictClaims("https://lab.example.org", `"nbf":1700000000,`, strings.Replace(strictBundle, `"resourceType":"Patient"`, `"resource\u0054ype":"Patient"`, 1)),
		"", CodeBadPayload, `member "resource\\u0054ype" is written with an escape (at $.vc.credentialSubject.fhirBundle.entry[0].resource)`},
	{"exp-null", strictClaims("https://lab.example.org", `"nbf":1700000000,"exp":null,`, strictBundle),
		"", CodeBadPayload, "$.exp must be a NumericDate"},
	{"exp-after-9999", strictClaims("https://lab.example.org", `"nbf":1700000000,"exp":253402300800,`, strictBundle),
		"", CodeBadPayload, "$.exp must be a NumericDate from 0 to 253402300799"},
	{"nbf-after-9999", strictClaims("https://lab.example.org", `"nbf":1e13,`, strictBundle),
		"", CodeBadPayload, "$.nbf must be a NumericDate from 0 to 253402300799"},
	{"deflate-trailing-bytes", strictClaims("https://lab.example.org", `"nbf":1700000000,`, strictBundle),
		`{"iss":"https://evil.example"}`, CodeBadPayloadEncoding, "30 bytes after the end of the DEFLATE stream"},
	{"payload-invalid-utf8", strictClaims("https://lab.example.org", `"nbf":1700000000,`, strings.Replace(strictBundle, "Jane", "Ja\xffne", 1)),
		"", CodeBadPayloadEncoding, "not valid UTF-8"},
}

// signStrictVector assembles a compact JWS over an arbitrary payload with
// the standard library only (compress/flate level 6, ecdsa), so that
// nothing in this package shapes what the strict reader is given.
func signStrictVector(t *testing.T, k *ecdsa.PrivateKey, payload []byte, tail string) string {
	t.Helper()
	kid, err := keys.Thumbprint(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	z := append(stdlibDeflate6(t, payload), tail...)
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(`{"zip":"DEF","alg":"ES256","kid":"`+kid+`"}`)) + "." + enc.EncodeToString(z)
	d := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return in + "." + enc.EncodeToString(sig)
}

// TestStrictVectors: every card in testdata/strict has a valid signature
// (checked with crypto/ecdsa alone) and a payload that compress/flate and
// encoding/json read without error, so its refusal by Parse comes from the
// strict reader, with the stated code and a message naming the member.
func TestStrictVectors(t *testing.T) {
	if *updateStrict {
		k, err := keys.Generate()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(strictDir, 0o755); err != nil {
			t.Fatal(err)
		}
		pub, _ := json.Marshal(keys.PublicJWK(&k.PublicKey, nil))
		if err := os.WriteFile(filepath.Join(strictDir, "key.jwk"), append(pub, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, v := range strictVectors {
			jws := signStrictVector(t, k, v.payload, v.tail)
			if err := os.WriteFile(filepath.Join(strictDir, v.file+".jws"), []byte(jws+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	jwk, err := os.ReadFile(filepath.Join(strictDir, "key.jwk"))
	if err != nil {
		t.Fatal(err)
	}
	var j keys.JWK
	if err := json.Unmarshal(jwk, &j); err != nil {
		t.Fatal(err)
	}
	pub, err := j.CheckSigning()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(strictDir, "*.jws"))
	if len(files) != len(strictVectors) {
		t.Fatalf("%d files in %s, %d vectors: regenerate with -update-strict", len(files), strictDir, len(strictVectors))
	}
	for _, v := range strictVectors {
		t.Run(v.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(strictDir, v.file+".jws"))
			if err != nil {
				t.Fatal(err)
			}
			jws := strings.TrimSpace(string(b))
			// The signature is valid, checked without this package.
			i := strings.LastIndexByte(jws, '.')
			sig, err := base64.RawURLEncoding.DecodeString(jws[i+1:])
			if err != nil || len(sig) != 64 {
				t.Fatalf("signature: %v", err)
			}
			d := sha256.Sum256([]byte(jws[:i]))
			var r, s big.Int
			if !ecdsa.Verify(pub, d[:], r.SetBytes(sig[:32]), s.SetBytes(sig[32:])) {
				t.Fatal("the vector's signature does not verify")
			}
			// The lenient readers take the payload, and it is the one stated.
			z, _ := base64.RawURLEncoding.DecodeString(strings.Split(jws, ".")[1])
			claims, err := io.ReadAll(flate.NewReader(bytes.NewReader(z)))
			if err != nil || !bytes.Equal(claims, v.payload) {
				t.Fatalf("compress/flate: %v (payload as stated: %v)", err, bytes.Equal(claims, v.payload))
			}
			var any map[string]any
			if err := json.Unmarshal(claims, &any); err != nil {
				t.Fatalf("encoding/json refuses the payload: %v", err)
			}
			// The strict reader refuses the card.
			card, err := Parse(jws)
			if card != nil || CodeOf(err) != v.code || !strings.Contains(err.Error(), v.msg) {
				t.Fatalf("Parse: %v\nwant %s with %q", err, v.code, v.msg)
			}
		})
	}
}
