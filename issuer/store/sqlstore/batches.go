package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/healthcards/healthcards/internal/sqldb"
	"github.com/healthcards/healthcards/issuer/store"
)

// Batch is one registry-scale batch (package issuer/bulk) as the database
// keeps it, so that every replica answers for it and any replica can run
// it. Times are truncated to microseconds.
type Batch struct {
	ID      string
	Owner   string // the submitting actor
	Created time.Time
	Options string // the run's options, JSON written by issuer/bulk
	Status  string // BatchUploading, then issuer/bulk's queued, running, done, failed
	Phase   string
	Error   string
	// Counters: Total results the run will write (known after indexing);
	// Done results recorded; Issued, Failed and Cards summed over them.
	Total, Done, Issued, Failed, Cards int64
	// The lease: the replica running the batch and until when.
	LeaseOwner string
	LeaseUntil time.Time
	Attempts   int
}

// BatchUploading is the status of a batch whose input is still being
// stored: no replica claims it.
const BatchUploading = "uploading"

// BatchResult is one result line to record.
type BatchResult struct {
	Key    string // "patient/ID" or "record/FILE:LINE": recorded once per batch
	Line   string // the JSON line
	Issued bool
	Cards  int
}

// BatchChunk names one stored piece of a batch's input.
type BatchChunk struct {
	Name  string
	Chunk int
}

// MaxBatchChunk is the largest piece of input PutBatchInput stores.
const MaxBatchChunk = 1 << 20

// CreateBatch stores a new batch (ErrConflict if the id exists).
func (s *Store) CreateBatch(ctx context.Context, b Batch) error {
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO bulk_batches (id, owner, created, options, status) VALUES (?, ?, ?, ?, ?)`),
		b.ID, b.Owner, s.tm(b.Created), b.Options, b.Status)
	if err != nil {
		if _, gerr := s.Batch(ctx, b.ID); gerr == nil {
			return fmt.Errorf("sqlstore: create batch: %w", store.ErrConflict)
		}
		return fail(ctx, "create batch", err)
	}
	return nil
}

// PutBatchInput stores one piece (at most MaxBatchChunk bytes) of an
// uploading batch's input file.
func (s *Store) PutBatchInput(ctx context.Context, id, name string, chunk int, data []byte) error {
	if len(data) > MaxBatchChunk {
		return fmt.Errorf("sqlstore: batch input: %w: piece over %d bytes", store.ErrInvalid, MaxBatchChunk)
	}
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO bulk_inputs (batch_id, name, chunk, data) VALUES (?, ?, ?, ?)`), id, name, chunk, data)
	if err != nil {
		return fail(ctx, "batch input", err)
	}
	return nil
}

// QueueBatch moves an uploaded batch to status (queued): replicas may
// claim it from now on.
func (s *Store) QueueBatch(ctx context.Context, id, status string) error {
	_, err := s.w.ExecContext(ctx, s.q(`UPDATE bulk_batches SET status = ? WHERE id = ? AND status = ?`), status, id, BatchUploading)
	if err != nil {
		return fail(ctx, "queue batch", err)
	}
	return nil
}

// DeleteBatch removes a batch with its input and results.
func (s *Store) DeleteBatch(ctx context.Context, id string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(ctx, "delete batch", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM bulk_results WHERE batch_id = ?`, `DELETE FROM bulk_inputs WHERE batch_id = ?`, `DELETE FROM bulk_batches WHERE id = ?`} {
		if _, err := tx.ExecContext(ctx, s.q(q), id); err != nil {
			return fail(ctx, "delete batch", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(ctx, "delete batch", err)
	}
	return nil
}

// BatchInputs lists the pieces of a batch's input, by name and order.
func (s *Store) BatchInputs(ctx context.Context, id string) ([]BatchChunk, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT name, chunk FROM bulk_inputs WHERE batch_id = ? ORDER BY name, chunk`), id)
	if err != nil {
		return nil, fail(ctx, "batch inputs", err)
	}
	defer rows.Close()
	var out []BatchChunk
	for rows.Next() {
		var c BatchChunk
		if err := rows.Scan(&c.Name, &c.Chunk); err != nil {
			return nil, fail(ctx, "batch inputs", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, "batch inputs", err)
	}
	return out, nil
}

// BatchInput returns one piece of a batch's input.
func (s *Store) BatchInput(ctx context.Context, id string, c BatchChunk) ([]byte, error) {
	var b []byte
	err := s.r.QueryRowContext(ctx, s.q(`SELECT data FROM bulk_inputs WHERE batch_id = ? AND name = ? AND chunk = ?`), id, c.Name, c.Chunk).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: batch input: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fail(ctx, "batch input", err)
	}
	return b, nil
}

const batchCols = `id, owner, created, options, status, phase, error, total, done, issued, failed, cards, lease_owner, lease_until, attempts`

func scanBatch(sc interface{ Scan(...any) error }) (Batch, error) {
	var b Batch
	var created, until timeCol
	err := sc.Scan(&b.ID, &b.Owner, &created, &b.Options, &b.Status, &b.Phase, &b.Error, &b.Total, &b.Done, &b.Issued,
		&b.Failed, &b.Cards, &b.LeaseOwner, &until, &b.Attempts)
	b.Created, b.LeaseUntil = created.t, until.t
	return b, err
}

// Batch returns a batch (ErrNotFound if none has the id).
func (s *Store) Batch(ctx context.Context, id string) (Batch, error) {
	b, err := scanBatch(s.r.QueryRowContext(ctx, s.q(`SELECT `+batchCols+` FROM bulk_batches WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Batch{}, fmt.Errorf("sqlstore: batch: %w", store.ErrNotFound)
	}
	if err != nil {
		return Batch{}, fail(ctx, "batch", err)
	}
	return b, nil
}

// Now is the database's clock, which batch leases are written and
// compared with (bulk.Manager), so that replicas need no clock agreement:
// now() on PostgreSQL; on SQLite, where one process owns the store, this
// process's clock.
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	if s.d != sqldb.PostgreSQL {
		return time.Now(), nil
	}
	var t time.Time
	if err := s.r.QueryRowContext(ctx, `SELECT now()`).Scan(&t); err != nil {
		return time.Time{}, fail(ctx, "database clock", err)
	}
	return t, nil
}

// ClaimableBatches returns up to limit ids of batches in one of statuses
// whose lease is free or ended before now, oldest first.
func (s *Store) ClaimableBatches(ctx context.Context, statuses [2]string, now time.Time, limit int) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id FROM bulk_batches WHERE status IN (?, ?)
		AND (lease_owner = '' OR lease_until IS NULL OR lease_until < ?) ORDER BY created, id LIMIT ?`),
		statuses[0], statuses[1], s.tm(now), limit)
	if err != nil {
		return nil, fail(ctx, "claimable batches", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fail(ctx, "claimable batches", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, "claimable batches", err)
	}
	return out, nil
}

// ClaimBatch takes the lease of a batch in status from[0] or from[1] for
// owner until until, if it is free or ended before now, and sets its
// status to running: one conditional UPDATE, so of replicas racing for a
// batch exactly one gets true.
func (s *Store) ClaimBatch(ctx context.Context, id, owner, running string, from [2]string, now, until time.Time) (bool, error) {
	r, err := s.w.ExecContext(ctx, s.q(`UPDATE bulk_batches SET lease_owner = ?, lease_until = ?, status = ?, attempts = attempts + 1
		WHERE id = ? AND status IN (?, ?) AND (lease_owner = '' OR lease_until IS NULL OR lease_until < ?)`),
		owner, s.tm(until), running, id, from[0], from[1], s.tm(now))
	if err != nil {
		return false, fail(ctx, "claim batch", err)
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

// RenewBatch extends owner's lease; false when owner no longer holds it
// (it ended and another replica took the batch, or the batch finished).
func (s *Store) RenewBatch(ctx context.Context, id, owner string, until time.Time) (bool, error) {
	r, err := s.w.ExecContext(ctx, s.q(`UPDATE bulk_batches SET lease_until = ? WHERE id = ? AND lease_owner = ?`), s.tm(until), id, owner)
	if err != nil {
		return false, fail(ctx, "renew batch lease", err)
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

// ReleaseBatch gives up owner's lease at once (a replica shutting down),
// so that another replica may resume the batch without waiting for it to
// end.
func (s *Store) ReleaseBatch(ctx context.Context, id, owner string) error {
	_, err := s.w.ExecContext(ctx, s.q(`UPDATE bulk_batches SET lease_owner = '', lease_until = NULL WHERE id = ? AND lease_owner = ?`), id, owner)
	if err != nil {
		return fail(ctx, "release batch", err)
	}
	return nil
}

// SetBatchPhase records the phase (and, when total ≥ 0, the total) of
// owner's running batch.
func (s *Store) SetBatchPhase(ctx context.Context, id, owner, phase string, total int64) error {
	q, args := `UPDATE bulk_batches SET phase = ? WHERE id = ? AND lease_owner = ?`, []any{phase, id, owner}
	if total >= 0 {
		q, args = `UPDATE bulk_batches SET phase = ?, total = ? WHERE id = ? AND lease_owner = ?`, []any{phase, total, id, owner}
	}
	if _, err := s.w.ExecContext(ctx, s.q(q), args...); err != nil {
		return fail(ctx, "batch phase", err)
	}
	return nil
}

// FinishBatch sets the final status (and error message) of owner's batch,
// frees its lease and deletes its input (no longer needed: the result
// lines and stored cards are the batch's output), in one transaction;
// false when owner no longer held it (then nothing changes).
func (s *Store) FinishBatch(ctx context.Context, id, owner, status, msg string) (bool, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fail(ctx, "finish batch", err)
	}
	defer tx.Rollback()
	r, err := tx.ExecContext(ctx, s.q(`UPDATE bulk_batches SET status = ?, error = ?, phase = '', lease_owner = '', lease_until = NULL
		WHERE id = ? AND lease_owner = ?`), status, msg, id, owner)
	if err != nil {
		return false, fail(ctx, "finish batch", err)
	}
	if n, err := r.RowsAffected(); err != nil || n != 1 {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM bulk_inputs WHERE batch_id = ?`), id); err != nil {
		return false, fail(ctx, "finish batch: input", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fail(ctx, "finish batch: commit", err)
	}
	return true, nil
}

// DeleteStaleUploads removes batches still uploading that were created
// before before (their replica died during the upload), with their input.
func (s *Store) DeleteStaleUploads(ctx context.Context, before time.Time) (int, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id FROM bulk_batches WHERE status = ? AND created < ?`), BatchUploading, s.tm(before))
	if err != nil {
		return 0, fail(ctx, "stale uploads", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fail(ctx, "stale uploads", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		if err := s.DeleteBatch(ctx, id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// AddBatchResults records result lines in one transaction, all or none.
// A key already recorded (by an earlier attempt, or a replica that lost
// its lease) is skipped, so that a result is never recorded twice; the
// batch's counters grow by the lines added, in the same transaction.
// It returns how many were added.
func (s *Store) AddBatchResults(ctx context.Context, id string, rs []BatchResult) (int, error) {
	if len(rs) == 0 {
		return 0, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fail(ctx, "batch results", err)
	}
	defer tx.Rollback()
	lock := `SELECT done FROM bulk_batches WHERE id = ?`
	if s.d == sqldb.PostgreSQL {
		lock += ` FOR UPDATE` // one adder at a time: seq follows done
	}
	var done int64
	if err := tx.QueryRowContext(ctx, s.q(lock), id).Scan(&done); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("sqlstore: batch results: %w", store.ErrNotFound)
		}
		return 0, fail(ctx, "batch results", err)
	}
	// Multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING key: one
	// statement per maxInsertRows lines; the keys returned are the lines
	// added (a key recorded before returns nothing).
	byKey := make(map[string]BatchResult, len(rs))
	for _, r := range rs {
		byKey[r.Key] = r
	}
	var added, issued, failed, cards int64
	for start := 0; start < len(rs); start += maxInsertRows {
		part := rs[start:min(start+maxInsertRows, len(rs))]
		args := make([]any, 0, 4*len(part))
		for i, r := range part {
			args = append(args, id, r.Key, done+int64(start+i), r.Line)
		}
		rows, err := tx.QueryContext(ctx, s.q(`INSERT INTO bulk_results (batch_id, key, seq, line) VALUES `+sqldb.Values(len(part), 4)+
			` ON CONFLICT (batch_id, key) DO NOTHING RETURNING key`), args...)
		if err != nil {
			return 0, fail(ctx, "batch results", err)
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return 0, fail(ctx, "batch results", err)
			}
			r := byKey[k]
			added++
			if r.Issued {
				issued++
				cards += int64(r.Cards)
			} else {
				failed++
			}
		}
		if err := rows.Close(); err != nil {
			return 0, fail(ctx, "batch results", err)
		}
		if err := rows.Err(); err != nil {
			return 0, fail(ctx, "batch results", err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE bulk_batches SET done = done + ?, issued = issued + ?, failed = failed + ?, cards = cards + ? WHERE id = ?`),
		added, issued, failed, cards, id); err != nil {
		return 0, fail(ctx, "batch results", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fail(ctx, "batch results: commit", err)
	}
	return int(added), nil
}

// BatchResultKeys calls fn with the key of every recorded result.
func (s *Store) BatchResultKeys(ctx context.Context, id string, fn func(key string) error) error {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT key FROM bulk_results WHERE batch_id = ?`), id)
	if err != nil {
		return fail(ctx, "batch result keys", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return fail(ctx, "batch result keys", err)
		}
		if err := fn(k); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fail(ctx, "batch result keys", err)
	}
	return nil
}

// BatchResult returns the line recorded for key (ErrNotFound if none).
func (s *Store) BatchResult(ctx context.Context, id, key string) (string, error) {
	var line string
	err := s.r.QueryRowContext(ctx, s.q(`SELECT line FROM bulk_results WHERE batch_id = ? AND key = ?`), id, key).Scan(&line)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("sqlstore: batch result: %w", store.ErrNotFound)
	}
	if err != nil {
		return "", fail(ctx, "batch result", err)
	}
	return line, nil
}

// BatchResults calls fn with every recorded line in the order recorded.
func (s *Store) BatchResults(ctx context.Context, id string, fn func(line string) error) error {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT line FROM bulk_results WHERE batch_id = ? ORDER BY seq, key`), id)
	if err != nil {
		return fail(ctx, "batch results", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return fail(ctx, "batch results", err)
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fail(ctx, "batch results", err)
	}
	return nil
}
