package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/healthcards/healthcards/internal/sqldb"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/internal/check"
)

//go:embed migrations
var migrationFS embed.FS

// FileName is the SQLite database file created in the data directory.
const FileName = "issuer.db"

const (
	maxReaders = 4
	// maxInsertRows bounds the rows of one multi-row INSERT: at most 3,000
	// placeholders, under both databases' limits.
	maxInsertRows = 500
)

// Store implements every interface of package store (store.Store) on
// database/sql, for SQLite and PostgreSQL. It is safe for concurrent use.
type Store struct {
	d        sqldb.Dialect
	w        *sql.DB // writes; on SQLite exactly one connection
	r        *sql.DB // reads; on SQLite a read-only pool, on PostgreSQL w
	snapshot sql.TxOptions
	now      func() time.Time

	// Group commit of PutCard (SQLite only; nil cardq on PostgreSQL).
	cardq      chan *cardReq // requests for the card writer
	quit       chan struct{} // closed by Close
	writerDone chan struct{} // closed when cardWriter has returned
	closeOnce  sync.Once
}

var _ store.Store = (*Store)(nil)

// OpenSQLite opens (creating if needed) the store in <dir>/issuer.db and
// applies pending migrations in one transaction. dir is created with mode
// 0700 (an existing one open to group or others is tightened to 0700); the
// database files are 0600.
func OpenSQLite(ctx context.Context, dir string) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("sqlstore: open: %w: empty data directory", store.ErrInvalid)
	}
	if err := prepareFiles(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	w, err := sqldb.OpenSQLite(path, false)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	// One writer: SQLite allows one anyway, and the group commit relies on
	// every write going through this connection.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{d: sqldb.SQLite, w: w, now: time.Now, snapshot: sql.TxOptions{ReadOnly: true}}
	if err := sqldb.CheckSQLite(ctx, w); err != nil {
		w.Close()
		return nil, fail(ctx, "open", err)
	}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sqldb.OpenSQLite(path, true)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	r.SetMaxOpenConns(maxReaders)
	r.SetMaxIdleConns(maxReaders)
	s.r = r
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fail(ctx, "open readers", err)
	}
	s.cardq = make(chan *cardReq)
	s.quit = make(chan struct{})
	s.writerDone = make(chan struct{})
	go s.cardWriter()
	return s, nil
}

// OpenPostgres connects to dsn (a libpq URL or key=value string;
// pool_max_conns sets the pool size) and applies pending migrations under
// an advisory lock, so replicas starting together migrate once. The tables
// live in the connection's current schema (set search_path in dsn to pick
// another).
func OpenPostgres(ctx context.Context, dsn string) (*Store, error) {
	db, err := sqldb.OpenPostgres(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w: %v", store.ErrInvalid, err)
	}
	s := &Store{d: sqldb.PostgreSQL, w: db, r: db, now: time.Now,
		snapshot: sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fail(ctx, "open: connect", err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// prepareFiles creates dir (0700) and the database file (0600) so SQLite
// never creates them with the process umask. SQLite gives the -wal and -shm
// files the database file's permissions.
func prepareFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sqlstore: create data directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("sqlstore: data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("sqlstore: data directory %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("sqlstore: restrict data directory to 0700: %w", err)
		}
	}
	for _, name := range []string{FileName, FileName + "-wal", FileName + "-shm"} {
		p := filepath.Join(dir, name)
		if name == FileName {
			f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				return fmt.Errorf("sqlstore: create database file: %w", err)
			}
			f.Close()
		}
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlstore: database file: %w", err)
		}
		if fi.Mode().Perm() != 0o600 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("sqlstore: restrict %s to 0600: %w", name, err)
			}
		}
	}
	return nil
}

// migrate applies the embedded migrations of the store's dialect. The
// table of applied versions keeps the layout release 1 created: the
// applied time is INTEGER microseconds in SQLite and TIMESTAMPTZ in
// PostgreSQL.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := sqldb.Load(migrationFS, "migrations/"+s.d.String())
	if err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	create := `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`
	if s.d == sqldb.PostgreSQL {
		create = `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    BIGINT PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL
		)`
	}
	err = sqldb.Migrate(ctx, s.w, sqldb.Schema{
		Dialect: s.d,
		Lock:    "healthcards/issuer/store migrations",
		Table:   "schema_migrations",
		Create:  create,
		Record:  `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		Args: func(m sqldb.Migration, at time.Time) []any {
			return []any{m.Version, m.Name, s.tm(at)}
		},
		Migrations: ms,
		TooNew:     store.ErrSchemaTooNew,
	}, s.now())
	if err != nil {
		return fail(ctx, "migrate", err)
	}
	if err := s.indexNames(ctx); err != nil {
		return fail(ctx, "migrate: index patient names", err)
	}
	return nil
}

// Close stops the card writer (after its current batch) and closes the
// database handles. Calls after Close fail.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.quit != nil {
			close(s.quit)
			<-s.writerDone
		}
		err = s.w.Close()
		if s.r != s.w {
			err = errors.Join(s.r.Close(), err)
		}
	})
	return err
}

// fail wraps a database error with the operation. A canceled or expired
// context is made visible to errors.Is (SQLite reports it as an
// interrupt). PostgreSQL error texts carry the message and SQLSTATE, not
// the Detail that can quote row values.
func fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("sqlstore: %s: %w (%v)", op, cerr, err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// q rewrites a statement's placeholders for the dialect.
func (s *Store) q(query string) string { return s.d.Rebind(query) }

// tm is a time as the dialect's time columns hold it: INTEGER Unix
// microseconds in SQLite, TIMESTAMPTZ in PostgreSQL.
func (s *Store) tm(t time.Time) any {
	t = check.Micro(t)
	if s.d == sqldb.SQLite {
		return t.UnixMicro()
	}
	return t
}

// tmOrNull is tm, or NULL for the zero time.
func (s *Store) tmOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.tm(t)
}

// timeCol scans a time column of either dialect; valid is false for NULL.
type timeCol struct {
	t     time.Time
	valid bool
}

func (c *timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		c.t, c.valid = time.Time{}, false
	case int64:
		c.t, c.valid = time.UnixMicro(v).UTC(), true
	case time.Time:
		c.t, c.valid = v.UTC(), true
	default:
		return fmt.Errorf("stored time of type %T", src)
	}
	return nil
}

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

// PutResources implements store.PatientStore: the patient row, then the
// resources in multi-row upserts, in one transaction.
func (s *Store) PutResources(ctx context.Context, patientID string, patient json.RawMessage, res []store.Resource) error {
	res, err := check.PutResources(patientID, patient, res)
	if err != nil {
		return fmt.Errorf("sqlstore: put resources: %w", err)
	}
	res = lastOfEach(res)
	updated := s.tm(s.now())
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(ctx, "put resources", err)
	}
	defer tx.Rollback()
	if patient != nil {
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO patients (id, resource) VALUES (?, ?)
			ON CONFLICT (id) DO UPDATE SET resource = excluded.resource`), patientID, []byte(patient))
	} else {
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO patients (id) VALUES (?) ON CONFLICT (id) DO NOTHING`), patientID)
	}
	if err != nil {
		return fail(ctx, "put resources: patient", err)
	}
	if patient != nil {
		if err := s.putNames(ctx, tx, patientID, patient); err != nil {
			return fail(ctx, "put resources: names", err)
		}
	}
	for len(res) > 0 {
		n := min(len(res), maxInsertRows)
		args := make([]any, 0, 6*n)
		for _, r := range res[:n] {
			args = append(args, patientID, r.Type, r.ID, s.tmOrNull(r.Date), updated, []byte(r.JSON))
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO resources (patient_id, type, id, res_date, updated_at, json)
			VALUES `+sqldb.Values(n, 6)+`
			ON CONFLICT (patient_id, type, id) DO UPDATE SET
				res_date = excluded.res_date, updated_at = excluded.updated_at, json = excluded.json`), args...); err != nil {
			return fail(ctx, "put resources", err)
		}
		res = res[n:]
	}
	if err := tx.Commit(); err != nil {
		return fail(ctx, "put resources: commit", err)
	}
	return nil
}

// lastOfEach keeps the last of resources with the same (Type, ID), so one
// upsert statement never touches a row twice.
func lastOfEach(res []store.Resource) []store.Resource {
	type key struct{ typ, id string }
	at := make(map[key]int, len(res))
	out := res[:0:0]
	for _, r := range res {
		k := key{r.Type, r.ID}
		if i, ok := at[k]; ok {
			out[i] = r
			continue
		}
		at[k] = len(out)
		out = append(out, r)
	}
	return out
}

// Patient implements store.PatientStore.
func (s *Store) Patient(ctx context.Context, patientID string) (json.RawMessage, error) {
	var b []byte
	err := s.r.QueryRowContext(ctx, s.q(`SELECT resource FROM patients WHERE id = ? AND resource IS NOT NULL`), patientID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: patient: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fail(ctx, "patient", err)
	}
	return json.RawMessage(b), nil
}

// Resources implements store.PatientStore.
func (s *Store) Resources(ctx context.Context, patientID string, types []string, since time.Time) ([]store.Resource, error) {
	if err := check.Types(types); err != nil {
		return nil, fmt.Errorf("sqlstore: resources: %w", err)
	}
	query := `SELECT type, id, res_date, updated_at, json FROM resources WHERE patient_id = ?`
	args := []any{patientID}
	if len(types) > 0 {
		query += ` AND type IN (` + strings.Repeat("?, ", len(types)-1) + `?)`
		for _, t := range types {
			args = append(args, t)
		}
	}
	if !since.IsZero() {
		query += ` AND res_date >= ?`
		args = append(args, s.tm(since))
	}
	// Unknown dates (NULL) sort first and never match a since bound.
	rows, err := s.r.QueryContext(ctx, s.q(query+` ORDER BY res_date IS NOT NULL, res_date, type, id`), args...)
	if err != nil {
		return nil, fail(ctx, "resources", err)
	}
	defer rows.Close()
	var out []store.Resource
	for rows.Next() {
		r := store.Resource{PatientID: patientID}
		var date, updated timeCol
		var b []byte
		if err := rows.Scan(&r.Type, &r.ID, &date, &updated, &b); err != nil {
			return nil, fail(ctx, "resources", err)
		}
		r.Date, r.Updated, r.JSON = date.t, updated.t, b
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, "resources", err)
	}
	return out, nil
}

// execer is a *sql.DB or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Store) insertEvent(ctx context.Context, tx execer, ev store.Event) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO audit (at, actor, action, kid, rid, card_types, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), s.tm(ev.Time), ev.Actor, ev.Action, ev.Kid, ev.RID, encodeList(ev.CardTypes), ev.Detail)
	return err
}

// PutCard implements store.CardStore. On SQLite concurrent calls are
// committed together (group commit, see cardWriter); on PostgreSQL each
// call is its own transaction, so replicas never wait on one writer.
func (s *Store) PutCard(ctx context.Context, c store.IssuedCard, ev store.Event) error {
	now := s.now()
	c, err := check.Card(c, now)
	if err != nil {
		return fmt.Errorf("sqlstore: put card: %w", err)
	}
	if ev, err = check.Event(ev, now); err != nil {
		return fmt.Errorf("sqlstore: put card: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlstore: put card: %w", err)
	}
	if s.cardq != nil {
		return s.queueCard(ctx, c, ev)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(ctx, "put card", err)
	}
	defer tx.Rollback()
	if err := s.putCard(ctx, tx, c, ev); err != nil {
		return fail(ctx, "put card", err)
	}
	if err := tx.Commit(); err != nil {
		return fail(ctx, "put card: commit", err)
	}
	return nil
}

// PutCards implements issuer.CardBatchStore: the cards of one issuance
// (a patient's granular split) and their events in one transaction, all or
// none. A card id that exists (ErrConflict) writes nothing, so of two
// replicas storing the same idempotent cards at once, one stores every
// card and the other none: a reader never finds part of a set. Used
// instead of PutCard by issuer.Issuer when the store offers it.
func (s *Store) PutCards(ctx context.Context, cards []store.IssuedCard, evs []store.Event) error {
	if len(cards) != len(evs) || len(cards) == 0 {
		return fmt.Errorf("sqlstore: put cards: %w: %d cards, %d events", store.ErrInvalid, len(cards), len(evs))
	}
	now := s.now()
	cs := make([]store.IssuedCard, len(cards))
	es := make([]store.Event, len(evs))
	for i := range cards {
		var err error
		if cs[i], err = check.Card(cards[i], now); err != nil {
			return fmt.Errorf("sqlstore: put cards: %w", err)
		}
		if es[i], err = check.Event(evs[i], now); err != nil {
			return fmt.Errorf("sqlstore: put cards: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlstore: put cards: %w", err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(ctx, "put cards", err)
	}
	defer tx.Rollback()
	for i := range cs {
		if err := s.putCard(ctx, tx, cs[i], es[i]); err != nil {
			return fail(ctx, "put cards", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(ctx, "put cards: commit", err)
	}
	return nil
}

// putCard writes one card and its event in tx (ErrConflict if the card id
// exists).
func (s *Store) putCard(ctx context.Context, tx *sql.Tx, c store.IssuedCard, ev store.Event) error {
	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO cards (id, patient_id, kid, rid, types, issued_at, jws)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`),
		c.ID, c.PatientID, c.Kid, c.RID, encodeList(c.Types), s.tm(c.IssuedAt), c.JWS)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("%w: card id exists", store.ErrConflict)
	}
	if err := s.insertEvent(ctx, tx, ev); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// Card implements store.CardStore.
func (s *Store) Card(ctx context.Context, id string) (store.IssuedCard, error) {
	c := store.IssuedCard{ID: id}
	var types string
	var issued timeCol
	err := s.r.QueryRowContext(ctx, s.q(`SELECT patient_id, kid, rid, types, issued_at, jws FROM cards WHERE id = ?`), id).
		Scan(&c.PatientID, &c.Kid, &c.RID, &types, &issued, &c.JWS)
	if errors.Is(err, sql.ErrNoRows) {
		return store.IssuedCard{}, fmt.Errorf("sqlstore: card: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.IssuedCard{}, fail(ctx, "card", err)
	}
	if c.Types, err = decodeList(types); err != nil {
		return store.IssuedCard{}, fmt.Errorf("sqlstore: card: %w", err)
	}
	c.IssuedAt = issued.t
	return c, nil
}

// Revoke implements store.RevocationStore. The transaction first
// increments the counter row: SQLite's write lock (BEGIN IMMEDIATE) or
// PostgreSQL's row lock then holds every other revocation, also from other
// processes or replicas, until commit, so none loses an increment and
// entries get their seq in counter order. The entries and the audit event
// commit with it (synchronous=FULL on SQLite).
func (s *Store) Revoke(ctx context.Context, entries []store.RevocationEntry, ev store.Event) (int64, error) {
	ev, err := check.Revoke(entries, ev, s.now())
	if err != nil {
		return 0, fmt.Errorf("sqlstore: revoke: %w", err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fail(ctx, "revoke", err)
	}
	defer tx.Rollback()
	var ctr int64
	if err := tx.QueryRowContext(ctx, `UPDATE crl_counter SET ctr = ctr + 1 WHERE id = 1 RETURNING ctr`).Scan(&ctr); err != nil {
		return 0, fail(ctx, "revoke: counter", err)
	}
	for rest := entries; len(rest) > 0; {
		n := min(len(rest), maxInsertRows)
		args := make([]any, 0, 3*n)
		for _, e := range rest[:n] {
			args = append(args, e.Kid, e.Entry, ctr)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO revocations (kid, entry, ctr) VALUES `+sqldb.Values(n, 3)+`
			ON CONFLICT (kid, entry) DO NOTHING`), args...); err != nil {
			return 0, fail(ctx, "revoke: entries", err)
		}
		rest = rest[n:]
	}
	if err := s.insertEvent(ctx, tx, ev); err != nil {
		return 0, fail(ctx, "revoke: audit", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fail(ctx, "revoke: commit", err)
	}
	return ctr, nil
}

// CRL implements store.RevocationStore. The counter and the entries come
// from one read snapshot.
func (s *Store) CRL(ctx context.Context, kid string) (store.CRL, error) {
	tx, err := s.r.BeginTx(ctx, &s.snapshot)
	if err != nil {
		return store.CRL{}, fail(ctx, "crl", err)
	}
	defer tx.Rollback()
	c := store.CRL{Kid: kid, RIDs: []string{}}
	if err := tx.QueryRowContext(ctx, `SELECT ctr FROM crl_counter WHERE id = 1`).Scan(&c.Ctr); err != nil {
		return store.CRL{}, fail(ctx, "crl: counter", err)
	}
	rows, err := tx.QueryContext(ctx, s.q(`SELECT entry FROM revocations WHERE kid = ? ORDER BY seq`), kid)
	if err != nil {
		return store.CRL{}, fail(ctx, "crl", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return store.CRL{}, fail(ctx, "crl", err)
		}
		c.RIDs = append(c.RIDs, e)
	}
	if err := rows.Err(); err != nil {
		return store.CRL{}, fail(ctx, "crl", err)
	}
	return c, nil
}

// CRLVersion implements store.RevocationStore.
func (s *Store) CRLVersion(ctx context.Context) (int64, error) {
	var ctr int64
	if err := s.r.QueryRowContext(ctx, `SELECT ctr FROM crl_counter WHERE id = 1`).Scan(&ctr); err != nil {
		return 0, fail(ctx, "crl version", err)
	}
	return ctr, nil
}

// PutToken implements store.TokenStore.
func (s *Store) PutToken(ctx context.Context, t store.Token) error {
	t, err := check.Token(t, s.now())
	if err != nil {
		return fmt.Errorf("sqlstore: put token: %w", err)
	}
	var revoked any
	if t.RevokedAt != nil {
		revoked = s.tm(*t.RevokedAt)
	}
	res, err := s.w.ExecContext(ctx, s.q(`INSERT INTO tokens (id, hash, scopes, label, created_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		t.ID, t.Hash, encodeList(t.Scopes), t.Label, s.tm(t.CreatedAt), revoked)
	if err != nil {
		return fail(ctx, "put token", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fail(ctx, "put token", err)
	} else if n == 0 {
		return fmt.Errorf("sqlstore: put token: %w: token id or hash exists", store.ErrConflict)
	}
	return nil
}

const tokenCols = `id, hash, scopes, label, created_at, revoked_at`

func scanToken(sc interface{ Scan(...any) error }) (store.Token, error) {
	var t store.Token
	var scopes string
	var created, revoked timeCol
	if err := sc.Scan(&t.ID, &t.Hash, &scopes, &t.Label, &created, &revoked); err != nil {
		return store.Token{}, err
	}
	var err error
	if t.Scopes, err = decodeList(scopes); err != nil {
		return store.Token{}, err
	}
	t.CreatedAt = created.t
	if revoked.valid {
		t.RevokedAt = &revoked.t
	}
	return t, nil
}

// TokenByHash implements store.TokenStore.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	if err := check.Hash(hash); err != nil {
		return store.Token{}, fmt.Errorf("sqlstore: token: %w", err)
	}
	t, err := scanToken(s.r.QueryRowContext(ctx, s.q(`SELECT `+tokenCols+` FROM tokens WHERE hash = ?`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, fmt.Errorf("sqlstore: token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Token{}, fail(ctx, "token", err)
	}
	return t, nil
}

// Tokens implements store.TokenStore.
func (s *Store) Tokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY seq`)
	if err != nil {
		return nil, fail(ctx, "tokens", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fail(ctx, "tokens", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, "tokens", err)
	}
	return out, nil
}

// RevokeToken implements store.TokenStore.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	if err := check.ID("token id", id); err != nil {
		return fmt.Errorf("sqlstore: revoke token: %w", err)
	}
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`),
		s.tm(check.OrNow(at, s.now())), id)
	if err != nil {
		return fail(ctx, "revoke token", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fail(ctx, "revoke token", err)
	} else if n == 0 {
		return fmt.Errorf("sqlstore: revoke token: %w", store.ErrNotFound)
	}
	return nil
}

// Audit implements store.AuditStore.
func (s *Store) Audit(ctx context.Context, ev store.Event) error {
	ev, err := check.Event(ev, s.now())
	if err != nil {
		return fmt.Errorf("sqlstore: audit: %w", err)
	}
	if err := s.insertEvent(ctx, s.w, ev); err != nil {
		return fail(ctx, "audit", err)
	}
	return nil
}

// AuditLog implements store.AuditStore.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]store.Event, error) {
	limit, err := check.AuditLimit(limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: audit log: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, at, actor, action, kid, rid, card_types, detail
		FROM audit ORDER BY id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, fail(ctx, "audit log", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var ev store.Event
		var at timeCol
		var types string
		if err := rows.Scan(&ev.ID, &at, &ev.Actor, &ev.Action, &ev.Kid, &ev.RID, &types, &ev.Detail); err != nil {
			return nil, fail(ctx, "audit log", err)
		}
		ev.Time = at.t
		if ev.CardTypes, err = decodeList(types); err != nil {
			return nil, fmt.Errorf("sqlstore: audit log: %w", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, "audit log", err)
	}
	return out, nil
}
