package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Client is an application registered by an administrator
// (`shc-issuer clients add`).
type Client struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// RedirectURIs are matched exactly; for a public client a loopback
	// URI (http://127.0.0.1, http://[::1]) may differ in its port only
	// (RFC 8252, section 7.3). http://localhost is refused at
	// registration (RFC 8252, section 8.3); one registered by an earlier
	// release keeps working.
	RedirectURIs []string  `json:"redirectUris"`
	Confidential bool      `json:"confidential"`
	Created      time.Time `json:"created"`
	secretHash   []byte
}

// ClientIDPrefix starts every client id; SecretPrefix every client secret.
const (
	ClientIDPrefix = "shcc_"
	SecretPrefix   = "shccs_"
	maxRedirects   = 10
)

// AddClient registers a client. A confidential client gets a secret,
// returned once (only its SHA-256 is stored); a public client (a wallet
// on a phone or a desktop) gets none and must use PKCE, as every client
// must here.
func (s *Store) AddClient(ctx context.Context, name string, redirectURIs []string, confidential bool) (Client, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) || strings.ContainsAny(name, "\x00\r\n<>") {
		return Client{}, "", errf(CodeInvalidClientRegistration, "the name must be 1..100 characters on one line, without < or >")
	}
	if len(redirectURIs) == 0 || len(redirectURIs) > maxRedirects {
		return Client{}, "", errf(CodeInvalidClientRegistration, "give 1..%d redirect URIs (--redirect-uri)", maxRedirects)
	}
	for _, u := range redirectURIs {
		if err := checkRedirectURI(u, confidential); err != nil {
			return Client{}, "", err
		}
	}
	c := Client{ID: ClientIDPrefix + b64(random(12)), Name: name, RedirectURIs: append([]string(nil), redirectURIs...),
		Confidential: confidential, Created: s.now().UTC()}
	var secret string
	var sh []byte
	if confidential {
		secret = SecretPrefix + b64(random(32))
		sh = hash(secret)
	}
	uris, _ := json.Marshal(c.RedirectURIs)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO oa_clients (id, name, secret_hash, redirect_uris, created_us) VALUES (?, ?, ?, ?, ?)`,
		c.ID, c.Name, sh, string(uris), c.Created.UnixMicro()); err != nil {
		return Client{}, "", fmt.Errorf("oauth: storing the client: %w", err)
	}
	return c, secret, nil
}

// checkRedirectURI accepts an absolute https URI, an http loopback URI
// with an IP literal (RFC 8252, sections 7.3 and 8.3: not localhost) or, for a public client, a private-use scheme
// with a dot (RFC 8252, section 7.1: reverse domain name); never a
// fragment, user information or a wildcard.
func checkRedirectURI(raw string, confidential bool) error {
	bad := func(why string) error {
		return errf(CodeInvalidClientRegistration, "redirect URI %q: %s", trunc(raw), why)
	}
	if len(raw) > 512 || strings.ContainsAny(raw, " *\x00\r\n") {
		return bad("too long or holds spaces or wildcards")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return bad("not an absolute URI")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") || u.User != nil {
		return bad("no fragment or user information (RFC 6749, section 3.1.2)")
	}
	switch {
	case u.Scheme == "https":
		if u.Host == "" {
			return bad("https needs a host")
		}
	case u.Scheme == "http":
		if h := strings.TrimSuffix(strings.ToLower(u.Hostname()), "."); h == "localhost" || strings.HasSuffix(h, ".localhost") {
			return bad("use the loopback IP literal, http://127.0.0.1[:PORT]/… or http://[::1][:PORT]/…, not localhost (RFC 8252, section 8.3: the name may resolve elsewhere or be firewalled)")
		}
		if !isLoopbackHost(u.Hostname()) {
			return bad("http is for loopback redirects only (127.0.0.1, [::1]; RFC 8252)")
		}
	case !confidential && strings.Contains(u.Scheme, "."):
		// private-use URI scheme of a native app
	default:
		return bad("use https, http on loopback, or (public clients) a reverse-DNS private-use scheme")
	}
	return nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// redirectAllowed reports whether uri is registered for c: an exact match,
// or, for a public client, a loopback URI equal to a registered loopback
// URI but for its port (RFC 8252, section 7.3).
func (c *Client) redirectAllowed(uri string) bool {
	for _, r := range c.RedirectURIs {
		if r == uri {
			return true
		}
	}
	if c.Confidential {
		return false
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || !isLoopbackHost(u.Hostname()) || u.User != nil || u.Fragment != "" {
		return false
	}
	for _, r := range c.RedirectURIs {
		ru, err := url.Parse(r)
		if err != nil || ru.Scheme != "http" || !isLoopbackHost(ru.Hostname()) {
			continue
		}
		if ru.Hostname() == u.Hostname() && ru.EscapedPath() == u.EscapedPath() && ru.RawQuery == u.RawQuery {
			return true
		}
	}
	return false
}

// Clients lists the registered clients, oldest first.
func (s *Store) Clients(ctx context.Context) ([]Client, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, secret_hash, redirect_uris, created_us FROM oa_clients ORDER BY created_us, id`)
	if err != nil {
		return nil, fmt.Errorf("oauth: %w", err)
	}
	defer rows.Close()
	var out []Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Client returns the registered client id (CodeNotFound if none).
func (s *Store) Client(ctx context.Context, id string) (Client, error) {
	if id == "" || len(id) > 64 {
		return Client{}, errf(CodeNotFound, "no such client")
	}
	c, err := scanClient(s.db.QueryRowContext(ctx, `SELECT id, name, secret_hash, redirect_uris, created_us FROM oa_clients WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Client{}, errf(CodeNotFound, "no such client")
	}
	return c, err
}

func scanClient(sc interface{ Scan(...any) error }) (Client, error) {
	var c Client
	var uris string
	var created int64
	if err := sc.Scan(&c.ID, &c.Name, &c.secretHash, &uris, &created); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(uris), &c.RedirectURIs); err != nil {
		return c, fmt.Errorf("oauth: client %s: redirect URIs: %w", c.ID, err)
	}
	c.Confidential = c.secretHash != nil
	c.Created = time.UnixMicro(created).UTC()
	return c, nil
}

// RemoveClient deletes a client and revokes everything it holds: its
// grants are withdrawn, its refresh and access tokens revoked, its open
// authorization requests dropped.
func (s *Store) RemoveClient(ctx context.Context, id string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM oa_clients WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errf(CodeNotFound, "no such client")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE oa_grants SET withdrawn_us = ? WHERE client_id = ? AND withdrawn_us IS NULL`, s.now().UnixMicro(), id); err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	for _, q := range []string{
		`UPDATE oa_refresh SET revoked = 1 WHERE client_id = ? AND revoked = 0`,
		`UPDATE oa_access SET revoked = 1 WHERE client_id = ? AND revoked = 0`,
		`DELETE FROM oa_requests WHERE client_id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("oauth: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	return nil
}

// checkSecret compares a presented secret with the stored hash in constant
// time.
func (c *Client) checkSecret(secret string) bool {
	if c.secretHash == nil || secret == "" || len(secret) > 256 {
		return false
	}
	h := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(c.secretHash, h[:]) == 1
}

// opClient is a Client as the op library sees it.
type opClient struct{ c Client }

var _ op.Client = (*opClient)(nil)

func (o *opClient) GetID() string                    { return o.c.ID }
func (o *opClient) RedirectURIs() []string           { return o.c.RedirectURIs }
func (o *opClient) PostLogoutRedirectURIs() []string { return nil }
func (o *opClient) ApplicationType() op.ApplicationType {
	if o.c.Confidential {
		return op.ApplicationTypeWeb
	}
	return op.ApplicationTypeNative
}
func (o *opClient) AuthMethod() oidc.AuthMethod {
	if o.c.Confidential {
		return oidc.AuthMethodBasic
	}
	return oidc.AuthMethodNone
}
func (o *opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (o *opClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (o *opClient) LoginURL(id string) string            { return ConsentPath + "?id=" + url.QueryEscape(id) }
func (o *opClient) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (o *opClient) IDTokenLifetime() time.Duration       { return AccessTokenTTL }
func (o *opClient) DevMode() bool                        { return false }
func (o *opClient) IsScopeAllowed(scope string) bool     { return scopeSupported(scope) }
func (o *opClient) IDTokenUserinfoClaimsAssertion() bool { return false }
func (o *opClient) ClockSkew() time.Duration             { return 0 }
func (o *opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (o *opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
