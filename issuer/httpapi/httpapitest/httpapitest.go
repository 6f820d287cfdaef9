// Package httpapitest starts the issuer service on an httptest TLS server
// for tests in other packages (for example a verifier's online test): the
// issuer's iss is the server's https URL, so cards verify against its live
// /.well-known endpoints. It uses an in-memory store and a fresh key.
package httpapitest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/safehttp"
)

// Server is a running issuer service.
type Server struct {
	*httptest.Server
	Issuer *issuer.Issuer
	Keys   *keys.Ring
	// Iss is the issuer's iss: the server's https URL, or a did:web with
	// Options.DIDWeb.
	Iss string
	// Token is an API token with every lab scope.
	Token string
	// AuthServer serves the test authorization server's JWKS; mint
	// access tokens with MintJWT.
	AuthServer *httptest.Server
	authKey    *ecdsa.PrivateKey
}

// LabClient is the JWT subject registered as a system client with the
// cards:issue scope (auth.JWTConfig.SystemClients).
const LabClient = "lab-system-1"

// Options adjust Start.
type Options struct {
	Now func() time.Time // nil: time.Now
	// Store is the service's store; nil means the one StoreEnv names
	// (default: in-memory).
	Store     store.Store
	ConfigAPI func(*httpapi.Config)
	// DIDWeb makes the issuer did:web:localhost%3APORT (a project
	// extension, KEY-12) serving a TLS certificate for "localhost"; its
	// DID document is at https://localhost:PORT/.well-known/did.json.
	DIDWeb bool
}

// AuthIssuer is the iss of the test authorization server's tokens.
func (s *Server) AuthIssuer() string { return s.AuthServer.URL }

// Audience is the audience the service expects: its FHIR base URL.
func (s *Server) Audience() string { return s.URL + "/fhir" }

// Start runs the service on an httptest TLS server until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{}
	var err error
	s.authKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	authJWKS := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.authKey.PublicKey, KeyID: "as-1", Algorithm: "ES256", Use: "sig"}}}
	s.AuthServer = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		b, _ := jsonMarshal(authJWKS)
		w.Write(b)
	}))
	t.Cleanup(s.AuthServer.Close)

	var handler http.Handler = http.NotFoundHandler()
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	if opts.DIDWeb {
		s.Server.TLS = &tls.Config{Certificates: []tls.Certificate{localhostCert(t)}}
	}
	s.Server.StartTLS()
	t.Cleanup(s.Server.Close)
	iss := s.URL
	if opts.DIDWeb {
		iss = "did:web:localhost%3A" + s.Server.URL[strings.LastIndexByte(s.Server.URL, ':')+1:]
	}
	s.Iss = iss

	s.Keys, err = keys.OpenRing(t.TempDir()+"/keys", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Keys.Rotate(); err != nil {
		t.Fatal(err)
	}
	st := opts.Store
	if st == nil {
		st = storeFromEnv(t)
	}
	secret, err := issuer.NewRIDSecret()
	if err != nil {
		t.Fatal(err)
	}
	s.Issuer, err = issuer.New(issuer.Config{Iss: iss, Keys: s.Keys, Store: st, RIDSecret: secret, Now: opts.Now})
	if err != nil {
		t.Fatal(err)
	}
	fetch := safehttp.MustNew(safehttp.Config{AllowPrivateNetwork: true, RootCAs: certPool(s.AuthServer)})
	a, err := auth.New(auth.Config{Store: st, Now: opts.Now, JWT: &auth.JWTConfig{Issuer: s.AuthServer.URL, Audience: s.Audience(), Fetch: fetch,
		SystemClients: map[string][]string{LabClient: {auth.ScopeCardsIssue}}}})
	if err != nil {
		t.Fatal(err)
	}
	secretTok, tok, err := auth.NewToken(auth.AllLabScopes, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	s.Token = secretTok
	cfg := httpapi.Config{Issuer: s.Issuer, Auth: a, BaseURL: s.URL, IssuerName: "Test Lab", DevPage: true, HSTS: true,
		SMART: httpapi.SMARTConfig{Issuer: s.AuthServer.URL, AuthorizationEndpoint: s.AuthServer.URL + "/authorize", TokenEndpoint: s.AuthServer.URL + "/token"}}
	if opts.ConfigAPI != nil {
		opts.ConfigAPI(&cfg)
	}
	e, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	handler = e
	return s
}

// Claims are the claims of a minted access token; zero Expiry means one
// hour from now, empty Issuer/Audience the right ones.
type Claims struct {
	Issuer, Audience, Subject, Patient, Scope string
	Expiry                                    time.Time
	// FHIRUser is the SMART fhirUser claim ("" leaves it out).
	FHIRUser string
	// AuthorizationDetails is the RFC 9396 claim as raw JSON (nil leaves
	// it out).
	AuthorizationDetails json.RawMessage
}

// MintJWT signs an access token with the test authorization server's key.
func (s *Server) MintJWT(t testing.TB, c Claims) string {
	t.Helper()
	if c.Issuer == "" {
		c.Issuer = s.AuthIssuer()
	}
	if c.Audience == "" {
		c.Audience = s.Audience()
	}
	if c.Expiry.IsZero() {
		c.Expiry = time.Now().Add(time.Hour)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: s.authKey}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "as-1"))
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{
		"iss": c.Issuer, "aud": c.Audience, "sub": c.Subject, "exp": c.Expiry.Unix(), "iat": time.Now().Unix(), "scope": c.Scope,
	}
	if c.Patient != "" {
		claims["patient"] = c.Patient
	}
	if c.FHIRUser != "" {
		claims["fhirUser"] = c.FHIRUser
	}
	if c.AuthorizationDetails != nil {
		claims["authorization_details"] = c.AuthorizationDetails
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// localhostCert is a self-signed TLS certificate for "localhost" (did:web
// refuses IP literals, and httptest's own certificate does not name it).
func localhostCert(t testing.TB) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k, Leaf: leaf}
}
