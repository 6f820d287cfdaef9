package service

import (
	"context"
	"crypto/ecdsa"

	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/keydb"
	"github.com/healthcards/healthcards/issuer/oauth"
)

// OAuthFile is the SQLite database of the built-in authorization server
// of a single process (DIR/oauth.db).
const OAuthFile = "oauth.db"

// OpenOAuth opens the built-in authorization server's store: DIR/oauth.db
// with --store sqlite, or the issuer's PostgreSQL database (tables oa_*)
// with --store postgres, shared by replicas.
func OpenOAuth(ctx context.Context, dir, kind, dsn string) (*oauth.Store, error) {
	switch kind {
	case "", "sqlite":
		return oauth.Open(ctx, oauth.StoreConfig{Path: DataDir(dir).Path(OAuthFile)})
	case "postgres":
		if dsn == "" {
			return nil, configErr("--store postgres needs --postgres-dsn")
		}
		return oauth.Open(ctx, oauth.StoreConfig{PostgresDSN: dsn})
	}
	return nil, configErr("--store must be sqlite or postgres")
}

// oauthKey returns the token-signing key of the built-in authorization
// server: sealed in the database with --kek-file (created once, shared by
// every replica), else in DIR/oauth-signing-key.jwk (0600).
func (s *Service) oauthKey(ctx context.Context, kdb *keydb.Store) (*ecdsa.PrivateKey, error) {
	if kdb == nil {
		return oauth.KeyFromFile(s.dir.Path(oauth.KeyFile))
	}
	v, err := kdb.Secret(ctx, oauth.SecretName, oauth.NewKeyJWK)
	if err != nil {
		return nil, err
	}
	return oauth.KeyFromJWK(v)
}

// openOAuth opens the built-in authorization server's store and key and
// returns what issuer/auth needs to accept its tokens in process.
func (s *Service) openOAuth(ctx context.Context, kdb *keydb.Store) (*oauth.Store, *ecdsa.PrivateKey, *auth.LocalJWT, error) {
	st, err := OpenOAuth(ctx, s.cfg.DataDir, s.cfg.Store, s.cfg.PostgresDSN)
	if err != nil {
		return nil, nil, nil, err
	}
	s.closers = append(s.closers, st.Close)
	key, err := s.oauthKey(ctx, kdb)
	if err != nil {
		return nil, nil, nil, err
	}
	pub, err := oauth.PublicJWK(key)
	if err != nil {
		return nil, nil, nil, err
	}
	return st, key, &auth.LocalJWT{Issuer: s.baseURL, Audience: s.baseURL + "/fhir", Key: pub, Grants: st}, nil
}
