package server

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/safehttp"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shl"
	"github.com/healthcards/healthcards/verifier"
)

// TestCompanionConfig_PrivateOriginOnlyForIssuerMaterial: the verifier
// that `shc-issuer serve --verifier-listen` starts is configured with
// --allow-private-origin <its issuer's origin> (issue 10). It fetches the
// issuer's own key set and revocation list from loopback, but a SMART
// Health Link naming a loopback URL — at another port or at the issuer's own
// origin — is refused before anything is sent.
func TestCompanionConfig_PrivateOriginOnlyForIssuerMaterial(t *testing.T) {
	priv, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := shc.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	one := 1
	jwks, _ := json.Marshal(keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(priv.Public().(*ecdsa.PublicKey), &one)}})
	var keyFetches, otherRequests atomic.Int32
	issuer := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/jwks.json":
			keyFetches.Add(1)
			w.Write(jwks)
		case "/.well-known/crl/" + signer.KeyID() + ".json":
			json.NewEncoder(w).Encode(map[string]any{"kid": signer.KeyID(), "method": "rid", "ctr": 1, "rids": []string{}})
		default:
			otherRequests.Add(1) // a link manifest or file: must never be asked for
			http.NotFound(w, r)
		}
	}))
	defer issuer.Close()
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherRequests.Add(1) }))
	defer other.Close()

	certFile := filepath.Join(t.TempDir(), "ca.pem")
	var pemBytes []byte
	for _, s := range []*httptest.Server{issuer, other} {
		pemBytes = append(pemBytes, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})...)
	}
	if err := os.WriteFile(certFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	// The options cmd/shc-issuer/serve.go sets (with a test listener).
	o := DefaultOptions()
	o.Listen, o.TrustedIssuers, o.PrivateOrigins, o.CACerts = "127.0.0.1:0", []string{issuer.URL}, []string{issuer.URL}, []string{certFile}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	vopts, _, err := o.verifierOptions()
	if err != nil {
		t.Fatal(err)
	}
	trust, err := NewTrust(context.Background(), TrustConfig{Options: vopts, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	card, err := signer.Sign(shc.NewPayload(issuer.URL, time.Now().Add(-time.Hour), json.RawMessage(`{"resourceType":"Bundle","type":"collection","entry":[]}`)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := trust.Verify(ctx, []byte(card))
	if err != nil || len(res) != 1 || !res[0].Valid {
		t.Fatalf("the issuer's own card: %v %+v", err, res)
	}
	if keyFetches.Load() == 0 {
		t.Fatal("the key set was not fetched from the issuer's origin")
	}

	for _, manifest := range []string{
		issuer.URL + "/shl/" + strings.Repeat("a", 43), // the issuer's own origin: still refused for links
		other.URL + "/m", // another loopback origin
		strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + "/m",
	} {
		p, err := shl.NewPayload(manifest)
		if err != nil {
			t.Fatal(err)
		}
		_, err = trust.VerifyLink(ctx, p.URI(""), verifier.LinkOptions{})
		if verifier.CodeOf(err) != verifier.CodeLinkFetchFailed || !errors.Is(err, safehttp.ErrBlockedAddress) {
			t.Errorf("link to %s: %v, want link_fetch_failed from a refused address", manifest, err)
		}
	}
	if n := otherRequests.Load(); n != 0 {
		t.Fatalf("%d link requests reached loopback", n)
	}
}
