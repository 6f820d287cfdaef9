package bulk

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/healthcards/healthcards/internal/sqldb"
	"github.com/healthcards/healthcards/issuer"
)

// index is the run's spill store: every input record, keyed by patient, in
// a SQLite file under the output directory, so that grouping by patient
// never holds the input in memory. It also remembers which results are
// written (done), a cache of results.ndjson, which is the truth.
type index struct {
	db *sql.DB
}

const indexSchema = `
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pat(id TEXT PRIMARY KEY, json BLOB, src TEXT, dup INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS res(pid TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL, json BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS res_pid ON res(pid);
CREATE TABLE IF NOT EXISTS sup(type TEXT NOT NULL, id TEXT NOT NULL, json BLOB NOT NULL, PRIMARY KEY(type, id));
CREATE TABLE IF NOT EXISTS rec(key TEXT PRIMARY KEY, code TEXT NOT NULL, msg TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0);
`

func openIndex(ctx context.Context, path string) (*index, error) {
	db, err := sqldb.OpenSQLite(path, false)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	if _, err := db.ExecContext(ctx, indexSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("bulk: index %s: %w", path, err)
	}
	return &index{db: db}, nil
}

func (ix *index) Close() error { return ix.db.Close() }

func (ix *index) meta(ctx context.Context, k string) (string, error) {
	var v string
	err := ix.db.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = ?`, k).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func (ix *index) setMeta(ctx context.Context, k, v string) error {
	_, err := ix.db.ExecContext(ctx, `INSERT INTO meta(k, v) VALUES(?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`, k, v)
	return err
}

// loader writes records in transactions of loadBatch rows.
type loader struct {
	ctx context.Context
	tx  *sql.Tx
	n   int
	ix  *index
}

const loadBatch = 2000

func (l *loader) exec(q string, args ...any) error {
	if l.tx == nil {
		tx, err := l.ix.db.BeginTx(l.ctx, nil)
		if err != nil {
			return err
		}
		l.tx = tx
	}
	if _, err := l.tx.ExecContext(l.ctx, q, args...); err != nil {
		return err
	}
	l.n++
	if l.n >= loadBatch {
		return l.flush()
	}
	return nil
}

func (l *loader) flush() error {
	if l.tx == nil {
		return nil
	}
	err := l.tx.Commit()
	l.tx, l.n = nil, 0
	return err
}

func (l *loader) rollback() {
	if l.tx != nil {
		l.tx.Rollback()
		l.tx = nil
	}
}

func (l *loader) recordError(key string, code issuer.Code, msg string) error {
	return l.exec(`INSERT INTO rec(key, code, msg) VALUES(?, ?, ?) ON CONFLICT(key) DO NOTHING`, key, string(code), msg)
}

func (l *loader) patient(id, src string, raw []byte) error {
	return l.exec(`INSERT INTO pat(id, json, src) VALUES(?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET dup = CASE WHEN pat.json IS NULL THEN pat.dup ELSE 1 END, json = excluded.json, src = excluded.src`, id, raw, src)
}

func (l *loader) resource(pid, typ, id string, raw []byte) error {
	if err := l.exec(`INSERT INTO pat(id) VALUES(?) ON CONFLICT(id) DO NOTHING`, pid); err != nil {
		return err
	}
	return l.exec(`INSERT INTO res(pid, type, id, json) VALUES(?, ?, ?, ?)`, pid, typ, id, raw)
}

// supporting stores a shared resource; false if (type, id) was already there.
func (l *loader) supporting(typ, id string, raw []byte) (bool, error) {
	if l.tx == nil {
		if err := l.exec(`SELECT 1`); err != nil {
			return false, err
		}
	}
	r, err := l.tx.ExecContext(l.ctx, `INSERT INTO sup(type, id, json) VALUES(?, ?, ?) ON CONFLICT(type, id) DO NOTHING`, typ, id, raw)
	if err != nil {
		return false, err
	}
	n, _ := r.RowsAffected()
	l.n++
	if l.n >= loadBatch {
		if err := l.flush(); err != nil {
			return false, err
		}
	}
	return n == 1, nil
}

// pending is one patient to issue.
type pending struct {
	ID   string
	JSON []byte // nil: referenced, never sent
	Src  string
	Dup  bool
}

// nextPatients returns up to n patients after id "after" whose result is
// not written yet, in id order.
func (ix *index) nextPatients(ctx context.Context, after string, n int) ([]pending, error) {
	rows, err := ix.db.QueryContext(ctx, `SELECT id, json, src, dup FROM pat WHERE done = 0 AND id > ? ORDER BY id LIMIT ?`, after, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pending
	for rows.Next() {
		var p pending
		var src sql.NullString
		var dup int
		if err := rows.Scan(&p.ID, &p.JSON, &src, &dup); err != nil {
			return nil, err
		}
		p.Src, p.Dup = src.String, dup != 0
		out = append(out, p)
	}
	return out, rows.Err()
}

// resources returns a patient's records in input order. It stops reading
// as soon as the records' bytes pass maxBytes or their count passes
// issuer.MaxBundleEntries, and returns too_large: the bundle they would
// make is refused by IssueBundle anyway, so one patient with many large
// records never holds more than about maxBytes plus one record
// (MaxRecordBytes) in memory.
func (ix *index) resources(ctx context.Context, pid string, maxBytes int) ([]json.RawMessage, error) {
	rows, err := ix.db.QueryContext(ctx, `SELECT json FROM res WHERE pid = ? ORDER BY rowid`, pid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []json.RawMessage
	total := 0
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		total += len(b)
		if total > maxBytes {
			return nil, errf(CodeTooLarge, "Patient/%s has over %d bytes of records, more than one bundle holds", pid, maxBytes)
		}
		if len(out) >= issuer.MaxBundleEntries {
			return nil, errf(CodeTooLarge, "Patient/%s has over %d records, more than one bundle holds", pid, issuer.MaxBundleEntries)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// supportingResource returns a shared resource by "Type/id", or nil.
func (ix *index) supportingResource(ctx context.Context, ref string) (json.RawMessage, error) {
	typ, id, ok := strings.Cut(ref, "/")
	if !ok {
		return nil, nil
	}
	var b []byte
	err := ix.db.QueryRowContext(ctx, `SELECT json FROM sup WHERE type = ? AND id = ?`, typ, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return b, err
}

// recordErrors returns the record errors whose result is not written yet.
func (ix *index) recordErrors(ctx context.Context) ([]result, error) {
	rows, err := ix.db.QueryContext(ctx, `SELECT key, code, msg FROM rec WHERE done = 0 ORDER BY key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []result
	for rows.Next() {
		var key, code, msg string
		if err := rows.Scan(&key, &code, &msg); err != nil {
			return nil, err
		}
		out = append(out, result{Key: "record/" + key, Record: key, Status: StatusFailed, Outcome: outcome(issuer.Code(code), msg)})
	}
	return out, rows.Err()
}

// markDone records written results (patient or record keys).
func (ix *index) markDone(ctx context.Context, keys []string) error {
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, k := range keys {
		var q string
		if id, ok := strings.CutPrefix(k, "patient/"); ok {
			q, k = `UPDATE pat SET done = 1 WHERE id = ?`, id
		} else if r, ok := strings.CutPrefix(k, "record/"); ok {
			q, k = `UPDATE rec SET done = 1 WHERE key = ?`, r
		} else {
			continue
		}
		if _, err := tx.ExecContext(ctx, q, k); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// resetDone clears every done flag (before reconcile rebuilds them).
func (ix *index) resetDone(ctx context.Context) error {
	if _, err := ix.db.ExecContext(ctx, `UPDATE pat SET done = 0 WHERE done = 1`); err != nil {
		return err
	}
	_, err := ix.db.ExecContext(ctx, `UPDATE rec SET done = 0 WHERE done = 1`)
	return err
}

// counts returns the number of patients and record errors, and how many
// of them are done.
func (ix *index) counts(ctx context.Context) (total, done int, err error) {
	err = ix.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM pat) + (SELECT count(*) FROM rec),
		(SELECT count(*) FROM pat WHERE done = 1) + (SELECT count(*) FROM rec WHERE done = 1)`).Scan(&total, &done)
	return
}
