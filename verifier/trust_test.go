package verifier

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/shc"
)

// One bad entry never fails the whole directory; ctr/crlVersion may be
// strings; unknown members are ignored.
func TestDirectoryTolerance(t *testing.T) {
	k := newKey(t)
	kid, _ := keysThumb(t, k)
	jwk := strings.TrimSuffix(strings.TrimPrefix(string(jwksOf(t, map[string]any{"crlVersion": "2"}, k)), `{"keys":[`), `]}`)
	dir := `{"directory":"t","time":"2023-09-01T00:00:00Z","future":{"x":1},"issuerInfo":[
		17,
		{"issuer":{"iss":"http://insecure.example","name":"bad"}},
		{"issuer":{"iss":"` + testIss + `","name":"Test Issuer","website":"https://w","canonical_iss":"https://c","extra":true},
		 "keys":[{"kty":"RSA","kid":"r"}, ` + jwk + `],
		 "crls":[{"kid":"` + kid + `","method":"rid","ctr":"2","rids":["gone"]}, {"kid":"x","ctr":"two"}],
		 "lastRetrieved":"2023-09-01T00:00:00Z"}]}`
	v, err := New(WithOffline(), WithClock(at(cardNBF+60)), WithTrustDirectoryJSON("t", []byte(dir), nil))
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(v.ConfigWarnings(), "\n"); !strings.Contains(w, "entry 0 skipped") || !strings.Contains(w, "entry 1 skipped") || !strings.Contains(w, "revocation list 1 skipped") || !strings.Contains(w, "key 0") {
		t.Fatalf("warnings:\n%s", w)
	}
	r := verifyOne(t, v, signCard(t, k, testIss, cardNBF, nil))
	wantCode(t, r, VerdictVerified, "")
	if r.IssuerName != "Test Issuer" {
		t.Fatalf("name %q", r.IssuerName)
	}
	r = verifyOne(t, v, signCard(t, k, testIss, cardNBF, func(p *shc.Payload) { p.VC.RID = "gone" }))
	wantCode(t, r, VerdictInvalid, CodeRevoked)
	// A directory that is not a directory at all is a configuration error.
	for _, bad := range []string{`[]`, `{"issuerInfo":{}}`, `{}`, `not json`} {
		if _, err := New(WithTrustDirectoryJSON("bad", []byte(bad), nil)); !errors.Is(err, ErrConfig) {
			t.Fatalf("%s: %v", bad, err)
		}
	}
}

func p521Cert(t *testing.T) (*ecdsa.PrivateKey, *x509.Certificate) {
	k, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "directory signer"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(4e9, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return k, cert
}

func signDetached(t *testing.T, k *ecdsa.PrivateKey, data []byte) []byte {
	sum := sha512.Sum512(data)
	der, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return []byte(base64.StdEncoding.EncodeToString(der) + "\n")
}

// Detached ECDSA P-521/SHA-512 signature: <file>.sig holds base64 DER.
func TestDirectorySignature(t *testing.T) {
	k, cert := p521Cert(t)
	data := exampleDirectory(t, publishedCRL(t))
	dir := t.TempDir()
	path := filepath.Join(dir, "directory.json")
	os.WriteFile(path, data, 0o600)
	// No signature file: refused.
	if _, err := New(WithTrustDirectory(path), WithDirectoryCertificate(cert)); !errors.Is(err, ErrConfig) {
		t.Fatalf("unsigned directory accepted: %v", err)
	}
	os.WriteFile(path+SignatureSuffix, signDetached(t, k, data), 0o600)
	v, err := New(WithOffline(), WithClock(at(vciNBF+60)), WithTrustDirectory(path), WithDirectoryCertificate(cert))
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, verifyOne(t, v, inputs(t, "vci-spec-site/examples", "example-00")["jws"]), VerdictVerified, "")
	// One changed byte: refused.
	tampered := append([]byte(nil), data...)
	tampered[len(tampered)-2] = ' '
	os.WriteFile(path, tampered, 0o600)
	if _, err := New(WithTrustDirectory(path), WithDirectoryCertificate(cert)); !errors.Is(err, ErrConfig) {
		t.Fatalf("tampered directory accepted: %v", err)
	}
	// Signed by another key: refused.
	other, _ := p521Cert(t)
	if _, err := New(WithTrustDirectoryJSON("x", data, signDetached(t, other, data)), WithDirectoryCertificate(cert)); !errors.Is(err, ErrConfig) {
		t.Fatalf("foreign signature accepted: %v", err)
	}
}

// A directory and its signature fetched by URL, on first use.
func TestDirectoryByURL(t *testing.T) {
	k, cert := p521Cert(t)
	data := exampleDirectory(t, publishedCRL(t))
	h := newIssuerHost(t)
	h.serve("/dir.json", data)
	h.serve("/dir.json.sig", signDetached(t, k, data))
	v, err := New(append(netOpts(h.Server), WithClock(at(vciNBF+60)), WithTrustDirectory(h.URL+"/dir.json"), WithDirectoryCertificate(cert))...)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		wantCode(t, verifyOne(t, v, inputs(t, "vci-spec-site/examples", "example-03")["jws"]), VerdictInvalid, CodeRevoked)
	}
	if h.count("/dir.json") != 1 {
		t.Fatalf("directory fetched %d times", h.count("/dir.json"))
	}
	// An unavailable directory leaves its issuers untrusted, with a warning.
	h2 := newIssuerHost(t)
	v2, err := New(append(netOpts(h2.Server), WithClock(at(vciNBF+60)), WithTrustDirectory(h2.URL+"/dir.json"))...)
	if err != nil {
		t.Fatal(err)
	}
	r := verifyOne(t, v2, inputs(t, "vci-spec-site/examples", "example-00")["jws"])
	wantCode(t, r, VerdictUntrusted, CodeUntrustedIssuer)
	if len(r.Warnings) == 0 {
		t.Fatal("no warning for an unavailable directory")
	}
}

// The VCI trust list names issuers; their keys are fetched live.
func TestTrustList(t *testing.T) {
	dir := testvectors.Path(t, "vci-spec-site/examples/issuer")
	srv := newHost(t, "/", dir, nil)
	list := `{"participating_issuers":[{"iss":"` + exampleIss + `","name":"Spec Examples (VCI list)","website":"https://spec.smarthealth.cards","canonical_iss":null},{"iss":"ftp://nope"}]}`
	v := exampleVerifier(t, append(netOpts(srv.Server), WithTrustListJSON("vci-issuers.json", []byte(list)), WithIssuerMirror(exampleIss, srv.URL))...)
	r := verifyOne(t, v, inputs(t, "vci-spec-site/examples", "example-00")["jws"])
	wantCode(t, r, VerdictVerified, "")
	if r.IssuerName != "Spec Examples (VCI list)" || len(v.ConfigWarnings()) != 1 {
		t.Fatalf("name %q warnings %q", r.IssuerName, v.ConfigWarnings())
	}
}

func TestConfigErrors(t *testing.T) {
	pool := x509.NewCertPool()
	for name, opts := range map[string][]Option{
		"no trust source":          nil,
		"offline and unsafe":       {WithOffline(), WithoutIssuerTrustUnsafe()},
		"offline and fetch option": {WithOffline(), WithTrustedIssuers(testIss), WithRootCAs(pool)},
		"offline URL directory":    {WithOffline(), WithTrustDirectory("https://dir.example/d.json")},
		"negative leeway":          {WithTrustedIssuers(testIss), WithLeeway(-time.Second)},
		"bad issuer":               {WithTrustedIssuers("http://x.example")},
		"trailing slash":           {WithTrustedIssuers("https://x.example/")},
		"client and private":       {WithTrustedIssuers(testIss), WithFetchClient(nil)},
		"missing file":             {WithTrustDirectory("/nonexistent/dir.json")},
		"bad static keys":          {WithStaticKeys(testIss, []byte(`{"nokeys":1}`))},
		"unknown policy":           {WithTrustedIssuers(testIss), WithRevocationPolicy(7)},
	} {
		if _, err := New(opts...); !errors.Is(err, ErrConfig) || CodeOf(err) != CodeConfig {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
