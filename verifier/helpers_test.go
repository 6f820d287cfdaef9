package verifier

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
)

const (
	exampleIss = "https://spec.smarthealth.cards/examples/issuer"
	kidK0      = "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s"
	kidK2      = "EBKOr72QQDcTBUuVzAzkfBTGew0ZA16GuWty64nS-sw"
	seannoIss  = "https://raw.githubusercontent.com/seanno/shc-demo-data/main"
	kidViOf    = "ViOf-Tjl_GjJhYkOtWv9o7BcnVR1Bz4RNWfY34dAw_k"
	vciNBF     = 1687450764 // VCI set nbf (…764.65x)
	hl7NBF     = 1715107763 // HL7 set nbf (…763.67x)
)

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func at(sec int64) func() time.Time { return func() time.Time { return time.Unix(sec, 0) } }

func exampleJWKS(t testing.TB) []byte {
	return testvectors.Read(t, "vci-spec-site/examples/issuer/.well-known/jwks.json")
}

func publishedCRL(t testing.TB) []byte {
	return testvectors.Read(t, "vci-spec-site/examples/issuer/.well-known/crl/"+kidK0+".json")
}

func staleCRL(t testing.TB) []byte {
	return testvectors.Read(t, "vci-generator/issuer/.well-known/crl/"+kidK0+".json")
}

// exampleDirectory builds a VCI-shaped directory listing the example
// issuer with the published keys and the given CRL.
func exampleDirectory(t testing.TB, crl []byte) []byte {
	t.Helper()
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(exampleJWKS(t), &set); err != nil {
		t.Fatal(err)
	}
	d := map[string]any{
		"directory": "test",
		"time":      "2023-06-22T00:00:00Z",
		"issuerInfo": []any{map[string]any{
			"issuer": map[string]any{"iss": exampleIss, "name": "SMART Spec Examples"},
			"keys":   set.Keys,
			"crls":   []json.RawMessage{crl},
		}},
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exampleVerifier builds a verifier pinned at VCI nbf + 1 min.
func exampleVerifier(t testing.TB, opts ...Option) *Verifier {
	t.Helper()
	v, err := New(append([]Option{WithClock(at(vciNBF + 60))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// hostServer is an httptest TLS server that serves a vector folder under a
// path prefix and counts requests per path.
type hostServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func (h *hostServer) count(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[path]
}

func newHost(t testing.TB, prefix, dir string, extra http.Handler) *hostServer {
	t.Helper()
	h := &hostServer{hits: map[string]int{}}
	fs := http.StripPrefix(prefix, http.FileServer(http.Dir(dir)))
	h.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.hits[r.URL.Path]++
		h.mu.Unlock()
		if extra != nil && !strings.HasPrefix(r.URL.Path, prefix) {
			extra.ServeHTTP(w, r)
			return
		}
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(h.Close)
	return h
}

// netOpts are the options that let a verifier reach a test server.
func netOpts(s *httptest.Server) []Option {
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	return []Option{WithRootCAs(pool), WithAllowPrivateNetwork()}
}

// privateK0 returns the published private key K0 (MANIFEST: keys[0]),
// and the encryption key keys[1].
func privateKey(t testing.TB, index int) *ecdsa.PrivateKey {
	t.Helper()
	var set struct {
		Keys []struct{ D, X, Y string }
	}
	if err := json.Unmarshal(testvectors.Read(t, "vci-generator/src/config/issuer.jwks.private.json"), &set); err != nil {
		t.Fatal(err)
	}
	k := set.Keys[index]
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, mustB64(t, k.X)...), mustB64(t, k.Y)...))
	if err != nil {
		t.Fatal(err)
	}
	return &ecdsa.PrivateKey{PublicKey: *pub, D: new(big.Int).SetBytes(mustB64(t, k.D))}
}

// newKey returns a fresh P-256 key.
func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// jwksOf returns a JWKS JSON for keys, with extra members merged into
// every entry.
func jwksOf(t testing.TB, extra map[string]any, ks ...*ecdsa.PrivateKey) []byte {
	t.Helper()
	var list []map[string]any
	for _, k := range ks {
		kid, err := keys.Thumbprint(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := k.PublicKey.Bytes()
		m := map[string]any{"kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256",
			"x": base64.RawURLEncoding.EncodeToString(raw[1:33]), "y": base64.RawURLEncoding.EncodeToString(raw[33:])}
		for k, v := range extra {
			m[k] = v
		}
		list = append(list, m)
	}
	b, err := json.Marshal(map[string]any{"keys": list})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signCard signs a small card for iss at nbf with k; mod may adjust the payload.
func signCard(t testing.TB, k *ecdsa.PrivateKey, iss string, nbf float64, mod func(*shc.Payload)) string {
	t.Helper()
	p := shc.NewPayload(iss, time.Unix(0, 0), json.RawMessage(`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"resource:0","resource":{"resourceType":"Patient","name":[{"family":"Doe","given":["Jane"]}],"birthDate":"1970-01-01"}},{"fullUrl":"resource:1","resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94558-4"}]},"subject":{"reference":"resource:0"},"effectiveDateTime":"2023-01-01","performer":[{"display":"Lab One"}],"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260415000"}]}}}]}`))
	p.NotBefore = shc.NumericDate(nbf)
	if mod != nil {
		mod(p)
	}
	jws, err := shc.Sign(k, p)
	if err != nil {
		t.Fatal(err)
	}
	return jws
}

func verifyOne(t testing.TB, v *Verifier, input string) *Result {
	t.Helper()
	res, err := v.Verify(context.Background(), []byte(input))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if len(res) != 1 {
		t.Fatalf("want 1 result, got %d", len(res))
	}
	return res[0]
}

// wantCode asserts the verdict and that code is among the result's errors.
func wantCode(t testing.TB, r *Result, verdict Verdict, code Code) {
	t.Helper()
	if r.Verdict != verdict {
		t.Fatalf("verdict %s, want %s; errors %+v warnings %q", r.Verdict, verdict, r.Errors, r.Warnings)
	}
	if code == "" {
		if len(r.Errors) != 0 || r.Err() != nil {
			t.Fatalf("unexpected errors %+v", r.Errors)
		}
		return
	}
	for _, e := range r.Errors {
		if e.Code == code {
			return
		}
	}
	t.Fatalf("want error %s, got %+v", code, r.Errors)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
