package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"

	"github.com/healthcards/healthcards/internal/sqldb"
	"github.com/healthcards/healthcards/issuer/store"
)

// Group commit of PutCard on SQLite: every write goes through one
// connection and each commit is an fsync, so the card writer goroutine
// takes every PutCard waiting at that moment into one transaction, each
// card and its event inside its own savepoint: one fsync acknowledges them
// all, and a failing card (a conflict) does not affect the others.

var errClosed = errors.New("store is closed")

// maxCardBatch bounds one group commit.
const maxCardBatch = 128

type cardReq struct {
	ctx  context.Context
	card store.IssuedCard
	ev   store.Event
	done chan error
}

// queueCard hands a checked card to the writer and waits for the outcome.
func (s *Store) queueCard(ctx context.Context, c store.IssuedCard, ev store.Event) error {
	req := &cardReq{ctx: ctx, card: c, ev: ev, done: make(chan error, 1)}
	select {
	case s.cardq <- req:
	case <-ctx.Done():
		return fmt.Errorf("sqlstore: put card: %w", ctx.Err())
	case <-s.quit:
		return fmt.Errorf("sqlstore: put card: %w", errClosed)
	}
	// Once taken, the request is committed or refused as a whole: wait for
	// the outcome even if ctx ends, so the answer is never "maybe".
	return <-req.done
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
	ctx, cancel := context.WithTimeout(context.Background(), 2*sqldb.BusyTimeout)
	defer cancel()
	err := func() error {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				errs[i] = fmt.Errorf("sqlstore: put card: %w", err)
				continue
			}
			errs[i] = s.putCardSavepoint(ctx, tx, r.card, r.ev)
		}
		return tx.Commit()
	}()
	for i, r := range batch {
		switch {
		case errs[i] != nil:
			r.done <- errs[i]
		case err != nil:
			r.done <- fail(r.ctx, "put card: commit", err)
		default:
			r.done <- nil
		}
	}
}

// putCardSavepoint writes one card and its event inside a savepoint of tx,
// undoing both if either fails.
func (s *Store) putCardSavepoint(ctx context.Context, tx *sql.Tx, c store.IssuedCard, ev store.Event) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT card"); err != nil {
		return fmt.Errorf("sqlstore: put card: %w", err)
	}
	err := s.putCard(ctx, tx, c, ev)
	if err != nil {
		err = fmt.Errorf("sqlstore: put card: %w", err)
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO card"); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	if _, rerr := tx.ExecContext(ctx, "RELEASE card"); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}
