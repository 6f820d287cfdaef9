package oauth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/labstack/echo/v5"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/healthcards/healthcards/issuer/authz"
)

// Paths served (relative to Config.BaseURL).
const (
	AuthorizePath     = "/oauth/authorize"
	TokenPath         = "/oauth/token"
	RevokePath        = "/oauth/revoke"
	IntrospectPath    = "/oauth/introspect"
	UserinfoPath      = "/oauth/userinfo"
	JWKSPath          = "/oauth/jwks"
	ConsentPath       = "/oauth/consent"
	AppsPath          = "/account/apps"
	DiscoveryPath     = "/.well-known/openid-configuration"
	maxFormBytes      = 64 << 10
	grantClaim        = "grant_id"
	refreshPrefix     = "shcrt_"
	refreshIDPrefix   = "rt_"
	accessIDPrefix    = "at_"
	authRequestPrefix = "ar_"
)

// PagePaths are the HTML pages Mount adds beside the OAuth endpoints
// (documented in docs/oauth.md, not in the API's OpenAPI document).
var PagePaths = []string{ConsentPath, AppsPath}

// Config configures a Server.
type Config struct {
	// Store holds the server's state (Open).
	Store *Store
	// BaseURL is the service's public https base without trailing slash:
	// the OpenID issuer; BaseURL + "/fhir" is the FHIR base, the only
	// accepted "aud" and the audience of every access token.
	BaseURL string
	// Key signs tokens (ES256); replicas share it (KeyFromJWK).
	Key *ecdsa.PrivateKey
	// People finds the signed-in patient and the persons they act for.
	People People
	// SignInPath is where a person without a session is sent, with
	// ?next=<relative path> (default "/account/signin").
	SignInPath string
	// Name is the lab's name on the pages ("" means the BaseURL host).
	Name string
	// Logger receives errors (never tokens, codes or patient ids); nil
	// discards.
	Logger *slog.Logger
	// RequestsPerMinute bounds the authorization and token requests of one
	// client address (an IPv4 address, an IPv6 /64) per minute, each
	// endpoint counted apart in the database (so the limit holds across
	// replicas); past it the answer is 429. 0 means 120.
	RequestsPerMinute int
	// MaxOpenRequests bounds the authorization requests awaiting an
	// answer (each lives RequestTTL): /oauth/authorize is public, so its
	// rows must not grow with an attacker's request rate. Past it new
	// requests get temporarily_unavailable until old ones expire; 0 means
	// 10,000.
	MaxOpenRequests int
	// ClientIP is a request's client address for RequestsPerMinute:
	// behind reverse proxies, the rightmost untrusted X-Forwarded-For hop
	// (shc-issuer serve --trusted-proxy, as identity.Config.ClientIP). Nil
	// means the connection's peer.
	ClientIP func(*http.Request) string
}

// MaxStateBytes bounds the state and nonce an app may send: they are
// stored with the request and echoed back (longer: invalid_request).
const MaxStateBytes = 512

// Server is the authorization server: SMART App Launch standalone patient
// launch on zitadel/oidc's op, with consent and connected-apps pages.
type Server struct {
	cfg      Config
	st       *Store
	fhir     string
	key      signingKey
	provider *op.Provider
	log      *slog.Logger
}

// New checks cfg and builds the server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Key == nil || cfg.People == nil {
		return nil, errors.New("oauth: Config.Store, Config.Key and Config.People are required")
	}
	if !strings.HasPrefix(cfg.BaseURL, "https://") || strings.HasSuffix(cfg.BaseURL, "/") {
		return nil, errors.New("oauth: Config.BaseURL must be an https URL without trailing slash")
	}
	if cfg.SignInPath == "" {
		cfg.SignInPath = "/account/signin"
	}
	if cfg.Name == "" {
		cfg.Name = strings.TrimPrefix(cfg.BaseURL, "https://")
	}
	if cfg.RequestsPerMinute <= 0 {
		cfg.RequestsPerMinute = 120
	}
	if cfg.MaxOpenRequests <= 0 {
		cfg.MaxOpenRequests = 10000
	}
	s := &Server{cfg: cfg, st: cfg.Store, fhir: cfg.BaseURL + "/fhir", log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	k, err := newSigningKey(cfg.Key)
	if err != nil {
		return nil, err
	}
	s.key = k
	opCfg := &op.Config{
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
		SupportedScopes:       SupportedScopes,
		SupportedClaims:       []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "at_hash", "c_hash", "azp", "fhirUser"},
	}
	s.provider, err = op.NewProvider(opCfg, &storage{s: s}, op.StaticIssuer(cfg.BaseURL),
		op.WithCustomAuthEndpoint(op.NewEndpoint(AuthorizePath)),
		op.WithCustomTokenEndpoint(op.NewEndpoint(TokenPath)),
		op.WithCustomRevocationEndpoint(op.NewEndpoint(RevokePath)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(IntrospectPath)),
		op.WithCustomUserinfoEndpoint(op.NewEndpoint(UserinfoPath)),
		op.WithCustomKeysEndpoint(op.NewEndpoint(JWKSPath)),
		op.WithCrypto(randomCodes{}),
	)
	if err != nil {
		return nil, fmt.Errorf("oauth: %w", err)
	}
	return s, nil
}

// FHIRBase is the audience of the server's access tokens.
func (s *Server) FHIRBase() string { return s.fhir }

// Issuer is the server's OpenID issuer (Config.BaseURL).
func (s *Server) Issuer() string { return s.cfg.BaseURL }

// SupportedScopes are the scopes the server grants: SMART App Launch
// standalone patient launch, read access to the card-bearing resources.
var SupportedScopes = []string{
	"openid", "fhirUser", "launch/patient", "offline_access",
	"patient/*.rs", "patient/*.read", "patient/Immunization.rs", "patient/Immunization.read",
	"patient/Observation.rs", "patient/Observation.read", "patient/DiagnosticReport.rs", "patient/DiagnosticReport.read",
}

// scopeSupported reports whether a requested scope can be granted: the
// fixed ones, and SMART patient-level read scopes issuer/authz can parse
// (v1, or v2 with category/code restrictions). Others are dropped from
// the request (RFC 6749, section 3.3: the server may grant fewer).
func scopeSupported(scope string) bool {
	switch scope {
	case "openid", "fhirUser", "launch/patient", "offline_access":
		return true
	}
	sc, err := authz.ParseScope(scope)
	return err == nil && sc.Level == "patient"
}

// Metadata is what the FHIR server's smart-configuration lists for this
// server (SMART App Launch 2): only endpoints it serves and capabilities
// it has.
type Metadata struct {
	Issuer, AuthorizationEndpoint, TokenEndpoint, RevocationEndpoint, IntrospectionEndpoint, JWKSURI, UserinfoEndpoint string
	// ManagementEndpoint is where the person reviews and withdraws what
	// apps may do (the connected-apps page; SMART App Launch 2
	// management_endpoint).
	ManagementEndpoint                                                                              string
	GrantTypes, Scopes, Capabilities, CodeChallengeMethods, TokenEndpointAuthMethods, ResponseTypes []string
}

// Metadata describes the server for /fhir/.well-known/smart-configuration.
func (s *Server) Metadata() Metadata {
	b := s.cfg.BaseURL
	return Metadata{
		Issuer: b, AuthorizationEndpoint: b + AuthorizePath, TokenEndpoint: b + TokenPath, RevocationEndpoint: b + RevokePath,
		IntrospectionEndpoint: b + IntrospectPath, JWKSURI: b + JWKSPath, UserinfoEndpoint: b + UserinfoPath, ManagementEndpoint: b + AppsPath,
		GrantTypes:               []string{"authorization_code", "refresh_token"},
		ResponseTypes:            []string{"code"},
		Scopes:                   slices.Clone(SupportedScopes),
		CodeChallengeMethods:     []string{"S256"},
		TokenEndpointAuthMethods: []string{"none", "client_secret_basic", "client_secret_post"},
		Capabilities: []string{"launch-standalone", "context-standalone-patient", "client-public", "client-confidential-symmetric",
			"sso-openid-connect", "permission-patient", "permission-offline", "permission-v1", "permission-v2", "authorize-post"},
	}
}

// Mount registers the server's endpoints and pages on e.
func (s *Server) Mount(e *echo.Echo) {
	lib := echo.WrapHandler(s.provider)
	e.GET(DiscoveryPath, s.discovery)
	e.GET(AuthorizePath, s.authorize)
	e.POST(AuthorizePath, s.authorize)
	e.POST(TokenPath, s.token)
	e.POST(RevokePath, s.limited(lib))
	e.POST(IntrospectPath, s.limited(lib))
	e.GET(UserinfoPath, lib)
	e.POST(UserinfoPath, s.limited(lib))
	e.GET(JWKSPath, lib)
	e.GET(ConsentPath, s.consentPage)
	e.POST(ConsentPath, s.consentSubmit)
	e.GET(AppsPath, s.appsPage)
	e.POST(AppsPath, s.appsWithdraw)
}

// limited caps the form body of a library endpoint and marks the answer
// uncacheable.
func (s *Server) limited(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		r.Body = http.MaxBytesReader(c.Response(), r.Body, maxFormBytes)
		c.Response().Header().Set("Cache-Control", "no-store")
		return h(c)
	}
}

// discovery serves the OpenID Provider metadata as the library builds it,
// limited to what is served: no implicit flow, no id_token response
// types, no JWT-bearer grant, no session endpoints.
func (s *Server) discovery(c *echo.Context) error {
	ctx := op.ContextWithIssuer(c.Request().Context(), s.cfg.BaseURL)
	d := op.CreateDiscoveryConfig(ctx, s.provider, s.provider.Storage())
	m := s.Metadata()
	d.ResponseTypesSupported = m.ResponseTypes
	d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	d.EndSessionEndpoint, d.CheckSessionIframe, d.DeviceAuthorizationEndpoint = "", "", ""
	d.RequestObjectSigningAlgValuesSupported = nil
	d.TokenEndpointAuthSigningAlgValuesSupported = nil
	d.IntrospectionEndpointAuthSigningAlgValuesSupported = nil
	d.RevocationEndpointAuthSigningAlgValuesSupported = nil
	d.IntrospectionEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic}
	d.RevocationEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodNone, oidc.AuthMethodBasic, oidc.AuthMethodPost}
	d.TokenEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodNone, oidc.AuthMethodBasic, oidc.AuthMethodPost}
	d.SubjectTypesSupported = []string{"public"}
	c.Response().Header().Set("Access-Control-Allow-Origin", "*")
	return c.JSON(http.StatusOK, d)
}

// authorize checks what the library does not before handing the request
// to it: the client and its exact redirect URI first (an unregistered URI
// is never redirected to), then PKCE with S256 only and the SMART aud.
func (s *Server) authorize(c *echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxFormBytes)
	c.Response().Header().Set("Cache-Control", "no-store")
	if ok, err := s.st.allow(r.Context(), "authorize", s.clientAddress(r), s.cfg.RequestsPerMinute); err != nil {
		return s.internal(c, err)
	} else if !ok {
		c.Response().Header().Set("Retry-After", "60")
		return s.errorPage(c, http.StatusTooManyRequests, "Too many sign-in requests from your network. Wait a minute and try again.")
	}
	if err := r.ParseForm(); err != nil {
		return s.errorPage(c, http.StatusBadRequest, "The request could not be read.")
	}
	for _, k := range []string{"client_id", "redirect_uri", "state", "nonce", "code_challenge", "code_challenge_method", "aud", "scope", "response_type"} {
		if len(r.Form[k]) > 1 {
			return s.errorPage(c, http.StatusBadRequest, "A parameter was given twice (RFC 6749, section 3.1).")
		}
	}
	cl, err := s.st.Client(r.Context(), r.Form.Get("client_id"))
	if err != nil {
		if CodeOf(err) == CodeNotFound {
			return s.errorPage(c, http.StatusBadRequest, "This app is not registered with this lab.")
		}
		return s.internal(c, err)
	}
	redirect := r.Form.Get("redirect_uri")
	if !cl.redirectAllowed(redirect) {
		return s.errorPage(c, http.StatusBadRequest, "The app sent a return address that is not registered for it; nothing was sent back.")
	}
	authReq := &oidc.AuthRequest{RedirectURI: redirect, State: r.Form.Get("state"), ResponseType: oidc.ResponseType(r.Form.Get("response_type"))}
	fail := func(e *oidc.Error) error {
		op.AuthRequestError(c.Response(), r, authReq, e, s.provider)
		return nil
	}
	if len(r.Form.Get("state")) > MaxStateBytes || len(r.Form.Get("nonce")) > MaxStateBytes {
		authReq.State = "" // not echoed back
		return fail(oidc.ErrInvalidRequest().WithDescription("state and nonce may have at most %d bytes", MaxStateBytes))
	}
	if r.Form.Get("response_type") != "code" {
		authReq.ResponseType = oidc.ResponseTypeCode
		return fail(&oidc.Error{ErrorType: "unsupported_response_type", Description: "only response_type=code is supported"})
	}
	if r.Form.Get("code_challenge") == "" {
		return fail(oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256"))
	}
	if r.Form.Get("code_challenge_method") != "S256" {
		return fail(oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256 (plain is not accepted)"))
	}
	if ch := r.Form.Get("code_challenge"); len(ch) != 43 || strings.Trim(ch, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return fail(oidc.ErrInvalidRequest().WithDescription("code_challenge must be the base64url SHA-256 of the verifier (43 characters)"))
	}
	if aud := r.Form.Get("aud"); strings.TrimRight(aud, "/") != s.fhir {
		return fail(oidc.ErrInvalidRequest().WithDescription("aud must be this server's FHIR base URL (SMART App Launch)"))
	}
	var details []authz.Detail
	if raw := r.Form.Get("authorization_details"); raw != "" {
		if details, err = authz.ParseAuthorizationDetails([]byte(raw)); err != nil {
			return fail(oidc.ErrInvalidRequest().WithDescription("authorization_details is malformed (RFC 9396, type " + authz.DetailType + ")"))
		}
	}
	if slices.Contains(strings.Fields(r.Form.Get("prompt")), "none") {
		// The person always confirms with their passkey and sees the
		// consent (the session cookie is SameSite=Strict: an app's
		// cross-site redirect never carries it), so no answer without
		// interaction (OpenID Connect Core 3.1.2.6).
		return fail(oidc.ErrLoginRequired().WithDescription("this server always asks the person"))
	}
	if r.Form.Get("request") != "" || r.Form.Get("request_uri") != "" {
		return fail(oidc.ErrRequestNotSupported())
	}
	ctx := context.WithValue(r.Context(), askKey{}, details)
	op.Authorize(c.Response(), r.WithContext(op.ContextWithIssuer(ctx, s.cfg.BaseURL)), &authorizer{Provider: s.provider, s: s})
	return nil
}

type askKey struct{}

// authorizer adds to the library's checks of an authorization request.
type authorizer struct {
	*op.Provider
	s *Server
}

// ValidateAuthRequest runs the library's checks and then requires PKCE
// with S256 again (so no path reaches the store without it).
func (a *authorizer) ValidateAuthRequest(ctx context.Context, req *oidc.AuthRequest, st op.Storage, v *op.IDTokenHintVerifier) (string, error) {
	cl, err := st.GetClientByClientID(ctx, req.ClientID)
	if err != nil {
		return "", oidc.ErrInvalidRequestRedirectURI().WithDescription("unknown client")
	}
	if oc, ok := cl.(*opClient); !ok || !oc.c.redirectAllowed(req.RedirectURI) {
		return "", oidc.ErrInvalidRequestRedirectURI().WithDescription("redirect_uri is not registered")
	}
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return "", oidc.ErrInvalidRequest().WithDescription("PKCE with S256 is required")
	}
	if req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery {
		return "", oidc.ErrInvalidRequest().WithDescription("response_mode must be query")
	}
	if _, err := op.ValidateAuthRequestClient(ctx, req, cl, v); err != nil {
		return "", err
	}
	if req.IDTokenHint != "" {
		return "", oidc.ErrInvalidRequest().WithDescription("id_token_hint is not supported")
	}
	return "", nil
}

// token wraps the library's token endpoint: only the authorization_code
// and refresh_token grants, and the SMART response members patient and
// authorization_details added from the access token just issued.
func (s *Server) token(c *echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxFormBytes)
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if ok, err := s.st.allow(r.Context(), "token", s.clientAddress(r), s.cfg.RequestsPerMinute); err != nil {
		s.log.Error("oauth: rate limit", "err", err.Error())
		return oauthError(c, http.StatusInternalServerError, oidc.ErrServerError())
	} else if !ok {
		h.Set("Retry-After", "60")
		return oauthError(c, http.StatusTooManyRequests, &oidc.Error{ErrorType: "temporarily_unavailable",
			Description: "too many token requests from this address; retry after a minute"})
	}
	if err := r.ParseForm(); err != nil {
		return oauthError(c, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("the form could not be read"))
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return oauthError(c, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("parameter %s was given twice", trunc(k)))
		}
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code", "refresh_token":
	case "":
		return oauthError(c, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("grant_type missing"))
	default:
		return oauthError(c, http.StatusBadRequest, oidc.ErrUnsupportedGrantType().WithDescription("grant types: authorization_code, refresh_token"))
	}
	if r.PostForm.Get("client_assertion") != "" || r.PostForm.Get("client_assertion_type") != "" {
		return oauthError(c, http.StatusUnauthorized, oidc.ErrInvalidClient().WithDescription("private_key_jwt is not supported"))
	}
	rec := &recorder{h: http.Header{}, code: http.StatusOK}
	s.provider.ServeHTTP(rec, r.WithContext(op.ContextWithIssuer(r.Context(), s.cfg.BaseURL)))
	body := rec.body.Bytes()
	if rec.code == http.StatusOK {
		body = s.smartTokenResponse(body)
	}
	for _, k := range []string{"WWW-Authenticate", "Access-Control-Allow-Origin", "Vary"} {
		if v := rec.h.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	return c.Blob(rec.code, "application/json", body)
}

// recorder keeps the library's token response (at most a few kilobytes)
// so that the SMART members can be added.
type recorder struct {
	h    http.Header
	body bytes.Buffer
	code int
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(code int)        { r.code = code }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

// smartTokenResponse adds patient and authorization_details (SMART App
// Launch 2, RFC 9396 section 7) from the access token's claims.
func (s *Server) smartTokenResponse(body []byte) []byte {
	var resp map[string]json.RawMessage
	if json.Unmarshal(body, &resp) != nil {
		return body
	}
	var at string
	if json.Unmarshal(resp["access_token"], &at) != nil || at == "" {
		return body
	}
	jws, err := jose.ParseSigned(at, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return body
	}
	payload, err := jws.Verify(&s.key.priv.PublicKey)
	if err != nil {
		return body
	}
	var cl struct {
		Patient string          `json:"patient"`
		Details json.RawMessage `json:"authorization_details"`
	}
	if json.Unmarshal(payload, &cl) != nil {
		return body
	}
	if cl.Patient != "" {
		resp["patient"], _ = json.Marshal(cl.Patient)
	}
	if len(cl.Details) > 0 {
		resp["authorization_details"] = cl.Details
	}
	if raw, ok := resp["id_token"]; ok {
		if idt, err := s.clientIDToken(raw); err == nil {
			resp["id_token"] = idt
		} else {
			s.log.Error("oauth: ID token not issued", "err", err.Error())
			delete(resp, "id_token") // never one whose aud names the FHIR server
		}
	}
	out, err := json.Marshal(resp)
	if err != nil {
		return body
	}
	return out
}

// clientIDToken re-signs the library's ID token with aud = the client
// only. The library builds ID and access tokens from one audience (the
// FHIR base and the client); an ID token is for the app, never for the
// FHIR server (issuer/auth refuses it as a bearer token in any case).
func (s *Server) clientIDToken(raw json.RawMessage) (json.RawMessage, error) {
	var tok string
	if err := json.Unmarshal(raw, &tok); err != nil {
		return nil, err
	}
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, err
	}
	payload, err := jws.Verify(&s.key.priv.PublicKey)
	if err != nil {
		return nil, err
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, err
	}
	var client string
	if err := json.Unmarshal(claims["azp"], &client); err != nil || client == "" {
		return nil, errors.New("oauth: ID token without azp")
	}
	claims["aud"], _ = json.Marshal(client)
	payload, err = json.Marshal(claims)
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: s.key.priv, KeyID: s.key.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	signed, err := signer.Sign(payload)
	if err != nil {
		return nil, err
	}
	out, err := signed.CompactSerialize()
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

func oauthError(c *echo.Context, status int, e *oidc.Error) error {
	b, _ := json.Marshal(map[string]string{"error": string(e.ErrorType), "error_description": e.Description})
	return c.Blob(status, "application/json", b)
}

// randomCodes is the library's Crypto: authorization codes are 256 random
// bits (stored hashed), not an encryption of the request id, so replicas
// need no shared code key. Nothing is ever decrypted (access tokens are
// JWTs).
type randomCodes struct{}

func (randomCodes) Encrypt(string) (string, error) { return b64(random(32)), nil }
func (randomCodes) Decrypt(string) (string, error) {
	return "", errors.New("oauth: opaque tokens are not used")
}

func (s *Server) internal(c *echo.Context, err error) error {
	s.log.Error("oauth: internal error", "err", err.Error())
	return s.errorPage(c, http.StatusInternalServerError, "Something went wrong on our side. Please try again later.")
}

// clientAddress is the rate-limit key of a request: Config.ClientIP (the
// address the sign-up code limit uses, identity.Service.ClientKey), an
// IPv6 address cut to its /64 (one host usually holds a whole /64).
func (s *Server) clientAddress(r *http.Request) string {
	var key string
	if s.cfg.ClientIP != nil {
		key = s.cfg.ClientIP(r)
	} else if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		key = host
	} else {
		key = r.RemoteAddr
	}
	ip := net.ParseIP(key)
	if ip == nil || ip.To4() != nil {
		return key
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
