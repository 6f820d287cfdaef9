package did

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/safehttp"
)

// localhostCert returns a self-signed certificate for "localhost": did:web
// names a domain, so the tests cannot use httptest's IP-only default.
func localhostCert(t *testing.T) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// didServer serves DID documents by path over TLS for "localhost" and
// returns the did:web host segment ("localhost%3A<port>") and a resolver
// that trusts it.
func didServer(t *testing.T, h http.Handler) (string, *Resolver) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{localhostCert(t)}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	r := &Resolver{Fetch: safehttp.MustNew(safehttp.Config{AllowPrivateNetwork: true, RootCAs: pool, Timeout: 5 * time.Second})}
	return "localhost%3A" + port, r
}

func serveJSON(v any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/did+json")
		_ = json.NewEncoder(w).Encode(v)
	}
}

func TestResolve_DIDWeb(t *testing.T) {
	k := newJWK(t)
	mux := http.NewServeMux()
	var host string
	mux.HandleFunc("/.well-known/did.json", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(NewDocument("did:web:"+host, []keys.JWK{k}))(w, r)
	})
	mux.HandleFunc("/issuers/a/did.json", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(NewDocument("did:web:"+host+":issuers:a", []keys.JWK{k}))(w, r)
	})
	mux.HandleFunc("/mismatch/did.json", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(NewDocument("did:web:"+host+":someone-else", []keys.JWK{k}))(w, r)
	})
	mux.HandleFunc("/huge/did.json", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"id":"x","pad":"` + strings.Repeat("a", MaxDocumentBytes) + `"}`))
	})
	mux.HandleFunc("/enormous/did.json", func(w http.ResponseWriter, _ *http.Request) {
		chunk := []byte(strings.Repeat("a", 64<<10))
		for i := 0; i < 40; i++ { // 2.5 MiB, over safehttp's 1 MiB default
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/broken/did.json", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"id":`)) })
	mux.HandleFunc("/gone/did.json", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) })
	mux.HandleFunc("/error/did.json", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	var r *Resolver
	host, r = didServer(t, mux)
	ctx := context.Background()

	for _, d := range []string{"did:web:" + host, "did:web:" + host + ":issuers:a"} {
		doc, err := r.Resolve(ctx, d)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if got := doc.Keys(); len(got) != 1 || got[0].Kid != k.Kid {
			t.Fatalf("%s: keys %v", d, kids(got))
		}
	}

	tests := []struct {
		path string
		want *Error
	}{
		{":mismatch", ErrMismatch},
		{":missing", ErrNotFound},
		{":gone", ErrNotFound},
		{":error", ErrFetch},
		{":huge", ErrTooLarge},
		{":enormous", ErrTooLarge},
		{":broken", ErrMalformedDocument},
		{":..", ErrMalformedDID},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			doc, err := r.Resolve(ctx, "did:web:"+host+tc.path)
			if doc != nil {
				t.Fatal("non-nil document with error")
			}
			wantCode(t, err, tc.want)
		})
	}
}

// TestResolve_DIDWeb_Guarded: the default safehttp client refuses
// loopback, and a resolver without a client refuses did:web.
func TestResolve_DIDWeb_Guarded(t *testing.T) {
	host, _ := didServer(t, http.NotFoundHandler())
	r := &Resolver{Fetch: safehttp.MustNew(safehttp.Config{})}
	_, err := r.Resolve(context.Background(), "did:web:"+host)
	wantCode(t, err, ErrFetch)
	if !errors.Is(err, safehttp.ErrBlockedAddress) {
		t.Fatalf("want a blocked-address cause, got %v", err)
	}
	_, err = (&Resolver{}).Resolve(context.Background(), "did:web:example.com")
	wantCode(t, err, ErrFetch)
}

func TestResolve_DIDKey(t *testing.T) {
	r := &Resolver{} // did:key needs no network
	v := w3cP256Vectors[1]
	doc, err := r.Resolve(context.Background(), v.did)
	if err != nil {
		t.Fatal(err)
	}
	if doc.ID != v.did {
		t.Fatalf("id %q", doc.ID)
	}
	ks := doc.Keys()
	if len(ks) != 1 || ks[0].X != v.x || ks[0].Y != v.y {
		t.Fatalf("keys %+v", ks)
	}
	if doc.VerificationMethod[0].ID != v.did+"#"+ks[0].Kid {
		t.Fatalf("method id %q", doc.VerificationMethod[0].ID)
	}
	_, err = r.Resolve(context.Background(), w3cP384DID)
	wantCode(t, err, ErrUnsupportedKey)
}

func TestResolve_OtherMethods(t *testing.T) {
	r := &Resolver{}
	for _, d := range []string{"did:ion:abc", "did:jwk:eyJ9", "did:example:123"} {
		_, err := r.Resolve(context.Background(), d)
		wantCode(t, err, ErrUnsupportedMethod)
	}
	for _, d := range []string{"", "https://example.com", "did"} {
		_, err := r.Resolve(context.Background(), d)
		wantCode(t, err, ErrMalformedDID)
	}
}
