package wallet

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthcards/healthcards/verifier"
)

func openTest(t *testing.T, dir string) *Wallet {
	t.Helper()
	w, err := Open(dir, Options{TestWorkFactor: true, Passphrase: func() ([]byte, error) { return []byte("correct horse"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// browser follows the authorization URL as a person's browser would: the
// test server approves and redirects to the wallet's loopback listener.
func (s *testServer) browser(t *testing.T) func(string) error {
	return func(u string) error {
		go func() {
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}}}
			resp, err := c.Get(u)
			page := ""
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				page = string(b)
			}
			s.pages <- page
		}()
		return nil
	}
}

func (s *testServer) connect(t *testing.T, w *Wallet) error {
	t.Helper()
	conn := &Connection{PrivateOrigins: []string{s.URL}, CACertPEM: s.caPEM()}
	c, err := NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	cn, g, err := c.Connect(context.Background(), ConnectOptions{FHIRBase: s.base(), ClientID: "shc-wallet", ShowURL: s.browser(t),
		PrivateOrigins: conn.PrivateOrigins, CACertPEM: conn.CACertPEM, Timeout: time.Minute})
	if err != nil {
		return err
	}
	return w.SaveConnection(cn, g)
}

func (s *testServer) verifier(t *testing.T, conn *Connection) *verifier.Verifier {
	v, err := VerifierFor(conn)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func importCards(t *testing.T, w *Wallet, opts ImportOptions) ([]Card, error) {
	conn, err := w.Connection()
	if err != nil {
		return nil, err
	}
	c, err := NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Verifier == nil {
		if opts.Verifier, err = VerifierFor(conn); err != nil {
			t.Fatal(err)
		}
	}
	return c.Import(context.Background(), w, opts)
}

// The whole wallet flow against the test double: connect (discovery, PKCE
// S256, loopback redirect with state), import (refresh with rotation, then
// $health-cards-issue with credentialType and _since), every card verified
// before it is kept; a tampered card refuses the whole answer; withdrawn
// consent refuses the import.
func TestConnectImportWithdraw(t *testing.T) {
	s := newTestServer(t)
	dir := filepath.Join(t.TempDir(), "wallet")
	w := openTest(t, dir)
	if err := s.connect(t, w); err != nil {
		t.Fatal(err)
	}
	// The browser got the whole loopback page before the listener closed.
	if page := <-s.pages; !strings.Contains(page, "The wallet is connected.") || !strings.Contains(page, "</html>") {
		t.Fatalf("loopback page %q", page)
	}
	conn, err := w.Connection()
	if err != nil {
		t.Fatal(err)
	}
	if conn.TokenEndpoint != s.URL+"/token" || conn.FHIRBase != s.base() || strings.Join(conn.TrustedIssuers, " ") != s.URL+" "+s.base() {
		t.Fatalf("connection: %+v", conn)
	}
	g, err := w.Grant()
	if err != nil || g.Patient != testPatient || g.RefreshToken == "" || !strings.Contains(string(g.AuthorizationDetails), "healthcards:cards") {
		t.Fatalf("grant: %v %v", g, err)
	}
	// At rest: private files, and no token in clear anywhere in the folder.
	for _, f := range []string{connectionFile, grantFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, st.Mode(), err)
		}
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Fatalf("wallet folder mode %v", st.Mode())
	}
	assertNotInFolder(t, dir, g.RefreshToken, g.AccessToken, testPatient)
	firstRefresh := g.RefreshToken

	cards, err := importCards(t, w, ImportOptions{CredentialTypes: []string{"Observation"}, Since: "2020-01-01"})
	if err != nil || len(cards) != 2 {
		t.Fatalf("import: %d %v", len(cards), err)
	}
	if got := s.lastIssue; got.Get("credentialType") != "Observation" || got.Get("_since") != "2020-01-01" {
		t.Fatalf("parameters sent: %v", got)
	}
	g2, _ := w.Grant()
	if s.refreshes != 1 || g2.RefreshToken == firstRefresh || g2.RefreshToken != s.refresh {
		t.Fatalf("refresh token not rotated and stored: %d refreshes", s.refreshes)
	}
	listed, err := w.Cards()
	if err != nil || len(listed) != 2 || listed[0].Issuer != s.URL || listed[0].Source != "import" {
		t.Fatalf("list: %+v %v", listed, err)
	}
	// The same cards again are kept once.
	if _, err := importCards(t, w, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := s.lastIssue.Get("credentialType"); got != "https://smarthealth.cards#health-card" {
		t.Fatalf("default credentialType %q", got)
	}
	if listed, _ = w.Cards(); len(listed) != 2 {
		t.Fatalf("duplicates kept: %d", len(listed))
	}

	// A tampered card: nothing of the answer is kept.
	s.cards = func() []string { return []string{s.sign(bundles2()), s.sign(bundles2()) + ""} }
	s.tamper = true
	_, err = importCards(t, w, ImportOptions{})
	if !errors.Is(err, ErrCardNotVerified) || !strings.Contains(err.Error(), "card 2 of 2") || !strings.Contains(err.Error(), "bad_signature") {
		t.Fatalf("tampered: %v", err)
	}
	if listed, _ = w.Cards(); len(listed) != 2 {
		t.Fatalf("a refused answer left %d cards", len(listed))
	}
	s.tamper = false

	// A card from an issuer the wallet does not trust is refused too.
	other := newTestServer(t)
	s.cards = func() []string { return []string{other.sign(bundles2())} }
	if _, err = importCards(t, w, ImportOptions{}); !errors.Is(err, ErrCardNotVerified) || !strings.Contains(err.Error(), "issuer_not_trusted") {
		t.Fatalf("foreign issuer: %v", err)
	}

	// Revoked (RFC 7009): the grant ends at the server; then the refresh
	// token is refused and nothing is imported.
	conn, _ = w.Connection()
	cl, _ := NewClient(conn)
	if ok, err := cl.Revoke(context.Background(), w); !ok || err != nil || !s.withdrawn {
		t.Fatalf("revoke: %v %v", ok, err)
	}
	if _, err = importCards(t, w, ImportOptions{}); !errors.Is(err, ErrAuthorizationExpired) || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("withdrawn: %v", err)
	}
	assertNotInError(t, err, g2.RefreshToken)

	// A refresh token used after rotation is refused the same way: put the
	// first (spent) one back.
	s.withdrawn = false
	g2.RefreshToken = firstRefresh
	if err := w.SaveGrant(g2); err != nil {
		t.Fatal(err)
	}
	if _, err = importCards(t, w, ImportOptions{}); !errors.Is(err, ErrAuthorizationExpired) {
		t.Fatalf("spent refresh token: %v", err)
	}
}

func bundles2() []byte {
	return []byte(`{"resourceType":"Bundle","type":"collection","entry":[
	  {"fullUrl":"resource:0","resource":{"resourceType":"Patient","name":[{"family":"Doe","given":["Jane"]}],"birthDate":"1980-02-03"}},
	  {"fullUrl":"resource:1","resource":{"resourceType":"Observation","status":"final",
	    "code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},"subject":{"reference":"resource:0"},
	    "effectiveDateTime":"2026-11-20","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}]}}}]}`)
}

func assertNotInFolder(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s holds a secret or the patient id in clear", p)
			}
		}
		return nil
	})
}

func assertNotInError(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("error %q prints a token", err)
		}
	}
}

// Connect fails closed: a forged state, a refusal, a missing token endpoint,
// a loopback server not allowed, and a redirect that never comes.
func TestConnectRefusals(t *testing.T) {
	s := newTestServer(t)
	w := openTest(t, filepath.Join(t.TempDir(), "w"))

	s.badState = true
	if err := s.connect(t, w); !errors.Is(err, ErrAuthorizationFailed) || !strings.Contains(err.Error(), "state") {
		t.Fatalf("forged state: %v", err)
	}
	s.badState, s.denied = false, true
	if err := s.connect(t, w); !errors.Is(err, ErrAuthorizationFailed) || !strings.Contains(err.Error(), "access_denied") {
		t.Fatalf("denied: %v", err)
	}
	s.denied, s.noTokenEndpoint = false, true
	if err := s.connect(t, w); !errors.Is(err, ErrDiscoveryFailed) {
		t.Fatalf("no token endpoint: %v", err)
	}
	s.noTokenEndpoint = false
	if _, err := w.Connection(); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("a failed connect stored something: %v", err)
	}

	// The FHIR base is on loopback: refused unless its origin is allowed.
	c, _ := NewClient(&Connection{CACertPEM: s.caPEM()})
	if _, err := c.Discover(context.Background(), s.base()); !errors.Is(err, ErrFetchFailed) || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("loopback base: %v", err)
	}
	if _, err := CheckFHIRBase("http://example.org/fhir"); !errors.Is(err, ErrDiscoveryFailed) {
		t.Fatalf("http base: %v", err)
	}

	// Nobody completes the authorization: the listener gives up.
	c, _ = NewClient(&Connection{PrivateOrigins: []string{s.URL}, CACertPEM: s.caPEM()})
	_, _, err := c.Connect(context.Background(), ConnectOptions{FHIRBase: s.base(), ClientID: "shc-wallet", Timeout: 200 * time.Millisecond,
		ShowURL: func(string) error { return nil }})
	if !errors.Is(err, ErrAuthorizationFailed) || !strings.Contains(err.Error(), "no redirect") {
		t.Fatalf("timeout: %v", err)
	}
}

// The callback accepts exactly one request, whatever it carries.
func TestCallbackOneRequest(t *testing.T) {
	out := make(chan callback, 1)
	h := callbackHandler("s3", out)
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(q string) int {
		resp, err := http.Get(srv.URL + CallbackPath + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if get("?state=s3&code=abc") != 200 {
		t.Fatal("first redirect refused")
	}
	if cb := <-out; cb.code != "abc" || cb.err != nil {
		t.Fatalf("callback %+v", cb)
	}
	if get("?state=s3&code=again") != 404 {
		t.Fatal("second redirect accepted")
	}
}

// The folder and its files must be private; a wrong passphrase cannot open
// the grant.
func TestPrivateFolder(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "w")
	w := openTest(t, dir)
	if err := w.SaveGrant(&Grant{AccessToken: "at", RefreshToken: "rt", Patient: "p"}); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrInsecure) {
		t.Fatalf("0755 folder: %v", err)
	}
	os.Chmod(dir, 0o700)
	link := filepath.Join(root, "link")
	os.Symlink(dir, link)
	if _, err := Open(link, Options{}); !errors.Is(err, ErrInsecure) {
		t.Fatalf("symlink: %v", err)
	}
	os.Chmod(filepath.Join(dir, grantFile), 0o644)
	if _, err := w.Grant(); !errors.Is(err, ErrInsecure) {
		t.Fatalf("0644 grant: %v", err)
	}
	os.Chmod(filepath.Join(dir, grantFile), 0o600)
	wrong, _ := Open(dir, Options{TestWorkFactor: true, Passphrase: func() ([]byte, error) { return []byte("wrong"), nil }})
	if _, err := wrong.Grant(); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	none, _ := Open(dir, Options{TestWorkFactor: true})
	if _, err := none.Grant(); !errors.Is(err, ErrPassphraseRequired) {
		t.Fatalf("no passphrase: %v", err)
	}
	// A grant written with the test work factor is refused by a wallet that
	// expects the real one (below keys.MinPBES2Count).
	strict, _ := Open(dir, Options{Passphrase: func() ([]byte, error) { return []byte("correct horse"), nil }})
	if _, err := strict.Grant(); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("weak grant accepted: %v", err)
	}
	if g, err := w.Grant(); err != nil || g.RefreshToken != "rt" || strings.Contains(g.String(), "rt") {
		t.Fatalf("grant: %v %v", g, err)
	}
}

func TestCredentialTypeAndSince(t *testing.T) {
	for in, want := range map[string]string{"immunization": "Immunization", "laboratory": "Observation", "covid19": "https://smarthealth.cards#covid19", "DiagnosticReport": "DiagnosticReport"} {
		if got, err := CredentialType(in); err != nil || got != want {
			t.Errorf("%s: %q %v", in, got, err)
		}
	}
	if _, err := CredentialType("x-ray; drop"); err == nil {
		t.Error("junk type accepted")
	}
	for _, ok := range []string{"2026", "2026-03", "2026-03-01", "2026-03-01T10:00:00Z", "2026-03-01T10:00:00.5+01:00"} {
		if !fhirDateTimeRE.MatchString(ok) {
			t.Errorf("%s refused", ok)
		}
	}
	for _, bad := range []string{"2026-13", "2026-03-01T10:00", "yesterday", "2026-03-01T10:00:00"} {
		if fhirDateTimeRE.MatchString(bad) {
			t.Errorf("%s accepted", bad)
		}
	}
}

// ShareLink sends the wallet's bearer token only to the origin of the FHIR
// base it connected to: a card from another trusted issuer (connect
// --trusted-issuer OTHER) is refused before anything is sent there.
func TestShareLinkOnlyToConnectedOrigin(t *testing.T) {
	s := newTestServer(t)
	var hits atomic.Int32
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	defer other.Close()
	w := openTest(t, filepath.Join(t.TempDir(), "wallet"))
	if err := s.connect(t, w); err != nil {
		t.Fatal(err)
	}
	conn, err := w.Connection()
	if err != nil {
		t.Fatal(err)
	}
	g, err := w.Grant()
	if err != nil {
		t.Fatal(err)
	}
	conn.TrustedIssuers = append(conn.TrustedIssuers, other.URL)
	conn.PrivateOrigins = append(conn.PrivateOrigins, other.URL)
	if err := w.SaveConnection(conn, g); err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ShareLink(context.Background(), w, Card{Issuer: other.URL}, LinkOptions{})
	if CodeOf(err) != CodeIssueRefused || !strings.Contains(err.Error(), "origin") {
		t.Fatalf("share of a card from another origin: %v", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the other origin received %d request(s)", n)
	}
	assertNotInError(t, err, g.AccessToken, g.RefreshToken)
}

// A new grant needs a passphrase of MinPassphraseChars characters; a wallet
// that already holds a grant under a shorter one (made before the rule)
// keeps opening and refreshing.
func TestPassphraseMinimum(t *testing.T) {
	short := func() ([]byte, error) { return []byte("élan vital"), nil } // 10 characters, 11 bytes
	dir := filepath.Join(t.TempDir(), "wallet")
	w, err := Open(dir, Options{TestWorkFactor: true, Passphrase: short})
	if err != nil {
		t.Fatal(err)
	}
	g := &Grant{AccessToken: "at", RefreshToken: "rt", Patient: testPatient}
	if err := w.SaveGrant(g); !errors.Is(err, ErrPassphraseTooShort) {
		t.Fatalf("new grant under a 10-character passphrase: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, grantFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused grant was written: %v", err)
	}
	long := openTest(t, filepath.Join(t.TempDir(), "w2")) // "correct horse": 13
	if err := long.SaveGrant(g); err != nil {
		t.Fatalf("13 characters: %v", err)
	}
	// An older wallet: its grant already exists under the short passphrase.
	if err := os.WriteFile(filepath.Join(dir, grantFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.SaveGrant(g); err != nil {
		t.Fatalf("sealing over an existing grant: %v", err)
	}
	old, err := Open(dir, Options{TestWorkFactor: true, Passphrase: short})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := old.Grant(); err != nil || got.RefreshToken != "rt" {
		t.Fatalf("an existing wallet under a short passphrase no longer opens: %v", err)
	}
	if err := old.SaveGrant(&Grant{AccessToken: "at2", RefreshToken: "rt2", Patient: testPatient}); err != nil {
		t.Fatalf("refreshing an existing wallet: %v", err)
	}
}

// Reconnecting revokes the refresh token it replaces (RFC 7009) before the
// new grant is stored; when the old server cannot be reached the new
// connection is stored all the same and the failure is reported.
func TestReplaceRevokesPreviousGrant(t *testing.T) {
	s := newTestServer(t)
	w := openTest(t, filepath.Join(t.TempDir(), "wallet"))
	if err := s.connect(t, w); err != nil {
		t.Fatal(err)
	}
	old, err := w.Grant()
	if err != nil {
		t.Fatal(err)
	}
	reconnect := func() (*Connection, *Grant) {
		t.Helper()
		c, err := NewClient(&Connection{PrivateOrigins: []string{s.URL}, CACertPEM: s.caPEM()})
		if err != nil {
			t.Fatal(err)
		}
		cn, g, err := c.Connect(context.Background(), ConnectOptions{FHIRBase: s.base(), ClientID: "shc-wallet", ShowURL: s.browser(t),
			PrivateOrigins: []string{s.URL}, CACertPEM: s.caPEM(), Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		<-s.pages
		return cn, g
	}
	cn, g := reconnect()
	revokeErr, err := Replace(context.Background(), w, cn, g)
	if err != nil || revokeErr != nil {
		t.Fatalf("replace: %v / revoke: %v", err, revokeErr)
	}
	s.mu.Lock()
	revoked := append([]string(nil), s.revoked...)
	s.mu.Unlock()
	if len(revoked) != 1 || revoked[0] != old.RefreshToken {
		t.Fatalf("the replaced refresh token was not revoked (%d revocations)", len(revoked))
	}
	if now, err := w.Grant(); err != nil || now.RefreshToken != g.RefreshToken {
		t.Fatalf("the new grant was not stored: %v", err)
	}

	// The previous server is gone: the new connection is kept, the failure
	// reported.
	gone := httptest.NewTLSServer(http.NotFoundHandler())
	gone.Close()
	conn, _ := w.Connection()
	conn.RevocationEndpoint = gone.URL + "/revoke"
	conn.PrivateOrigins = append(conn.PrivateOrigins, gone.URL)
	if err := w.SaveConnection(conn, g); err != nil {
		t.Fatal(err)
	}
	cn2, g2 := reconnect()
	revokeErr, err = Replace(context.Background(), w, cn2, g2)
	if err != nil || CodeOf(revokeErr) != CodeFetchFailed {
		t.Fatalf("unreachable revocation endpoint: store %v, revoke %v", err, revokeErr)
	}
	assertNotInError(t, revokeErr, g.RefreshToken, g.AccessToken)
	if now, err := w.Grant(); err != nil || now.RefreshToken != g2.RefreshToken {
		t.Fatalf("the new grant was not stored after a failed revocation: %v", err)
	}
}
