package sqlite

import (
	"context"

	"github.com/healthcards/healthcards/issuer/store/sqlstore"
)

// FileName is the database file created in the data directory.
const FileName = sqlstore.FileName

// Open opens (creating if needed) the store in <dir>/issuer.db and applies
// pending migrations in one transaction. It is sqlstore.OpenSQLite.
func Open(ctx context.Context, dir string) (*sqlstore.Store, error) {
	return sqlstore.OpenSQLite(ctx, dir)
}
