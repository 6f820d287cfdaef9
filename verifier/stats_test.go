package verifier

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
)

// Stats: the first verification of a card from a live issuer misses the
// key-set and revocation-list caches and fetches both; the second one is
// answered from the caches (a key-set hit and a CRL hit, no fetch). A
// failing fetch counts as a fetch failure.
func TestStatsCacheHits(t *testing.T) {
	k := newKey(t)
	kid, err := keys.Thumbprint(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	jwks := jwksOf(t, map[string]any{"crlVersion": 1}, k)
	crl, _ := json.Marshal(map[string]any{"kid": kid, "method": "rid", "ctr": 1, "rids": []string{}})
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) { w.Write(jwks) })
	mux.HandleFunc("/.well-known/crl/"+kid+".json", func(w http.ResponseWriter, r *http.Request) { w.Write(crl) })
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()

	v, err := New(append(netOpts(srv), WithTrustedIssuers(srv.URL))...)
	if err != nil {
		t.Fatal(err)
	}
	if s := v.Stats(); s != (Stats{}) {
		t.Fatalf("fresh verifier: %+v", s)
	}
	card := signCard(t, k, srv.URL, float64(time.Now().Add(-time.Hour).Unix()), func(p *shc.Payload) { p.VC.RID = "r1" })
	wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
	want := Stats{KeySetCacheMisses: 1, CRLCacheMisses: 1, Fetches: 2}
	if s := v.Stats(); s != want {
		t.Fatalf("after the first verification: %+v, want %+v", s, want)
	}
	wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
	want.KeySetCacheHits, want.CRLCacheHits = 1, 1
	if s := v.Stats(); s != want {
		t.Fatalf("after the second verification: %+v, want %+v", s, want)
	}

	// An issuer whose key set cannot be fetched: a miss and a failed fetch.
	dead := httptest.NewTLSServer(http.NotFoundHandler())
	defer dead.Close()
	v2, err := New(append(netOpts(dead), WithTrustedIssuers(dead.URL))...)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, verifyOne(t, v2, signCard(t, k, dead.URL, float64(time.Now().Unix()), nil)), VerdictUnableToCheck, CodeIssuerUnreachable)
	if s := v2.Stats(); s != (Stats{KeySetCacheMisses: 1, Fetches: 1, FetchFailures: 1}) {
		t.Fatalf("unreachable issuer: %+v", s)
	}
}
