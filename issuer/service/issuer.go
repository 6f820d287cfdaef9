package service

import (
	"context"
	"errors"
	"os"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/keydb"
	"github.com/healthcards/healthcards/issuer/store"
	shlsql "github.com/healthcards/healthcards/shl/sqlstore"
)

// OpenIssuer opens what New opens for issuing (the data directory, the
// store, the signing key and the rid secret) without binding a listener or
// building the API: for commands that issue offline, such as
// `shc-issuer bulk issue`. Cards it issues are the cards the service
// issues, in the same store. The flags mean what they mean for serve; the
// issuer identifier defaults, as in development, to https://localhost:PORT
// of Config.Listen. Close the Service when done.
func OpenIssuer(ctx context.Context, cfg Config) (_ *Service, err error) {
	s, level, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	cfg = s.cfg
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, cfg.DataDir, cfg.Store, cfg.PostgresDSN)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, st.Close)
	ks, ridSecret, kdb, err := s.openSigning(ctx) // --kek-file: the replicas' key ring and rid secret
	if err != nil {
		return nil, err
	}
	s.is, err = issuer.New(issuer.Config{Iss: s.iss, Keys: ks, Store: st, RIDSecret: ridSecret, QRLevel: level, Logger: s.log})
	if err != nil {
		return nil, err
	}
	s.offline = &offline{st: st, kdb: kdb}
	return s, nil
}

// offline is what OpenIssuer keeps for BulkLinks.
type offline struct {
	st  store.Store
	kdb *keydb.Store
}

// BulkLinks opens, after OpenIssuer, the SMART Health Links of the
// service as serve opens them (the link store in DIR/links.db or the
// PostgreSQL database, the shared location secret, the base URL and
// --link-expiry), for `shc-issuer bulk issue --outputs link`: links it
// makes are served by the running service.
func (s *Service) BulkLinks(ctx context.Context) (*httpapi.Links, error) {
	if s.offline == nil {
		return nil, errors.New("service: BulkLinks needs OpenIssuer")
	}
	var ls *shlsql.Store
	var err error
	if s.cfg.Store == "postgres" {
		ls, err = shlsql.OpenPostgres(ctx, s.cfg.PostgresDSN)
	} else {
		ls, err = shlsql.OpenSQLite(ctx, s.dir.Path("links.db"))
	}
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, ls.Close)
	loc, err := s.secret(ctx, s.offline.kdb, keydb.SecretLinkLocation)
	if err != nil {
		return nil, err
	}
	a, err := auth.New(auth.Config{Store: s.offline.st}) // unused: no requests are served
	if err != nil {
		return nil, err
	}
	return httpapi.NewLinks(httpapi.LinksConfig{Issuer: s.is, Auth: a, BaseURL: s.baseURL, Store: ls,
		LocationSecret: []byte(loc), DefaultExpiry: s.cfg.LinkExpiry})
}
