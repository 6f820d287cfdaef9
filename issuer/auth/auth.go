package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/safehttp"
)

// Lab-system scopes.
const (
	ScopeResultsWrite = "results:write"
	ScopeCardsIssue   = "cards:issue"
	ScopeCardsRevoke  = "cards:revoke"
	// ScopeEnrolments: create, read and revoke patient enrolments
	// (/v1/enrolments, issue 13).
	ScopeEnrolments = "enrolments:write"
)

// AllLabScopes lists every lab scope.
var AllLabScopes = []string{ScopeResultsWrite, ScopeCardsIssue, ScopeCardsRevoke, ScopeEnrolments}

// TokenPrefix starts every API token, so leaked tokens are easy to find.
const TokenPrefix = "shcit_"

// Errors. ErrUnauthenticated means 401; ErrForbidden means 403.
var (
	ErrUnauthenticated = errors.New("auth: missing or invalid access token")
	ErrForbidden       = errors.New("auth: the access token does not allow this")
)

// Principal is an authenticated caller.
type Principal struct {
	Kind    string   // "token" (API token) or "jwt"
	ID      string   // token id, or JWT sub
	Scopes  []string // granted scopes
	Patient string   // SMART "patient" claim (JWT only)
	// FHIRUser is the SMART "fhirUser" claim (JWT only): the user's FHIR
	// resource, e.g. "Practitioner/123" or an absolute URL ending so.
	FHIRUser string
	// AuthorizationDetails is the RFC 9396 "authorization_details" claim as
	// sent (JWT only); package issuer/authz parses it.
	AuthorizationDetails json.RawMessage

	// labClient: a JWT of a registered system client (JWTConfig.SystemClients),
	// whose lab scopes are honoured.
	labClient bool
	// actorKey keys the audit actor of JWT principals (Config.AuditKey).
	actorKey []byte
}

// Actor is the audit-log actor: "token:<id>" for API tokens, and for JWTs
// "patient:<ref>" or "jwt:<ref>", where ref is a keyed hash (HMAC-SHA-256
// with Config.AuditKey, 64 bits, base64url) of the patient claim or the
// subject: audit logs never carry raw patient ids.
func (p *Principal) Actor() string {
	switch {
	case p.Kind == "token":
		return "token:" + p.ID
	case p.Patient != "":
		return "patient:" + actorRef(p.actorKey, "patient", p.Patient)
	default:
		return "jwt:" + actorRef(p.actorKey, "sub", p.ID)
	}
}

func actorRef(key []byte, kind, id string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:8])
}

// Has reports whether scope was granted. Lab scopes (AllLabScopes) count
// only for API tokens and registered system clients: a SMART access token
// whose scope string also names cards:issue never has it.
func (p *Principal) Has(scope string) bool {
	if slices.Contains(AllLabScopes, scope) && p.Kind != "token" && !p.labClient {
		return false
	}
	return slices.Contains(p.Scopes, scope)
}

// NewToken makes an API token with the given lab scopes. The secret is
// returned once; store tok (which holds only the hash) with store.PutToken.
func NewToken(scopes []string, label string, now time.Time) (secret string, tok store.Token, err error) {
	for _, s := range scopes {
		if !slices.Contains(AllLabScopes, s) {
			return "", store.Token{}, fmt.Errorf("auth: unknown scope %q (want %s)", s, strings.Join(AllLabScopes, ", "))
		}
	}
	if len(scopes) == 0 {
		return "", store.Token{}, errors.New("auth: a token needs at least one scope")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", store.Token{}, err
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return "", store.Token{}, err
	}
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(secret))
	return secret, store.Token{ID: base64.RawURLEncoding.EncodeToString(id), Hash: h[:], Scopes: slices.Clone(scopes), Label: label, CreatedAt: now.UTC()}, nil
}

// Config configures an Authenticator.
type Config struct {
	// Store holds API tokens; nil disables API tokens.
	Store store.TokenStore
	// JWT, if set, accepts JWT access tokens from an authorization server.
	JWT *JWTConfig
	// Local, if set, accepts the access tokens of the issuer's own
	// authorization server (issuer/oauth), verified in process with its
	// public key (no fetch of its JWKS) and refused once their grant is
	// withdrawn. It works beside JWT (an external server).
	Local *LocalJWT
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AuditKey keys the hashes that stand for patient ids and JWT subjects
	// in audit actors (Principal.Actor). Nil means a random key per
	// Authenticator: actors are then comparable only within one process
	// run; give a stable secret to compare them across restarts.
	AuditKey []byte
}

// JWTConfig describes the authorization server. Issuer and Audience are
// required and always checked.
type JWTConfig struct {
	Issuer   string // expected "iss"
	Audience string // expected "aud" (usually the service's FHIR base URL)
	// JWKSURL is where the server's keys are; "" means Issuer + "/.well-known/jwks.json".
	JWKSURL string
	// Fetch is the HTTP client for the JWKS; nil means safehttp defaults
	// (https, public addresses only).
	Fetch *safehttp.Client
	// Leeway for exp/nbf/iat; 0 means 60 s.
	Leeway time.Duration
	// SystemClients registers the lab systems that authenticate with JWTs
	// from this server: subject (client id) → the lab scopes it may use.
	// A JWT's lab scopes are honoured only when its subject is listed, only
	// those listed, and only when it has no "patient" claim. Nil means lab
	// scopes come from API tokens only.
	SystemClients map[string][]string
}

// LocalJWT describes the issuer's own authorization server. Every field
// is required.
type LocalJWT struct {
	Issuer   string          // its "iss"
	Audience string          // the FHIR base URL its tokens are for
	Key      jose.JSONWebKey // its public ES256 key, with the KeyID its tokens name
	// Grants says whether a token is still usable: issued (by jti), not
	// revoked, and its grant ("grant_id" claim) not withdrawn.
	Grants GrantChecker
}

// GrantChecker is the database lookup behind LocalJWT.Grants
// (issuer/oauth Store.GrantActive): one indexed lookup per request.
type GrantChecker interface {
	GrantActive(ctx context.Context, grantID, jti string) (bool, error)
}

// Authenticator checks bearer tokens. It is safe for concurrent use.
type Authenticator struct {
	cfg Config
	now func() time.Time

	mu        sync.Mutex
	jwks      *jose.JSONWebKeySet
	fetchedAt time.Time
}

// New checks cfg and returns an Authenticator.
func New(cfg Config) (*Authenticator, error) {
	if cfg.JWT != nil {
		if cfg.JWT.Issuer == "" || cfg.JWT.Audience == "" {
			return nil, errors.New("auth: JWT issuer and audience are both required")
		}
		if cfg.JWT.JWKSURL == "" {
			cfg.JWT.JWKSURL = strings.TrimRight(cfg.JWT.Issuer, "/") + "/.well-known/jwks.json"
		}
		if cfg.JWT.Fetch == nil {
			cfg.JWT.Fetch = safehttp.MustNew(safehttp.Config{})
		}
		if cfg.JWT.Leeway == 0 {
			cfg.JWT.Leeway = 60 * time.Second
		}
	}
	if l := cfg.Local; l != nil {
		if l.Issuer == "" || l.Audience == "" || l.Key.KeyID == "" || l.Grants == nil || !l.Key.Valid() || !l.Key.IsPublic() {
			return nil, errors.New("auth: the local authorization server needs its issuer, audience, public key with kid and grant checker")
		}
	}
	if cfg.Store == nil && cfg.JWT == nil && cfg.Local == nil {
		return nil, errors.New("auth: configure API tokens (a store) or an authorization server")
	}
	if cfg.JWT != nil {
		for sub, scopes := range cfg.JWT.SystemClients {
			for _, sc := range scopes {
				if !slices.Contains(AllLabScopes, sc) {
					return nil, fmt.Errorf("auth: system client %q: unknown lab scope %q", sub, sc)
				}
			}
		}
	}
	if len(cfg.AuditKey) == 0 {
		cfg.AuditKey = make([]byte, 32)
		if _, err := rand.Read(cfg.AuditKey); err != nil {
			return nil, err
		}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Authenticator{cfg: cfg, now: now}, nil
}

// HasJWT reports whether JWT access tokens are accepted.
func (a *Authenticator) HasJWT() bool { return a.cfg.JWT != nil || a.cfg.Local != nil }

// Authenticate checks an Authorization header value ("Bearer ..."). It
// returns ErrUnauthenticated for anything but a valid token.
func (a *Authenticator) Authenticate(ctx context.Context, header string) (*Principal, error) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || len(tok) > 8192 {
		return nil, ErrUnauthenticated
	}
	tok = strings.TrimSpace(tok)
	if strings.HasPrefix(tok, TokenPrefix) {
		return a.apiToken(ctx, tok)
	}
	if strings.Count(tok, ".") != 2 {
		return nil, ErrUnauthenticated
	}
	parsed, err := jwt.ParseSigned(tok, allowedAlgs)
	if err != nil || len(parsed.Headers) != 1 {
		return nil, ErrUnauthenticated
	}
	if l := a.cfg.Local; l != nil && parsed.Headers[0].KeyID == l.Key.KeyID {
		return a.localToken(ctx, parsed)
	}
	if a.cfg.JWT != nil {
		return a.jwtToken(ctx, parsed)
	}
	return nil, ErrUnauthenticated
}

// localToken checks a token of the issuer's own authorization server:
// ES256 with its key only, iss, aud, exp (no leeway: same clock), and its
// grant in the database.
func (a *Authenticator) localToken(ctx context.Context, parsed *jwt.JSONWebToken) (*Principal, error) {
	l := a.cfg.Local
	if parsed.Headers[0].Algorithm != string(jose.ES256) {
		return nil, ErrUnauthenticated
	}
	var c accessClaims
	if err := parsed.Claims(l.Key.Key, &c); err != nil {
		return nil, ErrUnauthenticated
	}
	// Only access tokens carry jti, client_id, scope and grant_id; an ID
	// token (at_hash, nonce) signed with the same key is never a bearer
	// token, whatever its aud.
	if c.Expiry == nil || c.Grant == "" || c.ID == "" || c.ClientID == "" || len(c.Scope) == 0 || c.AtHash != "" || c.Nonce != "" {
		return nil, ErrUnauthenticated
	}
	exp := jwt.Expected{Issuer: l.Issuer, AnyAudience: jwt.Audience{l.Audience}, Time: a.now()}
	if err := c.ValidateWithLeeway(exp, 0); err != nil {
		return nil, ErrUnauthenticated
	}
	ok, err := l.Grants.GrantActive(ctx, c.Grant, c.ID)
	if err != nil {
		return nil, fmt.Errorf("auth: grant lookup: %w", err)
	}
	if !ok {
		return nil, ErrUnauthenticated
	}
	return a.principalOf(&c, nil)
}

func (a *Authenticator) apiToken(ctx context.Context, tok string) (*Principal, error) {
	if a.cfg.Store == nil {
		return nil, ErrUnauthenticated
	}
	h := sha256.Sum256([]byte(tok))
	t, err := a.cfg.Store.TokenByHash(ctx, h[:])
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrUnauthenticated
		}
		return nil, fmt.Errorf("auth: token lookup: %w", err)
	}
	if subtle.ConstantTimeCompare(t.Hash, h[:]) != 1 || t.RevokedAt != nil {
		return nil, ErrUnauthenticated
	}
	return &Principal{Kind: "token", ID: t.ID, Scopes: slices.Clone(t.Scopes)}, nil
}

// accessClaims are the claims read from a JWT access token.
type accessClaims struct {
	jwt.Claims
	Scope   json.RawMessage `json:"scope"` // space-separated string (RFC 8693 / SMART)
	Scp     []string        `json:"scp"`   // some servers use an array
	Patient string          `json:"patient"`
	// FHIRUser and AuthorizationDetails feed issuer/authz (issue 12).
	FHIRUser             string          `json:"fhirUser"`
	AuthorizationDetails json.RawMessage `json:"authorization_details"`
	// Grant is the consent a token of the local server stands for.
	Grant string `json:"grant_id"`
	// ClientID is the app a local access token was issued to; AtHash and
	// Nonce mark an ID token (OpenID Connect Core 2), refused as a bearer
	// token.
	ClientID string `json:"client_id"`
	AtHash   string `json:"at_hash"`
	Nonce    string `json:"nonce"`
}

var allowedAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.RS256}

func (a *Authenticator) jwtToken(ctx context.Context, parsed *jwt.JSONWebToken) (*Principal, error) {
	kid := parsed.Headers[0].KeyID
	key, err := a.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	var c accessClaims
	if err := parsed.Claims(key.Key, &c); err != nil {
		return nil, ErrUnauthenticated
	}
	if c.Expiry == nil {
		return nil, ErrUnauthenticated // access tokens must expire
	}
	exp := jwt.Expected{Issuer: a.cfg.JWT.Issuer, AnyAudience: jwt.Audience{a.cfg.JWT.Audience}, Time: a.now()}
	if err := c.ValidateWithLeeway(exp, a.cfg.JWT.Leeway); err != nil {
		return nil, ErrUnauthenticated
	}
	return a.principalOf(&c, a.cfg.JWT.SystemClients)
}

// principalOf builds the principal of verified claims; systemClients are
// the registered lab systems (none for the local server).
func (a *Authenticator) principalOf(c *accessClaims, systemClients map[string][]string) (*Principal, error) {
	p := &Principal{Kind: "jwt", ID: c.Subject, Patient: c.Patient, FHIRUser: c.FHIRUser, actorKey: a.cfg.AuditKey}
	if len(c.AuthorizationDetails) > 0 && string(c.AuthorizationDetails) != "null" {
		p.AuthorizationDetails = c.AuthorizationDetails
	}
	var s string
	if len(c.Scope) > 0 && json.Unmarshal(c.Scope, &s) == nil {
		p.Scopes = strings.Fields(s)
	}
	p.Scopes = append(p.Scopes, c.Scp...)
	if len(p.Scopes) > 200 {
		return nil, ErrUnauthenticated
	}
	// Tokens stay in their lane (issue 10): a patient-context token is
	// limited to its patient (no system/ scopes, no lab scopes); lab scopes
	// of other JWTs count only for registered system clients, and only the
	// scopes registered for them.
	allowed, registered := systemClients[c.Subject]
	kept := p.Scopes[:0]
	for _, sc := range p.Scopes {
		switch {
		case slices.Contains(AllLabScopes, sc):
			if c.Patient != "" || !registered || c.Subject == "" || !slices.Contains(allowed, sc) {
				continue
			}
			p.labClient = true
		case c.Patient != "" && strings.HasPrefix(sc, "system/"):
			continue
		}
		kept = append(kept, sc)
	}
	p.Scopes = kept
	return p, nil
}

// key returns the authorization server's key for kid, fetching the JWKS at
// most every 30 s when the kid is unknown and every 10 minutes otherwise.
func (a *Authenticator) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	find := func() *jose.JSONWebKey {
		if a.jwks == nil {
			return nil
		}
		for _, k := range a.jwks.Keys {
			if (kid == "" || k.KeyID == kid) && k.Valid() && k.IsPublic() && (k.Use == "" || k.Use == "sig") {
				k := k
				return &k
			}
		}
		return nil
	}
	age := a.now().Sub(a.fetchedAt)
	if k := find(); k != nil && age < 10*time.Minute {
		return k, nil
	}
	if a.jwks != nil && age < 30*time.Second {
		if k := find(); k != nil {
			return k, nil
		}
		return nil, ErrUnauthenticated
	}
	resp, err := a.cfg.JWT.Fetch.Get(ctx, a.cfg.JWT.JWKSURL)
	if err != nil || resp.StatusCode != 200 {
		if k := find(); k != nil {
			return k, nil // keep using known keys while the server is down
		}
		return nil, fmt.Errorf("auth: authorization server key set unavailable: %v", err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(resp.Body, &set); err != nil {
		return nil, fmt.Errorf("auth: authorization server key set is not a JWKS: %w", err)
	}
	a.jwks, a.fetchedAt = &set, a.now()
	if k := find(); k != nil {
		return k, nil
	}
	return nil, ErrUnauthenticated
}

// CanReadPatient reports whether p may read resources of every type in
// types for patient id under SMART on FHIR scopes: a patient-level read
// scope (patient/T.read, patient/*.read, or the v2 forms patient/T.rs,
// patient/T.r ...) with a "patient" claim equal to id, or a system-level
// read scope (system/T.read, system/*.rs ...) for any patient.
func (p *Principal) CanReadPatient(id string, types []string) bool {
	if p == nil || p.Kind != "jwt" || p.Patient != "" && p.Patient != id {
		return false
	}
	for _, t := range types {
		if !p.readScope("system", t) && !(p.Patient == id && p.readScope("patient", t)) {
			return false
		}
	}
	return true
}

// IsOtherPatient reports whether p is a patient-level token for another
// patient than id (and has no system-level scope).
func (p *Principal) IsOtherPatient(id string) bool {
	if p.Patient != "" {
		return p.Patient != id // a patient-context token never reaches another patient
	}
	for _, s := range p.Scopes {
		if strings.HasPrefix(s, "system/") {
			return false
		}
	}
	return p.Patient != id
}

func (p *Principal) readScope(level, typ string) bool {
	for _, s := range p.Scopes {
		lv, rest, ok := strings.Cut(s, "/")
		if !ok || lv != level {
			continue
		}
		rt, perm, ok := strings.Cut(rest, ".")
		if !ok || (rt != "*" && rt != typ) {
			continue
		}
		perm, _, _ = strings.Cut(perm, "?") // v2 granular scopes: query restrictions are not honoured, so refuse them below
		if strings.Contains(rest, "?") {
			continue
		}
		if perm == "read" || perm == "*" || v2Read(perm) {
			return true
		}
	}
	return false
}

// v2Read accepts SMART v2 permission strings (ordered subset of "cruds")
// that include "r".
func v2Read(perm string) bool {
	if perm == "" || !strings.Contains(perm, "r") {
		return false
	}
	order := "cruds"
	last := -1
	for _, c := range perm {
		i := strings.IndexRune(order, c)
		if i <= last {
			return false
		}
		last = i
	}
	return true
}
