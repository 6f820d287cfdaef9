package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/internal/check"
	"github.com/healthcards/healthcards/issuer/store/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is the PostgreSQL store.Store. Several processes (replicas) may use
// the same database at once.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

var _ store.Store = (*Store)(nil)

// Open connects to dsn (a libpq URL or key=value string; pool settings
// such as pool_max_conns are honoured) and applies pending migrations under
// an advisory lock, so replicas starting together migrate once. The tables
// live in the connection's current schema (set search_path in dsn to pick
// another).
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, fmt.Errorf("postgres: open: %w: %v", store.ErrInvalid, err)
	}
	cfg.AfterConnect = ensureSyncCommit
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s := &Store{pool: pool, now: time.Now}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, s.fail(ctx, "open: connect", err)
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// ensureSyncCommit turns synchronous_commit back on for the store's
// connections when the server or role set it to off: an acknowledged
// revocation must survive a server crash. Stronger settings (remote_write,
// remote_apply) and local are kept.
func ensureSyncCommit(ctx context.Context, c *pgx.Conn) error {
	var v string
	if err := c.QueryRow(ctx, "SHOW synchronous_commit").Scan(&v); err != nil {
		return err
	}
	if v == "off" {
		_, err := c.Exec(ctx, "SET synchronous_commit = on")
		return err
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Transaction-scoped: released at commit or rollback, also when the
		// connection dies. Keyed by schema so separate schemas migrate
		// independently.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('healthcards/issuer/store migrations:' || current_schema(), 0))`); err != nil {
			return s.fail(ctx, "migrate: lock", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    BIGINT PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL
		)`); err != nil {
			return s.fail(ctx, "migrate", err)
		}
		var current int64
		if err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
			return s.fail(ctx, "migrate", err)
		}
		if last := ms[len(ms)-1].Version; current > last {
			return &opError{fmt.Errorf("postgres: %w: version %d, this program knows up to %d", store.ErrSchemaTooNew, current, last)}
		}
		for _, m := range ms {
			if m.Version <= current {
				continue
			}
			// No arguments: the simple protocol runs the whole file.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return s.fail(ctx, "migrate "+m.Name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
				m.Version, m.Name, check.Micro(s.now())); err != nil {
				return s.fail(ctx, "migrate "+m.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return s.fail(ctx, "migrate", err)
	}
	return nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// fail wraps a database error with the operation, and makes a canceled or
// expired context visible to errors.Is. PostgreSQL error texts carry no
// row values (those are in the error's Detail, which Error() leaves out).
func (s *Store) fail(ctx context.Context, op string, err error) error {
	var prefixed interface{ postgresStoreError() }
	if errors.As(err, &prefixed) {
		return err
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return &opError{fmt.Errorf("postgres: %s: %w (%v)", op, cerr, err)}
	}
	return &opError{fmt.Errorf("postgres: %s: %w", op, err)}
}

// opError marks an error already wrapped by fail, so nested calls do not
// prefix it twice.
type opError struct{ err error }

func (e *opError) Error() string       { return e.err.Error() }
func (e *opError) Unwrap() error       { return e.err }
func (e *opError) postgresStoreError() {}

func utc(t time.Time) time.Time { return t.UTC() }

func encodeList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func decodeList(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("stored list is not a JSON string array: %w", err)
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

// PutResources implements store.Store.
func (s *Store) PutResources(ctx context.Context, patientID string, patient json.RawMessage, res []store.Resource) error {
	res, err := check.PutResources(patientID, patient, res)
	if err != nil {
		return fmt.Errorf("postgres: put resources: %w", err)
	}
	now := check.Micro(s.now())
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		if patient != nil {
			b.Queue(`INSERT INTO patients (id, resource) VALUES ($1, $2)
				ON CONFLICT (id) DO UPDATE SET resource = excluded.resource`, patientID, []byte(patient))
		} else {
			b.Queue(`INSERT INTO patients (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, patientID)
		}
		for _, r := range res {
			var date *time.Time
			if !r.Date.IsZero() {
				date = &r.Date
			}
			// Queued in order, so a later duplicate in res wins.
			b.Queue(`INSERT INTO resources (patient_id, type, id, res_date, updated_at, json)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (patient_id, type, id) DO UPDATE SET
					res_date = excluded.res_date, updated_at = excluded.updated_at, json = excluded.json`,
				patientID, r.Type, r.ID, date, now, []byte(r.JSON))
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return s.fail(ctx, "put resources", err)
		}
		return nil
	})
	if err != nil {
		return s.fail(ctx, "put resources", err)
	}
	return nil
}

// Patient implements store.Store.
func (s *Store) Patient(ctx context.Context, patientID string) (json.RawMessage, error) {
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT resource FROM patients WHERE id = $1 AND resource IS NOT NULL`, patientID).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: patient: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, s.fail(ctx, "patient", err)
	}
	return json.RawMessage(b), nil
}

// Resources implements store.Store.
func (s *Store) Resources(ctx context.Context, patientID string, types []string, since time.Time) ([]store.Resource, error) {
	if err := check.Types(types); err != nil {
		return nil, fmt.Errorf("postgres: resources: %w", err)
	}
	var sinceArg *time.Time
	if !since.IsZero() {
		m := check.Micro(since)
		sinceArg = &m
	}
	if types == nil {
		types = []string{}
	}
	// Unknown dates (NULL) sort first and never match a since bound.
	rows, err := s.pool.Query(ctx, `SELECT type, id, res_date, updated_at, json FROM resources
		WHERE patient_id = $1
		  AND (cardinality($2::text[]) = 0 OR type = ANY($2::text[]))
		  AND ($3::timestamptz IS NULL OR res_date >= $3::timestamptz)
		ORDER BY res_date IS NOT NULL, res_date, type, id`, patientID, types, sinceArg)
	if err != nil {
		return nil, s.fail(ctx, "resources", err)
	}
	defer rows.Close()
	var out []store.Resource
	for rows.Next() {
		r := store.Resource{PatientID: patientID}
		var date *time.Time
		var b []byte
		if err := rows.Scan(&r.Type, &r.ID, &date, &r.Updated, &b); err != nil {
			return nil, s.fail(ctx, "resources", err)
		}
		if date != nil {
			r.Date = utc(*date)
		}
		r.Updated = utc(r.Updated)
		r.JSON = b
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "resources", err)
	}
	return out, nil
}

const insertEventSQL = `INSERT INTO audit (at, actor, action, kid, rid, card_types, detail)
	VALUES ($1, $2, $3, $4, $5, $6, $7)`

func eventArgs(ev store.Event) []any {
	return []any{ev.Time, ev.Actor, ev.Action, ev.Kid, ev.RID, encodeList(ev.CardTypes), ev.Detail}
}

// PutCard implements store.Store.
func (s *Store) PutCard(ctx context.Context, c store.IssuedCard, ev store.Event) error {
	now := s.now()
	c, err := check.Card(c, now)
	if err != nil {
		return fmt.Errorf("postgres: put card: %w", err)
	}
	if ev, err = check.Event(ev, now); err != nil {
		return fmt.Errorf("postgres: put card: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO cards (id, patient_id, kid, rid, types, issued_at, jws)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
			c.ID, c.PatientID, c.Kid, c.RID, encodeList(c.Types), c.IssuedAt, c.JWS)
		if err != nil {
			return s.fail(ctx, "put card", err)
		}
		if tag.RowsAffected() == 0 {
			return &opError{fmt.Errorf("postgres: put card: %w: card id exists", store.ErrConflict)}
		}
		if _, err := tx.Exec(ctx, insertEventSQL, eventArgs(ev)...); err != nil {
			return s.fail(ctx, "put card: audit", err)
		}
		return nil
	})
	if err != nil {
		return s.fail(ctx, "put card", err)
	}
	return nil
}

// Card implements store.Store.
func (s *Store) Card(ctx context.Context, id string) (store.IssuedCard, error) {
	c := store.IssuedCard{ID: id}
	var types string
	err := s.pool.QueryRow(ctx, `SELECT patient_id, kid, rid, types, issued_at, jws FROM cards WHERE id = $1`, id).
		Scan(&c.PatientID, &c.Kid, &c.RID, &types, &c.IssuedAt, &c.JWS)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.IssuedCard{}, fmt.Errorf("postgres: card: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.IssuedCard{}, s.fail(ctx, "card", err)
	}
	if c.Types, err = decodeList(types); err != nil {
		return store.IssuedCard{}, fmt.Errorf("postgres: card: %w", err)
	}
	c.IssuedAt = utc(c.IssuedAt)
	return c, nil
}

// Revoke implements store.Store. The transaction first increments the
// counter row, which locks it until commit: concurrent revocations from any
// replica queue behind the lock and each sees the previous one's value, so
// no increment is lost and entries get their seq in counter order.
func (s *Store) Revoke(ctx context.Context, entries []store.RevocationEntry, ev store.Event) (int64, error) {
	ev, err := check.Revoke(entries, ev, s.now())
	if err != nil {
		return 0, fmt.Errorf("postgres: revoke: %w", err)
	}
	kids := make([]string, len(entries))
	rids := make([]string, len(entries))
	for i, e := range entries {
		kids[i], rids[i] = e.Kid, e.Entry
	}
	var ctr int64
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `UPDATE crl_counter SET ctr = ctr + 1 WHERE id = 1 RETURNING ctr`).Scan(&ctr); err != nil {
			return s.fail(ctx, "revoke: counter", err)
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO revocations (kid, entry, ctr)
			SELECT k, e, $3 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t (k, e, n) ORDER BY n
			ON CONFLICT (kid, entry) DO NOTHING`, kids, rids, ctr)
		b.Queue(insertEventSQL, eventArgs(ev)...)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return s.fail(ctx, "revoke: entries", err)
		}
		return nil
	})
	if err != nil {
		return 0, s.fail(ctx, "revoke", err)
	}
	return ctr, nil
}

// CRL implements store.Store. The counter and the entries come from one
// snapshot.
func (s *Store) CRL(ctx context.Context, kid string) (store.CRL, error) {
	c := store.CRL{Kid: kid, RIDs: []string{}}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT ctr FROM crl_counter WHERE id = 1`).Scan(&c.Ctr); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT entry FROM revocations WHERE kid = $1 ORDER BY seq`, kid)
		if err != nil {
			return err
		}
		entries, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		c.RIDs = append(c.RIDs, entries...)
		return nil
	})
	if err != nil {
		return store.CRL{}, s.fail(ctx, "crl", err)
	}
	return c, nil
}

// CRLVersion implements store.Store.
func (s *Store) CRLVersion(ctx context.Context) (int64, error) {
	var ctr int64
	if err := s.pool.QueryRow(ctx, `SELECT ctr FROM crl_counter WHERE id = 1`).Scan(&ctr); err != nil {
		return 0, s.fail(ctx, "crl version", err)
	}
	return ctr, nil
}

// PutToken implements store.Store.
func (s *Store) PutToken(ctx context.Context, t store.Token) error {
	t, err := check.Token(t, s.now())
	if err != nil {
		return fmt.Errorf("postgres: put token: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO tokens (id, hash, scopes, label, created_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		t.ID, t.Hash, encodeList(t.Scopes), t.Label, t.CreatedAt, t.RevokedAt)
	if err != nil {
		return s.fail(ctx, "put token", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: put token: %w: token id or hash exists", store.ErrConflict)
	}
	return nil
}

const tokenCols = `id, hash, scopes, label, created_at, revoked_at`

func scanToken(row pgx.Row) (store.Token, error) {
	var t store.Token
	var scopes string
	var revoked *time.Time
	if err := row.Scan(&t.ID, &t.Hash, &scopes, &t.Label, &t.CreatedAt, &revoked); err != nil {
		return store.Token{}, err
	}
	var err error
	if t.Scopes, err = decodeList(scopes); err != nil {
		return store.Token{}, err
	}
	t.CreatedAt = utc(t.CreatedAt)
	if revoked != nil {
		r := utc(*revoked)
		t.RevokedAt = &r
	}
	return t, nil
}

// TokenByHash implements store.Store.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	if err := check.Hash(hash); err != nil {
		return store.Token{}, fmt.Errorf("postgres: token: %w", err)
	}
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Token{}, fmt.Errorf("postgres: token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Token{}, s.fail(ctx, "token", err)
	}
	return t, nil
}

// Tokens implements store.Store.
func (s *Store) Tokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY seq`)
	if err != nil {
		return nil, s.fail(ctx, "tokens", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, s.fail(ctx, "tokens", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "tokens", err)
	}
	return out, nil
}

// RevokeToken implements store.Store.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	if err := check.ID("token id", id); err != nil {
		return fmt.Errorf("postgres: revoke token: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`,
		check.OrNow(at, s.now()), id)
	if err != nil {
		return s.fail(ctx, "revoke token", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: revoke token: %w", store.ErrNotFound)
	}
	return nil
}

// Audit implements store.Store.
func (s *Store) Audit(ctx context.Context, ev store.Event) error {
	ev, err := check.Event(ev, s.now())
	if err != nil {
		return fmt.Errorf("postgres: audit: %w", err)
	}
	if _, err := s.pool.Exec(ctx, insertEventSQL, eventArgs(ev)...); err != nil {
		return s.fail(ctx, "audit", err)
	}
	return nil
}

// AuditLog implements store.Store.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]store.Event, error) {
	limit, err := check.AuditLimit(limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: audit log: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT id, at, actor, action, kid, rid, card_types, detail
		FROM audit ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, s.fail(ctx, "audit log", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var ev store.Event
		var types string
		if err := rows.Scan(&ev.ID, &ev.Time, &ev.Actor, &ev.Action, &ev.Kid, &ev.RID, &types, &ev.Detail); err != nil {
			return nil, s.fail(ctx, "audit log", err)
		}
		ev.Time = utc(ev.Time)
		if ev.CardTypes, err = decodeList(types); err != nil {
			return nil, fmt.Errorf("postgres: audit log: %w", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "audit log", err)
	}
	return out, nil
}
