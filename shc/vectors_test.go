package shc

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/healthcards/healthcards/internal/testvectors"
)

// The two official example sets (MANIFEST.md): same keys, same generator.
var exampleSets = []string{"vci-spec-site/examples", "hl7-ig/input/images"}

type vector struct {
	set, name string // e.g. "vci-spec-site/examples", "example-00"
}

func (v vector) path(t *testing.T, suffix string) string {
	return testvectors.Path(t, v.set+"/"+v.name+"-"+suffix)
}

func (v vector) read(t *testing.T, suffix string) []byte {
	t.Helper()
	return testvectors.Read(t, v.set+"/"+v.name+"-"+suffix)
}

// forEachVector runs f for every example of both sets, in parallel.
func forEachVector(t *testing.T, f func(t *testing.T, v vector)) {
	t.Helper()
	testvectors.Dir(t)
	for _, set := range exampleSets {
		for i := 0; i <= 3; i++ {
			v := vector{set: set, name: fmt.Sprintf("example-%02d", i)}
			t.Run(set+"/"+v.name, func(t *testing.T) {
				t.Parallel()
				f(t, v)
			})
		}
	}
}

// exampleKeys reads the published example JWKS (K0, K2) into public keys by kid.
func exampleKeys(t *testing.T) map[string]*ecdsa.PublicKey {
	t.Helper()
	var set struct {
		Keys []struct{ Kid, Crv, X, Y string }
	}
	if err := json.Unmarshal(testvectors.Read(t, "vci-spec-site/examples/issuer/.well-known/jwks.json"), &set); err != nil {
		t.Fatal(err)
	}
	out := map[string]*ecdsa.PublicKey{}
	for _, k := range set.Keys {
		x, _ := base64.RawURLEncoding.DecodeString(k.X)
		y, _ := base64.RawURLEncoding.DecodeString(k.Y)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			t.Fatalf("key %s: %v", k.Kid, err)
		}
		out[k.Kid] = pub
	}
	if len(out) != 2 {
		t.Fatalf("want 2 example keys, got %d", len(out))
	}
	return out
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

func readJWS(t *testing.T, v vector) string {
	return string(bytes.TrimSpace(v.read(t, "d-jws.txt")))
}

// HDR-1..7, PAY-*: every official card parses; its inflated payload is
// byte-identical to the c-file, JSON-equal to the b-file, and its bundle
// equals the a-file; the signature verifies with the published key.
func TestVectorsParseAndVerify(t *testing.T) {
	keys := exampleKeys(t)
	forEachVector(t, func(t *testing.T, v vector) {
		card, err := Parse(readJWS(t, v))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if got, want := card.UnsafeClaimsJSONWithoutVerification(), bytes.TrimSpace(v.read(t, "c-jws-payload-minified.json")); !bytes.Equal(got, want) {
			t.Errorf("inflated payload differs from the c-file (%d vs %d bytes)", len(got), len(want))
		}
		if !jsonEqual(t, card.UnsafeClaimsJSONWithoutVerification(), v.read(t, "b-jws-payload-expanded.json")) {
			t.Errorf("payload not JSON-equal to the b-file")
		}
		p := card.UnsafePayloadWithoutVerification()
		if !jsonEqual(t, p.VC.CredentialSubject.FHIRBundle, v.read(t, "a-fhirBundle.json")) {
			t.Errorf("fhirBundle not JSON-equal to the a-file")
		}
		if p.Issuer != "https://spec.smarthealth.cards/examples/issuer" {
			t.Errorf("iss = %q", p.Issuer)
		}
		if float64(p.NotBefore) == float64(int64(p.NotBefore)) {
			t.Errorf("nbf %v lost its fraction (PAY-2: every official nbf is fractional)", p.NotBefore)
		}
		pub, ok := keys[card.KeyID()]
		if !ok {
			t.Fatalf("kid %s not in the published JWKS", card.KeyID())
		}
		if err := card.VerifySignature(pub); err != nil {
			t.Errorf("VerifySignature: %v", err)
		}
		// Re-marshaling the parsed payload reproduces the signed bytes (field order, number format).
		again, err := p.Marshal()
		if err != nil || !bytes.Equal(again, card.UnsafeClaimsJSONWithoutVerification()) {
			t.Errorf("Marshal does not reproduce the payload: %v", err)
		}
	})
}

// FILE-2, FILE-3: the e-file holds exactly the d-file's JWS.
func TestVectorsFile(t *testing.T) {
	forEachVector(t, func(t *testing.T, v vector) {
		f, err := os.Open(v.path(t, "e-file.smart-health-card"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		jws, err := ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(jws) != 1 || jws[0] != readJWS(t, v) {
			t.Fatalf("file holds %d cards, want exactly the d-file JWS", len(jws))
		}
		out, err := MarshalFile(jws...)
		if err != nil || !bytes.Equal(out, compact(t, v.read(t, "e-file.smart-health-card"))) {
			t.Errorf("MarshalFile does not reproduce the e-file: %v", err)
		}
	})
}

// QR-1..6: the f-files decode to the JWS (chunks in any order), and encoding
// the JWS reproduces the f-files byte for byte (QR-5 balanced chunks).
func TestVectorsQRText(t *testing.T) {
	forEachVector(t, func(t *testing.T, v vector) {
		jws := readJWS(t, v)
		files, err := filepath.Glob(v.path(t, "f-qr-code-numeric-value-*.txt"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no f-files for %s", v.name)
		}
		var texts []string
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			texts = append(texts, string(b))
		}
		shuffled := append([]string(nil), texts...)
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got, err := DecodeQRText(shuffled...)
		if err != nil {
			t.Fatalf("DecodeQRText: %v", err)
		}
		if got != jws {
			t.Fatalf("decoded QR text differs from the JWS")
		}
		enc, err := EncodeQRChunks(jws, MaxChunkJWS)
		if err != nil {
			t.Fatal(err)
		}
		if len(enc) != len(texts) {
			t.Fatalf("EncodeQRChunks gave %d chunks, the example has %d", len(enc), len(texts))
		}
		for i := range enc {
			if enc[i] != string(bytes.TrimSpace([]byte(texts[i]))) {
				t.Errorf("chunk %d differs from %s", i+1, filepath.Base(files[i]))
			}
		}
		if len(texts) > 1 {
			if _, err := DecodeQRText(texts[1:]...); CodeOf(err) != CodeChunkMissing {
				t.Errorf("missing first chunk: err = %v, want chunk_missing", err)
			}
		}
	})
}

// MIN-1..8: minifying the generator's input reproduces example-00-a byte for
// byte, and building the payload with its iss/nbf/rid reproduces
// example-00-c byte for byte.
func TestMinifyReproducesExample00(t *testing.T) {
	in := testvectors.Read(t, "vci-generator/src/fixtures/covid-vaccines-bundle.json")
	// The a-file is pretty-printed; its compact form keeps member order and escapes.
	want := compact(t, testvectors.Read(t, "vci-spec-site/examples/example-00-a-fhirBundle.json"))
	got, err := MinifyWithOptions(in, MinifyOptions{DropSecurityMeta: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Minify output differs from example-00-a:\n got %s\nwant %s", got, want)
	}
	// By default a security-only meta stays (MIN-2); everything else is as above.
	kept, err := Minify(in)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(kept, []byte(`"meta":{"security":[{"system":"https://smarthealth.cards/ial","code":"IAL1.2"}]}`)); n != 3 {
		t.Errorf("default Minify kept %d security-only metas, want 3", n)
	}
	if len(kept) <= len(got) {
		t.Errorf("default Minify should be longer than the generator mode")
	}
	p := &Payload{
		Issuer:    "https://spec.smarthealth.cards/examples/issuer",
		NotBefore: 1687450764.656,
		VC: VC{
			Type:              []string{HealthCardType},
			CredentialSubject: CredentialSubject{FHIRVersion: "4.0.1", FHIRBundle: got},
			RID:               "MKyCxh7p6uQ",
		},
	}
	claims, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	wantC := bytes.TrimSpace(testvectors.Read(t, "vci-spec-site/examples/example-00-c-jws-payload-minified.json"))
	if !bytes.Equal(claims, wantC) {
		t.Fatalf("payload differs from example-00-c:\n got %s\nwant %s", claims, wantC)
	}
}

// The revoked-bundle fixture is already minimal: minifying it must give example-03-a.
func TestMinifyReproducesExample03(t *testing.T) {
	got, err := Minify(testvectors.Read(t, "vci-generator/src/fixtures/revoked-bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := compact(t, testvectors.Read(t, "vci-spec-site/examples/example-03-a-fhirBundle.json")); !bytes.Equal(got, want) {
		t.Fatalf("Minify(revoked-bundle) differs from example-03-a:\n got %s\nwant %s", got, want)
	}
}

// Tampering with any part of an official card makes it fail (HDR-5).
func TestVectorsTampered(t *testing.T) {
	keys := exampleKeys(t)
	jws := string(bytes.TrimSpace(testvectors.Read(t, "vci-spec-site/examples/example-00-d-jws.txt")))
	card, err := Parse(jws)
	if err != nil {
		t.Fatal(err)
	}
	// Re-sign-free tamper: swap in another card's payload under this header+signature.
	other := string(bytes.TrimSpace(testvectors.Read(t, "vci-spec-site/examples/example-03-d-jws.txt")))
	h, _, _ := cut3(jws)
	_, p2, _ := cut3(other)
	_, _, s1 := cut3(jws)
	swapped, err := Parse(h + "." + p2 + "." + s1)
	if err != nil {
		t.Fatal(err)
	}
	if err := swapped.VerifySignature(keys[card.KeyID()]); CodeOf(err) != CodeBadSignature {
		t.Errorf("payload swap: err = %v, want bad_signature", err)
	}
	// Flip one bit of the signature.
	sig, _ := base64.RawURLEncoding.DecodeString(s1)
	sig[10] ^= 1
	flipped, err := Parse(h + "." + jws[len(h)+1:len(jws)-len(s1)-1] + "." + base64.RawURLEncoding.EncodeToString(sig))
	if err != nil {
		t.Fatal(err)
	}
	if err := flipped.VerifySignature(keys[card.KeyID()]); CodeOf(err) != CodeBadSignature {
		t.Errorf("flipped signature: err = %v, want bad_signature", err)
	}
	// The other published key must not verify it.
	for kid, pub := range keys {
		if kid != card.KeyID() {
			if err := card.VerifySignature(pub); CodeOf(err) != CodeBadSignature {
				t.Errorf("wrong key: err = %v", err)
			}
		}
	}
}

func cut3(jws string) (h, p, s string) {
	parts := bytes.Split([]byte(jws), []byte("."))
	return string(parts[0]), string(parts[1]), string(parts[2])
}

func compact(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
