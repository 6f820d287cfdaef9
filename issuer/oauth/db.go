package oauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/healthcards/healthcards/internal/sqldb"
)

// The oa_* tables, per dialect: the same columns (times as INTEGER
// microseconds, flags as INTEGER 0/1) in SQLite and PostgreSQL types.
//
//   - oa_clients: registered clients; secret_hash is the SHA-256 of a
//     confidential client's secret (NULL for public clients).
//   - oa_requests: authorization requests, bound to the account that signs
//     in, then to the person and the consent; code_hash is set when the
//     code is issued and code_used_us by the one conditional UPDATE that
//     redeems it.
//   - oa_grants: what a person allowed an app (remembered consent); a
//     withdrawn grant is never reactivated.
//   - oa_refresh: refresh tokens (SHA-256 only), one family per code
//     redemption; used_us marks a rotated token.
//   - oa_access: issued access tokens by jti, for revocation and the
//     grant check of issuer/auth.
const schemaSQL = `
CREATE TABLE oa_clients (id TEXT PRIMARY KEY, name TEXT NOT NULL, secret_hash BYTEA, redirect_uris TEXT NOT NULL,
  created_us BIGINT NOT NULL);
CREATE TABLE oa_grants (id TEXT PRIMARY KEY, client_id TEXT NOT NULL, account_id TEXT NOT NULL, patient TEXT NOT NULL,
  fhir_user TEXT NOT NULL, person_name TEXT NOT NULL, scopes TEXT NOT NULL, details TEXT NOT NULL,
  created_us BIGINT NOT NULL, updated_us BIGINT NOT NULL, withdrawn_us BIGINT);
CREATE UNIQUE INDEX oa_grants_active ON oa_grants (client_id, account_id, patient) WHERE withdrawn_us IS NULL;
CREATE INDEX oa_grants_account ON oa_grants (account_id);
CREATE TABLE oa_requests (id TEXT PRIMARY KEY, client_id TEXT NOT NULL, redirect_uri TEXT NOT NULL, state TEXT NOT NULL,
  nonce TEXT NOT NULL, scopes TEXT NOT NULL, challenge TEXT NOT NULL, response_mode TEXT NOT NULL, prompt TEXT NOT NULL,
  created_us BIGINT NOT NULL, expires_us BIGINT NOT NULL, account_id TEXT, form_hash BYTEA,
  patient TEXT, fhir_user TEXT, grant_id TEXT, auth_us BIGINT, done INTEGER NOT NULL DEFAULT 0,
  ask TEXT NOT NULL, code_hash BYTEA UNIQUE, code_expires_us BIGINT, code_used_us BIGINT);
CREATE TABLE oa_refresh (hash BYTEA PRIMARY KEY, id TEXT NOT NULL UNIQUE, family TEXT NOT NULL, grant_id TEXT NOT NULL,
  client_id TEXT NOT NULL, subject TEXT NOT NULL, scopes TEXT NOT NULL, auth_us BIGINT NOT NULL,
  created_us BIGINT NOT NULL, expires_us BIGINT NOT NULL, used_us BIGINT, revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX oa_refresh_family ON oa_refresh (family);
CREATE INDEX oa_refresh_grant ON oa_refresh (grant_id);
CREATE TABLE oa_access (jti TEXT PRIMARY KEY, family TEXT NOT NULL, grant_id TEXT NOT NULL, client_id TEXT NOT NULL,
  subject TEXT NOT NULL, scopes TEXT NOT NULL, expires_us BIGINT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX oa_access_family ON oa_access (family);
`

// expirySQL (version 2) indexes the expiry columns that pruning scans.
const expirySQL = `
CREATE INDEX oa_requests_expires ON oa_requests (expires_us);
CREATE INDEX oa_refresh_expires ON oa_refresh (expires_us);
CREATE INDEX oa_access_expires ON oa_access (expires_us);
`

// attemptsSQL (version 3) counts authorize and token requests per client
// address and one-minute window (Config.RequestsPerMinute), in the
// database so that the limit holds across replicas.
const attemptsSQL = `CREATE TABLE oa_attempts (win BIGINT NOT NULL, client BYTEA NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (win, client));`

func migrate(ctx context.Context, db sqldb.DB, now time.Time) error {
	q, attempts := schemaSQL, attemptsSQL
	if db.Dialect == sqldb.SQLite {
		r := strings.NewReplacer("BYTEA", "BLOB", "BIGINT", "INTEGER")
		q, attempts = r.Replace(q), r.Replace(attempts)
	}
	return sqldb.Migrate(ctx, db.DB, sqldb.Schema{
		Dialect: db.Dialect, Lock: "healthcards/issuer/oauth",
		Table:  "oa_schema_migrations",
		Create: `CREATE TABLE IF NOT EXISTS oa_schema_migrations (version BIGINT PRIMARY KEY, applied_us BIGINT NOT NULL)`,
		Record: `INSERT INTO oa_schema_migrations (version, applied_us) VALUES (?, ?)`,
		Args:   func(m sqldb.Migration, at time.Time) []any { return []any{m.Version, at.UnixMicro()} },
		Migrations: []sqldb.Migration{{Version: 1, Name: "oauth 1", SQL: q}, {Version: 2, Name: "oauth 2: expiry indexes", SQL: expirySQL},
			{Version: 3, Name: "oauth 3: request rate limit", SQL: attempts}},
		TooNew: errors.New("oauth: the database was written by a newer release"),
	}, now)
}

// openDB opens the SQLite file path or the PostgreSQL database dsn.
func openDB(ctx context.Context, path, dsn string) (sqldb.DB, error) {
	db, err := sqldb.Open(ctx, path, dsn, false, 4, 4)
	if err != nil {
		return sqldb.DB{}, fmt.Errorf("oauth: %w", err)
	}
	return db, nil
}
