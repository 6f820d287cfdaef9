package wallet

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/healthcards/healthcards/safehttp"
)

// DefaultScopes is what "shc wallet connect" asks for: a patient
// standalone launch (launch/patient), the person's identity (openid
// fhirUser), a refresh token (offline_access) and read access to the card
// types of $health-cards-issue (OP-2, SMART v2 ".rs").
var DefaultScopes = []string{"launch/patient", "openid", "fhirUser", "offline_access",
	"patient/Immunization.rs", "patient/Observation.rs"}

// DefaultConnectTimeout bounds how long the loopback redirect waits for the
// person to finish in the browser.
const DefaultConnectTimeout = 5 * time.Minute

// CallbackPath is the path of the loopback redirect URI
// (http://127.0.0.1:PORT/callback, RFC 8252 §7.3: the server must accept
// any port).
const CallbackPath = "/callback"

// SMARTConfiguration is the part of FHIR-BASE/.well-known/smart-configuration
// the wallet reads.
type SMARTConfiguration struct {
	Issuer                        string   `json:"issuer"`
	AuthorizationEndpoint         string   `json:"authorization_endpoint"`
	TokenEndpoint                 string   `json:"token_endpoint"`
	RevocationEndpoint            string   `json:"revocation_endpoint"`
	ManagementEndpoint            string   `json:"management_endpoint"`
	Capabilities                  []string `json:"capabilities"`
	CodeChallengeMethodsSupported []string `json:"code_challenge_methods_supported"`
	ScopesSupported               []string `json:"scopes_supported"`
	GrantTypesSupported           []string `json:"grant_types_supported"`
}

// Client talks to one FHIR server as a SMART on FHIR public client. Every
// request goes through Fetch (the SSRF guard).
type Client struct {
	Fetch *safehttp.Client
	Now   func() time.Time
}

// NewClient builds a Client whose fetches are held to public addresses,
// except the origins of conn (PrivateOrigins) and its extra TLS roots.
func NewClient(conn *Connection) (*Client, error) {
	cfg := safehttp.Config{Timeout: 30 * time.Second, MaxBytes: 8 << 20, PrivateOrigins: conn.PrivateOrigins, UserAgent: "shc-wallet"}
	if conn.CACertPEM != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(conn.CACertPEM)) {
			return nil, fmt.Errorf("wallet: the stored CA certificate is not PEM")
		}
		cfg.RootCAs = pool
	}
	f, err := safehttp.New(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{Fetch: f}, nil
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// httpClient adapts Fetch to an *http.Client for golang.org/x/oauth2, so
// token requests go through the same guard.
func (c *Client) httpClient() *http.Client {
	return &http.Client{Transport: guardedTransport{c.Fetch}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type guardedTransport struct{ f *safehttp.Client }

func (t guardedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	h := r.Header.Clone()
	ct := h.Get("Content-Type")
	h.Del("Content-Type")
	resp, err := t.f.Do(r.Context(), r.Method, r.URL.String(), ct, body, h)
	if err != nil {
		return nil, err
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode)), StatusCode: resp.StatusCode,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(resp.Body)), ContentLength: int64(len(resp.Body)), Request: r,
	}, nil
}

// CheckFHIRBase validates a FHIR base URL: https, a host, no credentials,
// query or fragment; the trailing slash is removed.
func CheckFHIRBase(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", newErr(CodeDiscoveryFailed, fmt.Sprintf("FHIR base %q must be an https URL without credentials, query or fragment", base), nil)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// Origin returns scheme://host[:port] of an absolute URL.
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Discover reads FHIR-BASE/.well-known/smart-configuration and checks that
// it offers what the wallet needs: https authorization and token
// endpoints, PKCE with S256, and the health-cards capability (OP-1).
func (c *Client) Discover(ctx context.Context, fhirBase string) (*SMARTConfiguration, error) {
	base, err := CheckFHIRBase(fhirBase)
	if err != nil {
		return nil, err
	}
	resp, err := c.Fetch.Get(ctx, base+"/.well-known/smart-configuration")
	if err != nil {
		return nil, newErr(CodeFetchFailed, "fetching the SMART configuration", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, newErr(CodeDiscoveryFailed, fmt.Sprintf("%s/.well-known/smart-configuration answered %d", base, resp.StatusCode), nil)
	}
	var sc SMARTConfiguration
	if err := json.Unmarshal(resp.Body, &sc); err != nil {
		return nil, newErr(CodeDiscoveryFailed, "the SMART configuration is not a JSON object", nil)
	}
	switch {
	case !isHTTPS(sc.AuthorizationEndpoint) || !isHTTPS(sc.TokenEndpoint):
		return nil, newErr(CodeDiscoveryFailed, "the SMART configuration names no https authorization_endpoint and token_endpoint: the server offers no authorization for wallets", nil)
	case sc.RevocationEndpoint != "" && !isHTTPS(sc.RevocationEndpoint):
		return nil, newErr(CodeDiscoveryFailed, "the SMART configuration's revocation_endpoint is not https", nil)
	case !slices.Contains(sc.CodeChallengeMethodsSupported, "S256"):
		return nil, newErr(CodeDiscoveryFailed, "the server does not list PKCE S256 in code_challenge_methods_supported; the wallet uses nothing weaker", nil)
	case !slices.Contains(sc.Capabilities, "health-cards"):
		return nil, newErr(CodeDiscoveryFailed, "the server does not advertise the health-cards capability (OP-1)", nil)
	}
	return &sc, nil
}

func isHTTPS(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil
}

// ConnectOptions configure Connect.
type ConnectOptions struct {
	FHIRBase string
	ClientID string
	// Scopes; nil means DefaultScopes.
	Scopes []string
	// ShowURL is given the authorization URL once the loopback listener is
	// ready: print it, or open a browser at it. Required.
	ShowURL func(authURL string) error
	// Timeout bounds the wait for the redirect; 0 means
	// DefaultConnectTimeout.
	Timeout time.Duration
	// TrustedIssuers are the card issuers trusted on import; nil means the
	// FHIR base and its path prefixes on the same origin (TrustedIssuersFor).
	TrustedIssuers []string
	// PrivateOrigins and CACertPEM are stored with the connection (see
	// Connection); the Client must already be built with them.
	PrivateOrigins []string
	CACertPEM      string
}

// TrustedIssuersFor returns the FHIR base and each of its path prefixes on
// the same origin (https://lab.example/fhir → https://lab.example,
// https://lab.example/fhir): the iss values a card from this server may
// carry and still come from the TLS origin the person authorized.
func TrustedIssuersFor(fhirBase string) []string {
	u, err := url.Parse(fhirBase)
	if err != nil {
		return nil
	}
	out := []string{u.Scheme + "://" + u.Host}
	p := ""
	for _, seg := range strings.Split(strings.Trim(u.Path, "/"), "/") {
		if seg == "" {
			continue
		}
		p += "/" + seg
		out = append(out, u.Scheme+"://"+u.Host+p)
	}
	return out
}

func (c *Client) oauthConfig(conn *Connection, redirect string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:    conn.ClientID,
		Endpoint:    oauth2.Endpoint{AuthURL: conn.AuthorizationEndpoint, TokenURL: conn.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: redirect,
		Scopes:      strings.Fields(conn.Scope),
	}
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Connect runs a SMART App Launch standalone patient launch as a public
// client: discovery, a loopback listener on 127.0.0.1 with a random port
// (RFC 8252), the authorization code flow with PKCE S256 and a random
// state, aud = the FHIR base. It accepts exactly one redirect, within the
// timeout, then closes the listener; a wrong state or an error answer fails
// the whole connect. The token response must carry a patient.
func (c *Client) Connect(ctx context.Context, opts ConnectOptions) (*Connection, *Grant, error) {
	base, err := CheckFHIRBase(opts.FHIRBase)
	if err != nil {
		return nil, nil, err
	}
	if opts.ClientID == "" || opts.ShowURL == nil {
		return nil, nil, fmt.Errorf("wallet: Connect needs a client id and ShowURL")
	}
	sc, err := c.Discover(ctx, base)
	if err != nil {
		return nil, nil, err
	}
	scopes := opts.Scopes
	if scopes == nil {
		scopes = DefaultScopes
	}
	conn := &Connection{
		FHIRBase: base, AuthorizationEndpoint: sc.AuthorizationEndpoint, TokenEndpoint: sc.TokenEndpoint,
		RevocationEndpoint: sc.RevocationEndpoint, ClientID: opts.ClientID, Scope: strings.Join(scopes, " "),
		TrustedIssuers: opts.TrustedIssuers, PrivateOrigins: opts.PrivateOrigins, CACertPEM: opts.CACertPEM,
		ConnectedAt: c.now().UTC(),
	}
	if isHTTPS(sc.ManagementEndpoint) {
		conn.ManagementEndpoint = sc.ManagementEndpoint // where the person sees and withdraws this access
	}
	if conn.TrustedIssuers == nil {
		conn.TrustedIssuers = TrustedIssuersFor(base)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("wallet: opening the loopback redirect listener: %w", err)
	}
	redirect := fmt.Sprintf("http://%s%s", ln.Addr().String(), CallbackPath)
	state := randomString(32)
	verifier := oauth2.GenerateVerifier()
	cfg := c.oauthConfig(conn, redirect)
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("aud", base))

	got := make(chan callback, 1)
	srv := &http.Server{Handler: callbackHandler(state, got), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	if err := opts.ShowURL(authURL); err != nil {
		return nil, nil, err
	}
	var cb callback
	select {
	case cb = <-got:
	case <-ctx.Done():
		return nil, nil, newErr(CodeAuthorizationFailed, fmt.Sprintf("no redirect came back within %v; run connect again", timeout), nil)
	}
	// One request only: stop listening, and let the answer to it finish
	// (closing at once could cut it off, and a browser then retries the
	// redirect against a closed port).
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = srv.Shutdown(sctx)
	scancel()
	if cb.err != nil {
		return nil, nil, cb.err
	}
	tctx := context.WithValue(ctx, oauth2.HTTPClient, c.httpClient())
	tok, err := cfg.Exchange(tctx, cb.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, nil, tokenError(CodeAuthorizationFailed, "exchanging the authorization code", err)
	}
	g, err := grantFrom(tok, nil)
	if err != nil {
		return nil, nil, err
	}
	if g.Patient == "" {
		return nil, nil, newErr(CodeAuthorizationFailed, "the token response names no patient (SMART launch/patient context)", nil)
	}
	return conn, g, nil
}

type callback struct {
	code string
	err  error
}

// callbackHandler answers the loopback redirect: the first request to
// CallbackPath decides (state compared in constant time), anything else is
// 404. The page says what happened in plain words and carries no data.
func callbackHandler(state string, out chan<- callback) http.Handler {
	var done atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc(CallbackPath, func(w http.ResponseWriter, r *http.Request) {
		if !done.CompareAndSwap(false, true) {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		var cb callback
		switch {
		case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1:
			cb.err = newErr(CodeAuthorizationFailed, "the redirect's state does not match this connect (a forged or stale redirect); nothing was kept", nil)
		case q.Get("error") != "":
			cb.err = newErr(CodeAuthorizationFailed, "the authorization server answered "+safeCode(q.Get("error")), nil)
		case q.Get("code") == "":
			cb.err = newErr(CodeAuthorizationFailed, "the redirect carries no authorization code", nil)
		default:
			cb.code = q.Get("code")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		msg := "The wallet is connected. You can close this tab and go back to the terminal."
		if cb.err != nil {
			w.WriteHeader(http.StatusBadRequest)
			msg = "The wallet was not connected: " + cb.err.Error()
		}
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'")
		fmt.Fprintf(w, `<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content="width=device-width, initial-scale=1"><title>shc wallet</title>`+
			`<style>body{font:1.1rem/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#111}</style>`+
			`<main><h1>shc wallet</h1><p id=result>%s</p></main></html>`, html.EscapeString(msg))
		if f, ok := w.(http.Flusher); ok {
			f.Flush() // the page reaches the browser before the listener closes
		}
		out <- cb
	})
	return mux
}

// safeCode keeps an OAuth error code printable and short (it came from the
// network).
func safeCode(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 64 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "an error"
	}
	return b.String()
}

// tokenError turns an oauth2 failure into a coded error that names the
// OAuth error code only (never the body, which may echo a token).
func tokenError(code Code, what string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		oc := re.ErrorCode
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if oc == "" {
			return newErr(code, fmt.Sprintf("%s: the token endpoint answered %d", what, status), nil)
		}
		return newErr(code, fmt.Sprintf("%s: the token endpoint answered %s", what, safeCode(oc)), nil)
	}
	return newErr(CodeFetchFailed, what, err)
}

// grantFrom reads the token response. prev supplies what a refresh
// response may leave out (patient, authorization_details, the refresh
// token when the server does not rotate).
func grantFrom(tok *oauth2.Token, prev *Grant) (*Grant, error) {
	if tok.AccessToken == "" {
		return nil, newErr(CodeAuthorizationFailed, "the token response has no access_token", nil)
	}
	g := &Grant{AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry}
	if s, ok := tok.Extra("scope").(string); ok {
		g.Scope = s
	}
	if s, ok := tok.Extra("patient").(string); ok {
		g.Patient = s
	}
	if s, ok := tok.Extra("fhirUser").(string); ok {
		g.FHIRUser = s
	}
	if ad := tok.Extra("authorization_details"); ad != nil {
		b, err := json.Marshal(ad)
		if err == nil {
			g.AuthorizationDetails = b
		}
	}
	if prev != nil {
		if g.Patient == "" {
			g.Patient = prev.Patient
		} else if g.Patient != prev.Patient {
			return nil, newErr(CodeAuthorizationFailed, "the refreshed token names another patient than the connection", nil)
		}
		if g.RefreshToken == "" {
			g.RefreshToken = prev.RefreshToken
		}
		if g.AuthorizationDetails == nil {
			g.AuthorizationDetails = prev.AuthorizationDetails
		}
		if g.Scope == "" {
			g.Scope = prev.Scope
		}
		if g.FHIRUser == "" {
			g.FHIRUser = prev.FHIRUser
		}
	}
	if g.Patient != "" && !validFHIRID(g.Patient) {
		return nil, newErr(CodeAuthorizationFailed, "the token response's patient is not a FHIR id", nil)
	}
	return g, nil
}

// validFHIRID: [A-Za-z0-9\-\.]{1,64}.
func validFHIRID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// freshGrant returns a grant whose access token may be used. With a refresh
// token it always refreshes first (each import is a new session; rotating
// servers hand out a new refresh token) and stores the new grant before the
// access token is used, under the wallet lock, so a crash or a second
// import never uses a refresh token the server has already replaced.
// Without one the stored access token is used until it expires.
func (c *Client) freshGrant(ctx context.Context, w *Wallet, conn *Connection) (*Grant, error) {
	unlock, err := w.lock()
	if err != nil {
		return nil, fmt.Errorf("wallet: lock: %w", err)
	}
	defer unlock()
	g, err := w.Grant()
	if err != nil {
		return nil, err
	}
	if g.RefreshToken == "" {
		if !g.Expiry.IsZero() && !c.now().Before(g.Expiry) {
			return nil, newErr(CodeAuthorizationExpired, "the access token expired and there is no refresh token (connect with offline_access): connect again", nil)
		}
		return g, nil
	}
	cfg := c.oauthConfig(conn, "")
	tctx := context.WithValue(ctx, oauth2.HTTPClient, c.httpClient())
	old := &oauth2.Token{RefreshToken: g.RefreshToken, Expiry: time.Unix(1, 0)} // expired: forces the refresh
	tok, err := cfg.TokenSource(tctx, old).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && (re.ErrorCode == "invalid_grant" || re.ErrorCode == "unauthorized_client" || re.ErrorCode == "invalid_client") {
			return nil, newErr(CodeAuthorizationExpired, "the server no longer accepts this wallet's authorization ("+safeCode(re.ErrorCode)+": consent withdrawn or revoked): connect again", nil)
		}
		return nil, tokenError(CodeAuthorizationExpired, "refreshing the access token", err)
	}
	ng, err := grantFrom(tok, g)
	if err != nil {
		return nil, err
	}
	if err := w.SaveGrant(ng); err != nil {
		return nil, fmt.Errorf("wallet: storing the refreshed grant (the old refresh token may be spent: connect again if the next import fails): %w", err)
	}
	return ng, nil
}
