// Package servertest builds real test fixtures for the verifier service: a
// card issuer on an httptest TLS server (P-256 key, JWKS with crlVersion,
// revocation list), cards signed with shc.Signer over a lab-result bundle,
// and a running service on loopback whose trust list names the issuer. It is
// used by the tests of verifier/server and verifier/web.
package servertest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/verifier"
	"github.com/healthcards/healthcards/verifier/server"
)

// LabBundle is a minified FHIR lab-result bundle: Patient "Anna Lena
// Testperson", born 1984-02-29, with a negative SARS-CoV-2 antigen test.
//
//go:embed testdata/lab-bundle.json
var LabBundle []byte

// Patient facts of LabBundle, for assertions.
const (
	PatientFamily = "Testperson"
	PatientGiven  = "Anna Lena"
	BirthDate     = "1984-02-29"
)

// Issuer is a card issuer served by an httptest TLS server at URL (the iss)
// with /.well-known/jwks.json and /.well-known/crl/<kid>.json.
type Issuer struct {
	URL    string
	Name   string
	KID    string
	Signer *shc.Signer
	Server *httptest.Server

	mu      sync.Mutex
	revoked []string
	fetches map[string]int
}

// NewIssuer starts an issuer whose revocation list (ctr 1) holds revoked.
func NewIssuer(t testing.TB, name string, revoked ...string) *Issuer {
	t.Helper()
	priv, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := shc.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	is := &Issuer{Name: name, KID: signer.KeyID(), Signer: signer, revoked: revoked, fetches: map[string]int{}}
	one := 1
	jwks, err := json.Marshal(keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(priv.Public().(*ecdsa.PublicKey), &one)}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		is.count(r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Write(jwks)
	})
	mux.HandleFunc("/.well-known/crl/"+is.KID+".json", func(w http.ResponseWriter, r *http.Request) {
		is.count(r.URL.Path)
		is.mu.Lock()
		rids := append([]string{}, is.revoked...)
		is.mu.Unlock()
		b, _ := json.Marshal(map[string]any{"kid": is.KID, "method": "rid", "ctr": 1, "rids": rids})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	is.Server = httptest.NewTLSServer(mux)
	t.Cleanup(is.Server.Close)
	is.URL = is.Server.URL
	return is
}

func (is *Issuer) count(path string) {
	is.mu.Lock()
	is.fetches[path]++
	is.mu.Unlock()
}

// Fetches returns how often path was requested.
func (is *Issuer) Fetches(path string) int {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.fetches[path]
}

// Card signs bundle (LabBundle when nil) as a card issued an hour ago,
// with revocation id rid when not empty.
func (is *Issuer) Card(t testing.TB, bundle []byte, rid string) string {
	t.Helper()
	if bundle == nil {
		bundle = LabBundle
	}
	p := shc.NewPayload(is.URL, time.Now().Add(-time.Hour), json.RawMessage(bundle))
	p.VC.RID = rid
	jws, err := is.Signer.Sign(p)
	if err != nil {
		t.Fatal(err)
	}
	return jws
}

// QRText returns the single shc:/ text of jws.
func QRText(t testing.TB, jws string) string {
	t.Helper()
	s, err := shc.EncodeQRText(jws)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TrustedIssuer is an issuer on a test server: its iss, its name for the
// trust list and its TLS certificate.
type TrustedIssuer struct {
	URL, Name string
	Cert      *x509.Certificate
}

// Trusted returns is as a TrustedIssuer.
func (is *Issuer) Trusted() TrustedIssuer {
	return TrustedIssuer{URL: is.URL, Name: is.Name, Cert: is.Server.Certificate()}
}

// TrustList writes a vci-issuers.json style trust list naming issuers and
// returns its path.
func TrustList(t testing.TB, issuers ...*Issuer) string {
	t.Helper()
	var ts []TrustedIssuer
	for _, is := range issuers {
		ts = append(ts, is.Trusted())
	}
	return trustList(t, ts)
}

func trustList(t testing.TB, issuers []TrustedIssuer) string {
	t.Helper()
	type entry struct {
		Iss  string `json:"iss"`
		Name string `json:"name"`
	}
	var l struct {
		Issuers []entry `json:"participating_issuers"`
	}
	for _, is := range issuers {
		l.Issuers = append(l.Issuers, entry{is.URL, is.Name})
	}
	b, _ := json.Marshal(l)
	path := filepath.Join(t.TempDir(), "trust-list.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Service is a running verifier service on loopback.
type Service struct {
	URL    string
	Server *server.Server
	Trust  *server.Trust
	logs   *SyncBuffer
}

// Logs returns everything the service logged so far (JSON lines).
func (s *Service) Logs() string { return s.logs.String() }

// SyncBuffer is a bytes.Buffer safe for concurrent writes.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start runs a service whose trust list names trusted (their key sets and
// revocation lists are fetched live from their TLS servers), with cfg's
// other fields as given (Verifier and Ready are set here; a nil Logger
// means a debug-level JSON log kept for Logs).
// Issuers in others get their TLS certificates trusted too, but no trust.
func Start(t testing.TB, cfg server.Config, trusted []*Issuer, others ...*Issuer) *Service {
	t.Helper()
	var tr, ot []TrustedIssuer
	for _, is := range trusted {
		tr = append(tr, is.Trusted())
	}
	for _, is := range others {
		ot = append(ot, is.Trusted())
	}
	return StartTrusting(t, cfg, tr, ot...)
}

// StartTrusting is Start for issuers on any test server (for example an
// issuer service hosting SMART Health Links, see package shlhost).
func StartTrusting(t testing.TB, cfg server.Config, trusted []TrustedIssuer, others ...TrustedIssuer) *Service {
	t.Helper()
	return StartWith(t, cfg, nil, trusted, others...)
}

// StartWith is StartTrusting with extra verifier options (for example
// verifier.WithEntryRules).
func StartWith(t testing.TB, cfg server.Config, extra []verifier.Option, trusted []TrustedIssuer, others ...TrustedIssuer) *Service {
	t.Helper()
	pool := x509.NewCertPool()
	for _, is := range append(append([]TrustedIssuer{}, trusted...), others...) {
		pool.AddCert(is.Cert)
	}
	logs := &SyncBuffer{}
	log := cfg.Logger // when nil, logs go to a buffer read by Logs
	if log == nil {
		log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	opts := append([]verifier.Option{verifier.WithRootCAs(pool), verifier.WithAllowPrivateNetwork()}, extra...)
	var sources []string
	if len(trusted) > 0 {
		sources = append(sources, trustList(t, trusted))
	} else {
		opts = append(opts, verifier.WithoutIssuerTrustUnsafe())
	}
	if cfg.Metrics == nil {
		cfg.Metrics = server.NewMetrics()
	}
	trust, err := server.NewTrust(context.Background(), server.TrustConfig{Sources: sources, Options: opts, Logger: log, Metrics: cfg.Metrics})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Verifier, cfg.Ready, cfg.Logger = trust, trust.Ready, log
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &Service{URL: hs.URL, Server: srv, Trust: trust, logs: logs}
}

// String describes the issuer for test messages.
func (is *Issuer) String() string { return fmt.Sprintf("issuer %q at %s", is.Name, is.URL) }
