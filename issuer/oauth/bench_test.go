package oauth

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/healthcards/healthcards/issuer/auth"
)

// benchToken stores a grant and an access token and returns an
// Authenticator that accepts the server's tokens, and the token.
func benchToken(b *testing.B) (*Store, *auth.Authenticator, string, string, string) {
	b.Helper()
	ctx := context.Background()
	st, err := Open(ctx, StoreConfig{Path: filepath.Join(b.TempDir(), "oauth.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	gid, err := st.putGrant(ctx, Grant{ClientID: "shcc_x", AccountID: "acct-1", Patient: "pt-1", FHIRUser: "Patient/pt-1", PersonName: "P",
		Scopes: []string{"patient/*.rs"}, Consent: Consent{CredentialTypes: []string{CardTypes[1].URI}}})
	if err != nil {
		b.Fatal(err)
	}
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	s := &Server{st: st}
	jti, exp, err := (&storage{s: s}).insertAccess(ctx, tx, tokenFields{family: "ar_1", grantID: gid, clientID: "shcc_x", subject: "acct-1", scopes: []string{"patient/*.rs"}})
	if err != nil || tx.Commit() != nil {
		b.Fatal(err)
	}
	jwk, err := NewKeyJWK()
	if err != nil {
		b.Fatal(err)
	}
	key, _ := KeyFromJWK(jwk)
	pub, _ := PublicJWK(key)
	sig, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", pub.KeyID))
	const base = "https://lab.example"
	tok, err := jwt.Signed(sig).Claims(map[string]any{"iss": base, "aud": []string{base + "/fhir", "shcc_x"}, "sub": "acct-1", "exp": exp.Unix(),
		"iat": time.Now().Unix(), "jti": jti, "client_id": "shcc_x", "scope": "patient/*.rs", "patient": "pt-1", "fhirUser": "Patient/pt-1", grantClaim: gid,
		"authorization_details": Consent{CredentialTypes: []string{CardTypes[1].URI}}.AuthorizationDetails("pt-1")}).Serialize()
	if err != nil {
		b.Fatal(err)
	}
	a, err := auth.New(auth.Config{Local: &auth.LocalJWT{Issuer: base, Audience: base + "/fhir", Key: pub, Grants: st}})
	if err != nil {
		b.Fatal(err)
	}
	return st, a, tok, gid, jti
}

// BenchmarkAuthenticateLocal is what issuer/auth spends per request on a
// token of the built-in server: ES256 verification, claims, and the one
// grant lookup (SQLite).
func BenchmarkAuthenticateLocal(b *testing.B) {
	_, a, tok, _, _ := benchToken(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, "Bearer "+tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGrantActive is the grant lookup alone (one join on primary
// keys, SQLite WAL).
func BenchmarkGrantActive(b *testing.B) {
	st, _, _, gid, jti := benchToken(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := st.GrantActive(ctx, gid, jti); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkAllow is the rate-limit count of one authorize or token
// request: the old windows deleted and one upsert (SQLite WAL).
func BenchmarkAllow(b *testing.B) {
	ctx := context.Background()
	st, err := Open(ctx, StoreConfig{Path: filepath.Join(b.TempDir(), "oauth.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.allow(ctx, "token", "192.0.2.1", 1<<30); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenRequestsAtCap is the open-request count of each new
// authorization request when 10,000 (the default MaxOpenRequests) are
// open: the worst case.
func BenchmarkOpenRequestsAtCap(b *testing.B) {
	ctx := context.Background()
	st, err := Open(ctx, StoreConfig{Path: filepath.Join(b.TempDir(), "oauth.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	exp := time.Now().Add(RequestTTL).UnixMicro()
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10000 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO oa_requests (id, client_id, redirect_uri, state, nonce, scopes, challenge, response_mode,
			prompt, created_us, expires_us, ask) VALUES (?, 'c', 'r', '', '', '', '', '', '', 0, ?, '{}')`, fmt.Sprint("ar_", i), exp); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if n, err := st.openRequests(ctx); err != nil || n != 10000 {
			b.Fatal(n, err)
		}
	}
}
