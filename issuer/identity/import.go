package identity

import (
	"context"
	"fmt"
	"os"

	"github.com/healthcards/healthcards/internal/sqldb"
)

// Imported counts the rows ImportSQLite copied.
type Imported struct {
	Accounts, Codes, Passkeys, Sessions, Wards int
}

// ImportSQLite copies the accounts (with a patient account's Patient id,
// level and evidence), codes, passkeys, sessions and wards of an
// identity SQLite file (identity.db of a single-process issuer) into this
// service's database, in one transaction. Rows already present (same id
// or hash) are kept, so running it again changes nothing. Passkey
// ceremonies and attempt counts are not copied (they live minutes). The
// file is opened read-only and must have been written by this release or
// an older one.
func (s *Service) ImportSQLite(ctx context.Context, path string) (Imported, error) {
	var n Imported
	if _, err := os.Stat(path); err != nil {
		return n, fmt.Errorf("identity: import: %w", err)
	}
	src, err := openDB(ctx, path, "", true)
	if err != nil {
		return n, err
	}
	defer src.Close()
	var v int64
	if err := src.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM id_schema_migrations`).Scan(&v); err != nil {
		return n, fmt.Errorf("identity: import: %s is not an identity database: %w", path, err)
	}
	if last := schemas[src.Dialect][len(schemas[src.Dialect])-1].Version; v > last || v < 1 {
		return n, fmt.Errorf("identity: import: %s has schema version %d, this program reads 1..%d", path, v, last)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return n, wrap(CodeInternal, "store", err)
	}
	defer tx.Rollback()
	type step struct {
		sel, ins string
		cols     int
		count    *int
	}
	accounts := step{`SELECT id, name, role, handle, disabled, created_us FROM id_accounts ORDER BY rowid`,
		`INSERT INTO id_accounts (id, name, role, handle, disabled, created_us) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, 6, &n.Accounts}
	if v >= 3 {
		accounts = step{`SELECT id, name, role, handle, disabled, created_us, patient, ial, evidence, checked_by, proofed_us FROM id_accounts ORDER BY rowid`,
			`INSERT INTO id_accounts (id, name, role, handle, disabled, created_us, patient, ial, evidence, checked_by, proofed_us)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, 11, &n.Accounts}
	}
	steps := []step{accounts,
		{`SELECT hash, account_id, expires_us, used_us, revoked, created_us FROM id_codes`,
			`INSERT INTO id_codes (hash, account_id, expires_us, used_us, revoked, created_us) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, 6, &n.Codes},
		{`SELECT id, account_id, data, created_us FROM id_credentials`,
			`INSERT INTO id_credentials (id, account_id, data, created_us) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, 4, &n.Passkeys},
		{`SELECT hash, account_id, csrf, created_us, seen_us FROM id_sessions`,
			`INSERT INTO id_sessions (hash, account_id, csrf, created_us, seen_us) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, 5, &n.Sessions},
	}
	if v >= 3 {
		steps = append(steps, step{`SELECT account_id, patient, related_person, name, created_us FROM id_wards`,
			`INSERT INTO id_wards (account_id, patient, related_person, name, created_us) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, 5, &n.Wards})
	}
	for _, st := range steps {
		if err := copyRows(ctx, src, tx, st.sel, st.ins, st.cols, st.count); err != nil {
			return Imported{}, wrap(CodeInternal, "import", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return Imported{}, wrap(CodeInternal, "import: commit", err)
	}
	return n, nil
}

// copyRows runs sel on src and ins on tx for each row, counting the rows
// inserted.
func copyRows(ctx context.Context, src sqldb.DB, tx sqldb.Tx, sel, ins string, cols int, count *int) error {
	rows, err := src.QueryContext(ctx, sel)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		vals := make([]any, cols)
		ptrs := make([]any, cols)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, ins, vals...)
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err == nil {
			*count += int(k)
		}
	}
	return rows.Err()
}
