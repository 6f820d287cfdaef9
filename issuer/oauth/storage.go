package oauth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/healthcards/healthcards/internal/sqldb"
	"github.com/healthcards/healthcards/issuer/authz"
)

// storage is the op library's Storage over the Store. Every decision that
// must hold across replicas (a code redeemed once, a refresh token rotated
// once, a withdrawn grant) is one conditional statement in the database.
type storage struct{ s *Server }

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
)

// authRequest is an authorization request (op.AuthRequest), with the
// person and grant once the patient has consented.
type authRequest struct {
	ID, ClientID, RedirectURI, State, Nonce, Challenge, ResponseMode string
	Scopes, Prompt                                                   []string
	AccountID, Patient, FHIRUser, GrantID                            string
	AuthTime                                                         time.Time
	IsDone                                                           bool
	Consent                                                          Consent
	Ask                                                              json.RawMessage
	aud                                                              []string
}

func (a *authRequest) GetID() string         { return a.ID }
func (a *authRequest) GetACR() string        { return "" }
func (a *authRequest) GetAMR() []string      { return nil }
func (a *authRequest) GetAudience() []string { return a.aud }
func (a *authRequest) GetAuthTime() time.Time {
	return a.AuthTime
}
func (a *authRequest) GetClientID() string { return a.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.Challenge, Method: oidc.CodeChallengeMethodS256}
}
func (a *authRequest) GetNonce() string                   { return a.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseTypeCode }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(a.ResponseMode) }
func (a *authRequest) GetScopes() []string                { return a.Scopes }
func (a *authRequest) GetState() string                   { return a.State }
func (a *authRequest) GetSubject() string                 { return a.AccountID }
func (a *authRequest) Done() bool                         { return a.IsDone }

// refreshRequest is a refresh token's request (op.RefreshTokenRequest).
type refreshRequest struct {
	id                                 string
	family, grantID, clientID, subject string
	patient, fhirUser                  string
	consent                            Consent
	scopes                             []string
	authTime                           time.Time
	aud                                []string
}

func (r *refreshRequest) GetAMR() []string            { return nil }
func (r *refreshRequest) GetAudience() []string       { return r.aud }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.authTime }
func (r *refreshRequest) GetClientID() string         { return r.clientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.subject }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }

func (st *storage) db() sqldb.DB               { return st.s.st.db }
func (st *storage) now() time.Time             { return st.s.st.now() }
func (st *storage) aud(client string) []string { return []string{st.s.fhir, client} }

// CreateAuthRequest stores a validated authorization request.
func (st *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	details, _ := ctx.Value(askKey{}).([]authz.Detail)
	ask, err := json.Marshal(askOf(req.Scopes, details))
	if err != nil {
		return nil, err
	}
	now := st.now()
	if err := st.s.st.prune(ctx); err != nil {
		return nil, err
	}
	if n, err := st.s.st.openRequests(ctx); err != nil {
		return nil, err
	} else if n >= st.s.cfg.MaxOpenRequests {
		return nil, &oidc.Error{ErrorType: "temporarily_unavailable", Description: "too many sign-ins are under way; try again in a few minutes"}
	}
	a := &authRequest{ID: authRequestPrefix + b64(random(24)), ClientID: req.ClientID, RedirectURI: req.RedirectURI, State: req.State,
		Nonce: req.Nonce, Challenge: req.CodeChallenge, ResponseMode: string(req.ResponseMode), Scopes: req.Scopes, Prompt: req.Prompt,
		Ask: ask, aud: st.aud(req.ClientID)}
	_, err = st.db().ExecContext(ctx, `INSERT INTO oa_requests (id, client_id, redirect_uri, state, nonce, scopes, challenge, response_mode,
		prompt, created_us, expires_us, ask) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.ClientID, a.RedirectURI, a.State, a.Nonce, strings.Join(a.Scopes, " "), a.Challenge, a.ResponseMode,
		strings.Join(a.Prompt, " "), now.UnixMicro(), now.Add(RequestTTL).UnixMicro(), string(ask))
	if err != nil {
		return nil, fmt.Errorf("oauth: storing the request: %w", err)
	}
	return a, nil
}

const requestCols = `r.id, r.client_id, r.redirect_uri, r.state, r.nonce, r.scopes, r.challenge, r.response_mode, r.prompt, r.ask,
	COALESCE(r.account_id, ''), COALESCE(r.patient, ''), COALESCE(r.fhir_user, ''), COALESCE(r.grant_id, ''), COALESCE(r.auth_us, 0), r.done,
	COALESCE(g.details, ''), r.expires_us`

func (st *storage) scanRequest(row *sql.Row) (*authRequest, int64, error) {
	a := &authRequest{}
	var scopes, prompt, ask, details string
	var authUS, expires int64
	var done int
	err := row.Scan(&a.ID, &a.ClientID, &a.RedirectURI, &a.State, &a.Nonce, &scopes, &a.Challenge, &a.ResponseMode, &prompt, &ask,
		&a.AccountID, &a.Patient, &a.FHIRUser, &a.GrantID, &authUS, &done, &details, &expires)
	if err != nil {
		return nil, 0, err
	}
	a.Scopes, a.Prompt, a.Ask, a.IsDone = strings.Fields(scopes), strings.Fields(prompt), json.RawMessage(ask), done == 1
	if authUS != 0 {
		a.AuthTime = time.UnixMicro(authUS).UTC()
	}
	if details != "" {
		if err := json.Unmarshal([]byte(details), &a.Consent); err != nil {
			return nil, 0, fmt.Errorf("oauth: grant details: %w", err)
		}
	}
	a.aud = st.aud(a.ClientID)
	return a, expires, nil
}

// request loads an open authorization request (no code issued yet).
func (st *storage) request(ctx context.Context, id string) (*authRequest, error) {
	if !strings.HasPrefix(id, authRequestPrefix) || len(id) > 64 {
		return nil, errNoRequest
	}
	a, exp, err := st.scanRequest(st.db().QueryRowContext(ctx, `SELECT `+requestCols+` FROM oa_requests r LEFT JOIN oa_grants g ON g.id = r.grant_id
		WHERE r.id = ? AND r.code_hash IS NULL`, id))
	if errors.Is(err, sql.ErrNoRows) || err == nil && st.now().UnixMicro() > exp {
		return nil, errNoRequest
	}
	return a, err
}

var errNoRequest = errors.New("oauth: no such authorization request, or it expired")

// AuthRequestByID is used by the library's callback, which is not routed:
// the consent page completes the request itself.
func (st *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	return st.request(ctx, id)
}

// AuthRequestByCode redeems a code: one conditional UPDATE marks it used,
// so of two redemptions (on any replica) exactly one wins. A code
// presented again revokes every token issued from it (RFC 6749, section
// 4.1.2).
func (st *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	if code == "" || len(code) > 128 {
		return nil, errors.New("oauth: invalid code")
	}
	h := hash(code)
	now := st.now().UnixMicro()
	var id string
	err := st.db().QueryRowContext(ctx, `UPDATE oa_requests SET code_used_us = ? WHERE code_hash = ? AND code_used_us IS NULL
		AND code_expires_us >= ? AND done = 1 RETURNING id`, now, h, now).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		var used sql.NullInt64
		if st.db().QueryRowContext(ctx, `SELECT id, code_used_us FROM oa_requests WHERE code_hash = ?`, h).Scan(&id, &used) == nil && used.Valid {
			if err := st.s.st.revokeFamily(ctx, id); err != nil {
				st.s.log.Error("oauth: revoking the tokens of a replayed code failed", "err", err.Error())
			}
		}
		return nil, errors.New("oauth: code unknown, expired or already used")
	}
	if err != nil {
		return nil, err
	}
	a, _, err := st.scanRequest(st.db().QueryRowContext(ctx, `SELECT `+requestCols+` FROM oa_requests r LEFT JOIN oa_grants g ON g.id = r.grant_id
		WHERE r.id = ? AND g.withdrawn_us IS NULL`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errors.New("oauth: the grant was withdrawn")
	}
	return a, err
}

// SaveAuthCode stores the hash of the code issued for a consented request.
func (st *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	res, err := st.db().ExecContext(ctx, `UPDATE oa_requests SET code_hash = ?, code_expires_us = ? WHERE id = ? AND done = 1 AND code_hash IS NULL`,
		hash(code), st.now().Add(CodeTTL).UnixMicro(), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return oidc.ErrInvalidRequest().WithDescription("the authorization request was already answered")
	}
	return nil
}

// DeleteAuthRequest keeps the request: its row remembers the redeemed
// code until it expires, so that a replay is recognised.
func (st *storage) DeleteAuthRequest(context.Context, string) error { return nil }

// tokenFields are the fields every token of a request carries.
type tokenFields struct {
	family, grantID, clientID, subject, patient, fhirUser string
	consent                                               Consent
	scopes                                                []string
	authTime                                              time.Time
}

func fieldsOf(req op.TokenRequest) (tokenFields, error) {
	switch r := req.(type) {
	case *authRequest:
		return tokenFields{family: r.ID, grantID: r.GrantID, clientID: r.ClientID, subject: r.AccountID, patient: r.Patient,
			fhirUser: r.FHIRUser, consent: r.Consent, scopes: r.Scopes, authTime: r.AuthTime}, nil
	case *refreshRequest:
		return tokenFields{family: r.family, grantID: r.grantID, clientID: r.clientID, subject: r.subject, patient: r.patient,
			fhirUser: r.fhirUser, consent: r.consent, scopes: r.scopes, authTime: r.authTime}, nil
	}
	return tokenFields{}, oidc.ErrUnsupportedGrantType()
}

// CreateAccessToken records an access token (no offline_access).
func (st *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	f, err := fieldsOf(req)
	if err != nil {
		return "", time.Time{}, err
	}
	tx, err := st.db().BeginTx(ctx, nil)
	if err != nil {
		return "", time.Time{}, err
	}
	defer tx.Rollback()
	jti, exp, err := st.insertAccess(ctx, tx, f)
	if err != nil {
		return "", time.Time{}, err
	}
	return jti, exp, tx.Commit()
}

func (st *storage) insertAccess(ctx context.Context, tx sqldb.Tx, f tokenFields) (string, time.Time, error) {
	var withdrawn sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT withdrawn_us FROM oa_grants WHERE id = ?`, f.grantID).Scan(&withdrawn); err != nil || withdrawn.Valid {
		return "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("the patient withdrew this app's access")
	}
	jti := accessIDPrefix + b64(random(18))
	exp := st.now().Add(AccessTokenTTL)
	_, err := tx.ExecContext(ctx, `INSERT INTO oa_access (jti, family, grant_id, client_id, subject, scopes, expires_us) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		jti, f.family, f.grantID, f.clientID, f.subject, strings.Join(f.scopes, " "), exp.UnixMicro())
	return jti, exp, err
}

// CreateAccessAndRefreshTokens issues an access token and a refresh
// token; with currentRefreshToken it rotates that token first, by one
// conditional UPDATE (a concurrent second use loses and revokes the
// family).
func (st *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	f, err := fieldsOf(req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	tx, err := st.db().BeginTx(ctx, nil)
	if err != nil {
		return "", "", time.Time{}, err
	}
	defer tx.Rollback()
	now := st.now()
	// A new family lives RefreshTokenTTL; a rotated token keeps its
	// family's expiry (an absolute lifetime: rotation never extends it).
	expires := now.Add(RefreshTokenTTL).UnixMicro()
	if current != "" {
		err := tx.QueryRowContext(ctx, `UPDATE oa_refresh SET used_us = ? WHERE hash = ? AND used_us IS NULL AND revoked = 0 AND expires_us > ?
			RETURNING expires_us`, now.UnixMicro(), hash(current), now.UnixMicro()).Scan(&expires)
		if errors.Is(err, sql.ErrNoRows) {
			tx.Rollback()
			_ = st.s.st.revokeFamily(ctx, f.family)
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("the refresh token was already used")
		}
		if err != nil {
			return "", "", time.Time{}, err
		}
	}
	jti, exp, err := st.insertAccess(ctx, tx, f)
	if err != nil {
		return "", "", time.Time{}, err
	}
	rt := refreshPrefix + b64(random(32))
	_, err = tx.ExecContext(ctx, `INSERT INTO oa_refresh (hash, id, family, grant_id, client_id, subject, scopes, auth_us, created_us, expires_us)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, hash(rt), refreshIDPrefix+b64(random(18)), f.family, f.grantID, f.clientID, f.subject,
		strings.Join(f.scopes, " "), f.authTime.UnixMicro(), now.UnixMicro(), expires)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if err := tx.Commit(); err != nil {
		return "", "", time.Time{}, err
	}
	return jti, rt, exp, nil
}

// TokenRequestByRefreshToken loads a refresh token. One already rotated
// revokes its whole family (RFC 9700, section 4.14.2): whoever holds the
// other copy loses it too.
func (st *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	if !strings.HasPrefix(token, refreshPrefix) || len(token) > 128 {
		return nil, op.ErrInvalidRefreshToken
	}
	r := &refreshRequest{}
	var scopes, details string
	var authUS, expires int64
	var used, withdrawn sql.NullInt64
	var revoked int
	err := st.db().QueryRowContext(ctx, `SELECT t.id, t.family, t.grant_id, t.client_id, t.subject, t.scopes, t.auth_us, t.expires_us, t.used_us,
		t.revoked, g.patient, g.fhir_user, g.details, g.withdrawn_us FROM oa_refresh t JOIN oa_grants g ON g.id = t.grant_id WHERE t.hash = ?`, hash(token)).
		Scan(&r.id, &r.family, &r.grantID, &r.clientID, &r.subject, &scopes, &authUS, &expires, &used, &revoked, &r.patient, &r.fhirUser, &details, &withdrawn)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, op.ErrInvalidRefreshToken
	}
	if err != nil {
		return nil, err
	}
	if used.Valid {
		if err := st.s.st.revokeFamily(ctx, r.family); err != nil {
			st.s.log.Error("oauth: revoking a replayed refresh token's family failed", "err", err.Error())
		}
		return nil, errors.New("oauth: refresh token already used")
	}
	if revoked != 0 || withdrawn.Valid || st.now().UnixMicro() >= expires {
		return nil, errors.New("oauth: refresh token revoked or expired")
	}
	if err := json.Unmarshal([]byte(details), &r.consent); err != nil {
		return nil, err
	}
	r.scopes, r.authTime, r.aud = strings.Fields(scopes), time.UnixMicro(authUS).UTC(), st.aud(r.clientID)
	return r, nil
}

// TerminateSession is not offered (no end_session endpoint).
func (st *storage) TerminateSession(context.Context, string, string) error { return nil }

// GetRefreshTokenInfo maps a refresh token to its id, for revocation.
func (st *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	if !strings.HasPrefix(token, refreshPrefix) || len(token) > 128 {
		return "", "", op.ErrInvalidRefreshToken
	}
	var id, subject string
	err := st.db().QueryRowContext(ctx, `SELECT id, subject FROM oa_refresh WHERE hash = ?`, hash(token)).Scan(&id, &subject)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", op.ErrInvalidRefreshToken
	}
	return subject, id, err
}

// RevokeToken revokes a refresh token (with its family: RFC 7009 section
// 2.1) or an access token, when it belongs to the calling client. Unknown
// tokens are not an error (RFC 7009, section 2.2).
func (st *storage) RevokeToken(ctx context.Context, id, _ string, clientID string) *oidc.Error {
	var q, fq string
	switch {
	case strings.HasPrefix(id, refreshIDPrefix):
		q, fq = `SELECT client_id, family FROM oa_refresh WHERE id = ?`, ""
	case strings.HasPrefix(id, accessIDPrefix):
		q, fq = `SELECT client_id, family FROM oa_access WHERE jti = ?`, `UPDATE oa_access SET revoked = 1 WHERE jti = ?`
	default:
		return nil
	}
	var owner, family string
	err := st.db().QueryRowContext(ctx, q, id).Scan(&owner, &family)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return oidc.ErrServerError()
	}
	if owner != clientID {
		return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
	}
	if fq == "" {
		err = st.s.st.revokeFamily(ctx, family)
	} else {
		_, err = st.db().ExecContext(ctx, fq, id)
	}
	if err != nil {
		return oidc.ErrServerError()
	}
	return nil
}

func (st *storage) SigningKey(context.Context) (op.SigningKey, error) { return st.s.key, nil }
func (st *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256}, nil
}
func (st *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{st.s.key}}, nil
}

// GetClientByClientID loads a client; an unknown one is a plain error.
func (st *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := st.s.st.Client(ctx, id)
	if err != nil {
		if CodeOf(err) == CodeNotFound {
			return nil, errors.New("oauth: unknown client")
		}
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return &opClient{c: c}, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret.
func (st *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := st.s.st.Client(ctx, id)
	if err != nil {
		if CodeOf(err) == CodeNotFound {
			return errors.New("oauth: unknown client")
		}
		return oidc.ErrServerError().WithParent(err)
	}
	if !c.checkSecret(secret) {
		return errors.New("oauth: wrong client secret")
	}
	return nil
}

func (st *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest gives ID tokens their sub (the account) and
// fhirUser (an absolute URL) when the fhirUser scope was granted (SMART
// App Launch 2).
func (st *storage) SetUserinfoFromRequest(_ context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	f, err := fieldsOf(req)
	if err != nil {
		return err
	}
	ui.Subject = f.subject // the library copies the userinfo's sub over the ID token's
	if slices.Contains(scopes, "fhirUser") && f.fhirUser != "" {
		ui.AppendClaims("fhirUser", st.s.fhir+"/"+f.fhirUser)
	}
	return nil
}

// accessRow loads an access token that is still usable.
func (st *storage) accessRow(ctx context.Context, jti string) (f tokenFields, exp time.Time, err error) {
	var scopes, details string
	var revoked int
	var expUS int64
	var withdrawn sql.NullInt64
	err = st.db().QueryRowContext(ctx, `SELECT a.family, a.grant_id, a.client_id, a.subject, a.scopes, a.expires_us, a.revoked,
		g.patient, g.fhir_user, g.details, g.withdrawn_us FROM oa_access a JOIN oa_grants g ON g.id = a.grant_id WHERE a.jti = ?`, jti).
		Scan(&f.family, &f.grantID, &f.clientID, &f.subject, &scopes, &expUS, &revoked, &f.patient, &f.fhirUser, &details, &withdrawn)
	if err != nil {
		return f, exp, err
	}
	exp = time.UnixMicro(expUS).UTC()
	if revoked != 0 || withdrawn.Valid || !st.now().Before(exp) {
		return f, exp, errors.New("oauth: token inactive")
	}
	f.scopes = strings.Fields(scopes)
	err = json.Unmarshal([]byte(details), &f.consent)
	return f, exp, err
}

// SetUserinfoFromToken answers the userinfo endpoint: sub and fhirUser.
func (st *storage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, jti, subject, _ string) error {
	f, _, err := st.accessRow(ctx, jti)
	if err != nil || f.subject != subject || !slices.Contains(f.scopes, "openid") {
		return errors.New("oauth: token inactive")
	}
	ui.Subject = f.subject
	if slices.Contains(f.scopes, "fhirUser") {
		ui.AppendClaims("fhirUser", st.s.fhir+"/"+f.fhirUser)
	}
	return nil
}

// SetIntrospectionFromToken answers introspection (RFC 7662) for the
// client the token was issued to; for any other client the token is
// inactive.
func (st *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, jti, subject, clientID string) error {
	f, exp, err := st.accessRow(ctx, jti)
	if err != nil || f.subject != subject || f.clientID != clientID {
		return errors.New("oauth: token inactive")
	}
	resp.Scope = f.scopes
	resp.ClientID = f.clientID
	resp.Subject = f.subject
	resp.TokenType = oidc.BearerToken
	resp.Expiration = oidc.FromTime(exp)
	resp.Issuer = st.s.cfg.BaseURL
	resp.Audience = st.aud(f.clientID)
	resp.JWTID = jti
	resp.Claims = map[string]any{"patient": f.patient, "fhirUser": f.fhirUser, grantClaim: f.grantID,
		"authorization_details": f.consent.AuthorizationDetails(f.patient)}
	return nil
}

func (st *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetPrivateClaimsFromRequest gives every access token its SMART claims:
// scope, patient, fhirUser, authorization_details (from the consent) and
// the grant id issuer/auth checks. fhirUser is set whatever the scopes:
// issuer/authz tells a guardian acting for a ward (RelatedPerson) from the
// ward themself by it, so leaving it out would widen a guardian's access.
func (st *storage) GetPrivateClaimsFromRequest(_ context.Context, req op.TokenRequest, _ []string) (map[string]any, error) {
	f, err := fieldsOf(req)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"scope":                 strings.Join(f.scopes, " "),
		"patient":               f.patient,
		"fhirUser":              f.fhirUser,
		"authorization_details": f.consent.AuthorizationDetails(f.patient),
		grantClaim:              f.grantID,
	}, nil
}

func (st *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("oauth: JWT client authentication is not supported")
}

func (st *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("oauth: the JWT profile grant is not supported")
}

func (st *storage) Health(ctx context.Context) error { return st.db().PingContext(ctx) }
