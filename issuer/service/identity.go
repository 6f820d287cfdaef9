package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/healthcards/healthcards/issuer/identity"
)

// IdentityFile is the SQLite identity database of a single-process issuer
// (DIR/identity.db).
const IdentityFile = "identity.db"

// OpenIdentity opens the staff and patient accounts, passkeys, codes,
// sessions and wards:
// DIR/identity.db with --store sqlite, or the issuer's PostgreSQL database
// (tables id_*) with --store postgres, so every replica sees one set of
// accounts and a code is used once. With PostgreSQL, an identity.db left in
// DIR by an earlier single-process setup is imported (accounts, passkeys,
// unused codes and sessions; identity.ImportSQLite) and renamed to
// identity.db.imported, so the import runs once. cfg's Path and
// PostgresDSN are set here. log may be nil.
func OpenIdentity(ctx context.Context, dir, kind, dsn string, cfg identity.Config, log *slog.Logger) (*identity.Service, error) {
	path := DataDir(dir).Path(IdentityFile)
	switch kind {
	case "", "sqlite":
		cfg.Path = path
		return identity.Open(ctx, cfg)
	case "postgres":
		if dsn == "" {
			return nil, configErr("--store postgres needs --postgres-dsn")
		}
	default:
		return nil, configErr("--store must be sqlite or postgres")
	}
	cfg.PostgresDSN = dsn
	ids, err := identity.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return ids, nil
	}
	n, err := ids.ImportSQLite(ctx, path)
	if err == nil {
		err = os.Rename(path, path+".imported")
	}
	if err != nil {
		ids.Close()
		return nil, fmt.Errorf("importing %s into PostgreSQL: %w", path, err)
	}
	if log != nil {
		log.Info("staff identities imported into PostgreSQL", "file", path, "accounts", n.Accounts, "passkeys", n.Passkeys,
			"codes", n.Codes, "sessions", n.Sessions, "wards", n.Wards, "renamed_to", path+".imported")
	}
	return ids, nil
}
