package postgres

import (
	"context"

	"github.com/healthcards/healthcards/issuer/store/sqlstore"
)

// Open connects to dsn (a libpq URL or key=value string; pool_max_conns
// sets the pool size) and applies pending migrations under an advisory
// lock. It is sqlstore.OpenPostgres.
func Open(ctx context.Context, dsn string) (*sqlstore.Store, error) {
	return sqlstore.OpenPostgres(ctx, dsn)
}
