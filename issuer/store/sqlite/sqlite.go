package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/internal/check"
	"github.com/healthcards/healthcards/issuer/store/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// FileName is the database file created in the data directory.
const FileName = "issuer.db"

const (
	busyTimeout = 10 * time.Second
	maxReaders  = 4
)

// Store is the SQLite store.Store. It is safe for concurrent use within one
// process; all writes go through one connection.
type Store struct {
	path string
	w    *sql.DB // exactly one connection: every write is serialized here
	r    *sql.DB // read-only pool
	now  func() time.Time

	cardq      chan *cardReq // PutCard requests for the group-commit writer
	quit       chan struct{} // closed by Close
	writerDone chan struct{} // closed when cardWriter has returned
	closeOnce  sync.Once
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store in <dir>/issuer.db and applies
// pending migrations in one transaction. dir is created with mode 0700 (an
// existing one open to group or others is tightened to 0700); the database
// files are 0600.
func Open(ctx context.Context, dir string) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("sqlite: open: %w: empty data directory", store.ErrInvalid)
	}
	if err := prepareFiles(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	w, err := openDB(path, false)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{path: path, w: w, now: time.Now}
	if err := s.checkPragmas(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := openDB(path, true)
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(maxReaders)
	r.SetMaxIdleConns(maxReaders)
	s.r = r
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open readers: %w", err)
	}
	s.cardq = make(chan *cardReq)
	s.quit = make(chan struct{})
	s.writerDone = make(chan struct{})
	go s.cardWriter()
	return s, nil
}

// prepareFiles creates dir (0700) and the database file (0600) so SQLite
// never creates them with the process umask. SQLite gives the -wal and -shm
// files the database file's permissions.
func prepareFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sqlite: create data directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("sqlite: data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("sqlite: data directory %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("sqlite: restrict data directory to 0700: %w", err)
		}
	}
	for _, name := range []string{FileName, FileName + "-wal", FileName + "-shm"} {
		p := filepath.Join(dir, name)
		if name == FileName {
			f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				return fmt.Errorf("sqlite: create database file: %w", err)
			}
			f.Close()
		}
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlite: database file: %w", err)
		}
		if fi.Mode().Perm() != 0o600 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("sqlite: restrict %s to 0600: %w", name, err)
			}
		}
	}
	return nil
}

func openDB(path string, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// Write transactions take the write lock at BEGIN, so two
		// processes sharing the file never deadlock on lock upgrades.
		q.Set("_txlock", "immediate")
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	return db, nil
}

// checkPragmas makes sure the durability settings took effect.
func (s *Store) checkPragmas(ctx context.Context) error {
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return s.fail(ctx, "open", err)
	}
	var sync, fk int
	if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return s.fail(ctx, "open", err)
	}
	if err := s.w.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return s.fail(ctx, "open", err)
	}
	if mode != "wal" || sync != 2 || fk != 1 {
		return fmt.Errorf("sqlite: open: journal_mode=%s synchronous=%d foreign_keys=%d, want wal, 2 (FULL), 1", mode, sync, fk)
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(ctx, "migrate", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return s.fail(ctx, "migrate", err)
	}
	var current int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return s.fail(ctx, "migrate", err)
	}
	if last := ms[len(ms)-1].Version; current > last {
		return fmt.Errorf("sqlite: %w: version %d, this program knows up to %d", store.ErrSchemaTooNew, current, last)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return s.fail(ctx, "migrate "+m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.Version, m.Name, s.now().UnixMicro()); err != nil {
			return s.fail(ctx, "migrate "+m.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.fail(ctx, "migrate", err)
	}
	return nil
}

// Close stops the card writer (after its current batch) and closes the
// database. Calls after Close fail.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.quit)
		<-s.writerDone
		err = errors.Join(s.r.Close(), s.w.Close())
	})
	return err
}

// fail wraps a database error with the operation. A canceled or expired
// context is reported as such (SQLite reports it as an interrupt).
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("sqlite: %s: %w (%v)", op, cerr, err)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

func us(t time.Time) int64 { return t.UnixMicro() }

func fromUS(v int64) time.Time { return time.UnixMicro(v).UTC() }

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
		return fmt.Errorf("sqlite: put resources: %w", err)
	}
	now := check.Micro(s.now())
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(ctx, "put resources", err)
	}
	defer tx.Rollback()
	if patient != nil {
		_, err = tx.ExecContext(ctx, `INSERT INTO patients (id, resource) VALUES (?, ?)
			ON CONFLICT (id) DO UPDATE SET resource = excluded.resource`, patientID, []byte(patient))
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO patients (id) VALUES (?) ON CONFLICT (id) DO NOTHING`, patientID)
	}
	if err != nil {
		return s.fail(ctx, "put resources: patient", err)
	}
	if len(res) > 0 {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO resources (patient_id, type, id, res_date, updated_at, json)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (patient_id, type, id) DO UPDATE SET
				res_date = excluded.res_date, updated_at = excluded.updated_at, json = excluded.json`)
		if err != nil {
			return s.fail(ctx, "put resources", err)
		}
		defer stmt.Close()
		for i, r := range res {
			var date any
			if !r.Date.IsZero() {
				date = us(r.Date)
			}
			if _, err := stmt.ExecContext(ctx, patientID, r.Type, r.ID, date, us(now), []byte(r.JSON)); err != nil {
				return s.fail(ctx, fmt.Sprintf("put resources: resource %d", i), err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return s.fail(ctx, "put resources: commit", err)
	}
	return nil
}

// Patient implements store.Store.
func (s *Store) Patient(ctx context.Context, patientID string) (json.RawMessage, error) {
	var b []byte
	err := s.r.QueryRowContext(ctx, `SELECT resource FROM patients WHERE id = ? AND resource IS NOT NULL`, patientID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: patient: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, s.fail(ctx, "patient", err)
	}
	return json.RawMessage(b), nil
}

// Resources implements store.Store.
func (s *Store) Resources(ctx context.Context, patientID string, types []string, since time.Time) ([]store.Resource, error) {
	if err := check.Types(types); err != nil {
		return nil, fmt.Errorf("sqlite: resources: %w", err)
	}
	var sinceUS any // NULL: no lower bound
	if !since.IsZero() {
		sinceUS = us(check.Micro(since))
	}
	// Unknown dates (NULL) sort first and never match a since bound.
	rows, err := s.r.QueryContext(ctx, `SELECT type, id, res_date, updated_at, json FROM resources
		WHERE patient_id = ?1
		  AND (?2 = '[]' OR type IN (SELECT value FROM json_each(?2)))
		  AND (?3 IS NULL OR res_date >= ?3)
		ORDER BY res_date IS NOT NULL, res_date, type, id`, patientID, encodeList(types), sinceUS)
	if err != nil {
		return nil, s.fail(ctx, "resources", err)
	}
	defer rows.Close()
	var out []store.Resource
	for rows.Next() {
		r := store.Resource{PatientID: patientID}
		var date sql.NullInt64
		var updated int64
		var b []byte
		if err := rows.Scan(&r.Type, &r.ID, &date, &updated, &b); err != nil {
			return nil, s.fail(ctx, "resources", err)
		}
		if date.Valid {
			r.Date = fromUS(date.Int64)
		}
		r.Updated = fromUS(updated)
		r.JSON = b
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "resources", err)
	}
	return out, nil
}

func insertEvent(ctx context.Context, tx *sql.Tx, ev store.Event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit (at, actor, action, kid, rid, card_types, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, us(ev.Time), ev.Actor, ev.Action, ev.Kid, ev.RID, encodeList(ev.CardTypes), ev.Detail)
	return err
}

// PutCard implements store.Store. Concurrent calls are committed together
// (group commit): the writer goroutine takes every PutCard waiting at that
// moment into one transaction, each card and its event inside its own
// savepoint, so one fsync acknowledges them all and a failing card does not
// affect the others.
func (s *Store) PutCard(ctx context.Context, c store.IssuedCard, ev store.Event) error {
	now := s.now()
	c, err := check.Card(c, now)
	if err != nil {
		return fmt.Errorf("sqlite: put card: %w", err)
	}
	if ev, err = check.Event(ev, now); err != nil {
		return fmt.Errorf("sqlite: put card: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: put card: %w", err)
	}
	req := &cardReq{ctx: ctx, card: c, ev: ev, done: make(chan error, 1)}
	select {
	case s.cardq <- req:
	case <-ctx.Done():
		return fmt.Errorf("sqlite: put card: %w", ctx.Err())
	case <-s.quit:
		return fmt.Errorf("sqlite: put card: %w", errClosed)
	}
	// Once taken, the request is committed or refused as a whole: wait for
	// the outcome even if ctx ends, so the answer is never "maybe".
	return <-req.done
}

var errClosed = errors.New("store is closed")

// maxCardBatch bounds one group commit.
const maxCardBatch = 128

type cardReq struct {
	ctx  context.Context
	card store.IssuedCard
	ev   store.Event
	done chan error
}

// cardWriter runs until Close, committing PutCard requests in batches.
func (s *Store) cardWriter() {
	defer close(s.writerDone)
	for {
		var first *cardReq
		select {
		case first = <-s.cardq:
		case <-s.quit:
			return
		}
		batch := []*cardReq{first}
		// Let callers woken by the previous batch queue up again before
		// taking what is waiting; without this, batches alternate between
		// one card and all the others.
		runtime.Gosched()
	drain:
		for len(batch) < maxCardBatch {
			select {
			case r := <-s.cardq:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.writeCards(batch)
	}
}

func (s *Store) writeCards(batch []*cardReq) {
	errs := make([]error, len(batch))
	ctx, cancel := context.WithTimeout(context.Background(), 2*busyTimeout)
	defer cancel()
	err := func() error {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				errs[i] = fmt.Errorf("sqlite: put card: %w", err)
				continue
			}
			errs[i] = putCardSavepoint(ctx, tx, r.card, r.ev)
		}
		return tx.Commit()
	}()
	for i, r := range batch {
		switch {
		case errs[i] != nil:
			r.done <- errs[i]
		case err != nil:
			r.done <- s.fail(r.ctx, "put card: commit", err)
		default:
			r.done <- nil
		}
	}
}

// putCardSavepoint writes one card and its event inside a savepoint of tx,
// undoing both if either fails.
func putCardSavepoint(ctx context.Context, tx *sql.Tx, c store.IssuedCard, ev store.Event) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT card"); err != nil {
		return fmt.Errorf("sqlite: put card: %w", err)
	}
	err := func() error {
		res, err := tx.ExecContext(ctx, `INSERT INTO cards (id, patient_id, kid, rid, types, issued_at, jws)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			c.ID, c.PatientID, c.Kid, c.RID, encodeList(c.Types), us(c.IssuedAt), c.JWS)
		if err != nil {
			return fmt.Errorf("sqlite: put card: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: put card: %w", err)
		} else if n == 0 {
			return fmt.Errorf("sqlite: put card: %w: card id exists", store.ErrConflict)
		}
		if err := insertEvent(ctx, tx, ev); err != nil {
			return fmt.Errorf("sqlite: put card: audit: %w", err)
		}
		return nil
	}()
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO card"); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	if _, rerr := tx.ExecContext(ctx, "RELEASE card"); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// Card implements store.Store.
func (s *Store) Card(ctx context.Context, id string) (store.IssuedCard, error) {
	c := store.IssuedCard{ID: id}
	var types string
	var issued int64
	err := s.r.QueryRowContext(ctx, `SELECT patient_id, kid, rid, types, issued_at, jws FROM cards WHERE id = ?`, id).
		Scan(&c.PatientID, &c.Kid, &c.RID, &types, &issued, &c.JWS)
	if errors.Is(err, sql.ErrNoRows) {
		return store.IssuedCard{}, fmt.Errorf("sqlite: card: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.IssuedCard{}, s.fail(ctx, "card", err)
	}
	if c.Types, err = decodeList(types); err != nil {
		return store.IssuedCard{}, fmt.Errorf("sqlite: card: %w", err)
	}
	c.IssuedAt = fromUS(issued)
	return c, nil
}

// Revoke implements store.Store. The counter update, the entries and the
// audit event are one write transaction (BEGIN IMMEDIATE), committed with
// synchronous=FULL before it returns.
func (s *Store) Revoke(ctx context.Context, entries []store.RevocationEntry, ev store.Event) (int64, error) {
	ev, err := check.Revoke(entries, ev, s.now())
	if err != nil {
		return 0, fmt.Errorf("sqlite: revoke: %w", err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.fail(ctx, "revoke", err)
	}
	defer tx.Rollback()
	var ctr int64
	if err := tx.QueryRowContext(ctx, `UPDATE crl_counter SET ctr = ctr + 1 WHERE id = 1 RETURNING ctr`).Scan(&ctr); err != nil {
		return 0, s.fail(ctx, "revoke: counter", err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO revocations (kid, entry, ctr) VALUES (?, ?, ?)
		ON CONFLICT (kid, entry) DO NOTHING`)
	if err != nil {
		return 0, s.fail(ctx, "revoke", err)
	}
	defer stmt.Close()
	for _, e := range entries {
		if _, err := stmt.ExecContext(ctx, e.Kid, e.Entry, ctr); err != nil {
			return 0, s.fail(ctx, "revoke: entry", err)
		}
	}
	if err := insertEvent(ctx, tx, ev); err != nil {
		return 0, s.fail(ctx, "revoke: audit", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, s.fail(ctx, "revoke: commit", err)
	}
	return ctr, nil
}

// CRL implements store.Store. The counter and the entries come from one
// read snapshot.
func (s *Store) CRL(ctx context.Context, kid string) (store.CRL, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return store.CRL{}, s.fail(ctx, "crl", err)
	}
	defer tx.Rollback()
	c := store.CRL{Kid: kid, RIDs: []string{}}
	if err := tx.QueryRowContext(ctx, `SELECT ctr FROM crl_counter WHERE id = 1`).Scan(&c.Ctr); err != nil {
		return store.CRL{}, s.fail(ctx, "crl: counter", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT entry FROM revocations WHERE kid = ? ORDER BY seq`, kid)
	if err != nil {
		return store.CRL{}, s.fail(ctx, "crl", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return store.CRL{}, s.fail(ctx, "crl", err)
		}
		c.RIDs = append(c.RIDs, e)
	}
	if err := rows.Err(); err != nil {
		return store.CRL{}, s.fail(ctx, "crl", err)
	}
	return c, nil
}

// CRLVersion implements store.Store.
func (s *Store) CRLVersion(ctx context.Context) (int64, error) {
	var ctr int64
	if err := s.r.QueryRowContext(ctx, `SELECT ctr FROM crl_counter WHERE id = 1`).Scan(&ctr); err != nil {
		return 0, s.fail(ctx, "crl version", err)
	}
	return ctr, nil
}

// PutToken implements store.Store.
func (s *Store) PutToken(ctx context.Context, t store.Token) error {
	t, err := check.Token(t, s.now())
	if err != nil {
		return fmt.Errorf("sqlite: put token: %w", err)
	}
	var revoked any
	if t.RevokedAt != nil {
		revoked = us(*t.RevokedAt)
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO tokens (id, hash, scopes, label, created_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		t.ID, t.Hash, encodeList(t.Scopes), t.Label, us(t.CreatedAt), revoked)
	if err != nil {
		return s.fail(ctx, "put token", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.fail(ctx, "put token", err)
	} else if n == 0 {
		return fmt.Errorf("sqlite: put token: %w: token id or hash exists", store.ErrConflict)
	}
	return nil
}

const tokenCols = `id, hash, scopes, label, created_at, revoked_at`

func scanToken(sc interface{ Scan(...any) error }) (store.Token, error) {
	var t store.Token
	var scopes string
	var created int64
	var revoked sql.NullInt64
	if err := sc.Scan(&t.ID, &t.Hash, &scopes, &t.Label, &created, &revoked); err != nil {
		return store.Token{}, err
	}
	var err error
	if t.Scopes, err = decodeList(scopes); err != nil {
		return store.Token{}, err
	}
	t.CreatedAt = fromUS(created)
	if revoked.Valid {
		r := fromUS(revoked.Int64)
		t.RevokedAt = &r
	}
	return t, nil
}

// TokenByHash implements store.Store.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	if err := check.Hash(hash); err != nil {
		return store.Token{}, fmt.Errorf("sqlite: token: %w", err)
	}
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, fmt.Errorf("sqlite: token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Token{}, s.fail(ctx, "token", err)
	}
	return t, nil
}

// Tokens implements store.Store.
func (s *Store) Tokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY seq`)
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
		return fmt.Errorf("sqlite: revoke token: %w", err)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`,
		us(check.OrNow(at, s.now())), id)
	if err != nil {
		return s.fail(ctx, "revoke token", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.fail(ctx, "revoke token", err)
	} else if n == 0 {
		return fmt.Errorf("sqlite: revoke token: %w", store.ErrNotFound)
	}
	return nil
}

// Audit implements store.Store.
func (s *Store) Audit(ctx context.Context, ev store.Event) error {
	ev, err := check.Event(ev, s.now())
	if err != nil {
		return fmt.Errorf("sqlite: audit: %w", err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(ctx, "audit", err)
	}
	defer tx.Rollback()
	if err := insertEvent(ctx, tx, ev); err != nil {
		return s.fail(ctx, "audit", err)
	}
	if err := tx.Commit(); err != nil {
		return s.fail(ctx, "audit: commit", err)
	}
	return nil
}

// AuditLog implements store.Store.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]store.Event, error) {
	limit, err := check.AuditLimit(limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit log: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, actor, action, kid, rid, card_types, detail
		FROM audit ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, s.fail(ctx, "audit log", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var ev store.Event
		var at int64
		var types string
		if err := rows.Scan(&ev.ID, &at, &ev.Actor, &ev.Action, &ev.Kid, &ev.RID, &types, &ev.Detail); err != nil {
			return nil, s.fail(ctx, "audit log", err)
		}
		ev.Time = fromUS(at)
		if ev.CardTypes, err = decodeList(types); err != nil {
			return nil, fmt.Errorf("sqlite: audit log: %w", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "audit log", err)
	}
	return out, nil
}
