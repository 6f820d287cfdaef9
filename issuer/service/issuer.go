package service

import (
	"context"
	"os"

	"github.com/healthcards/healthcards/issuer"
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
	ks, ridSecret, _, err := s.openSigning(ctx) // --kek-file: the replicas' key ring and rid secret
	if err != nil {
		return nil, err
	}
	s.is, err = issuer.New(issuer.Config{Iss: s.iss, Keys: ks, Store: st, RIDSecret: ridSecret, QRLevel: level, Logger: s.log})
	if err != nil {
		return nil, err
	}
	return s, nil
}
