package issuer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/memstore"
)

// slowBatchStore is a memstore whose PutCards takes as long as an fsync
// and records the batch sizes; batches holding a card id "bad" fail.
type slowBatchStore struct {
	*memstore.Store
	calls, cards atomic.Int64
	maxBatch     atomic.Int64
}

func (s *slowBatchStore) PutCards(ctx context.Context, cards []store.IssuedCard, evs []store.Event) error {
	time.Sleep(3 * time.Millisecond)
	s.calls.Add(1)
	for _, c := range cards {
		if c.ID == "bad" {
			return fmt.Errorf("refused: %w", store.ErrInvalid)
		}
	}
	s.cards.Add(int64(len(cards)))
	for {
		m := s.maxBatch.Load()
		if int64(len(cards)) <= m || s.maxBatch.CompareAndSwap(m, int64(len(cards))) {
			break
		}
	}
	return s.Store.PutCards(ctx, cards, evs)
}

// Concurrent issuances share group commits; every card is stored with its
// audit event before IssueBundle returns.
func TestGroupCommitOfIssuedCards(t *testing.T) {
	st := &slowBatchStore{Store: memstore.New()}
	f := newFixture(t, func(c *Config) { c.Store = st })
	if f.is.batch == nil {
		t.Fatal("a store with PutCards is not used for group commit")
	}
	const n = 64
	var wg sync.WaitGroup
	ids := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cards, err := f.is.IssueBundle(context.Background(), bundles.LabCovidPCR, IssueOptions{Actor: "lab"})
			if err != nil || len(cards) != 1 {
				t.Errorf("issue: %v", err)
				return
			}
			ids[i] = cards[0].ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if _, err := st.Card(context.Background(), id); err != nil {
			t.Fatalf("card %s not stored when IssueBundle returned: %v", id, err)
		}
	}
	if ev, _ := st.AuditLog(context.Background(), 1000); len(ev) != n {
		t.Errorf("%d audit events, want %d", len(ev), n)
	}
	if st.cards.Load() != n || st.calls.Load() >= n || st.maxBatch.Load() < 2 {
		t.Errorf("%d cards in %d commits (largest %d): no group commit happened", st.cards.Load(), st.calls.Load(), st.maxBatch.Load())
	}
	t.Logf("%d cards in %d commits, largest batch %d", n, st.calls.Load(), st.maxBatch.Load())
}

// A failing issuance in a batch fails alone: the others are retried and
// stored.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	st := &slowBatchStore{Store: memstore.New()}
	b := &batcher{st: st}
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		id := fmt.Sprintf("card-%d", i)
		if i == 3 {
			id = "bad"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.put([]store.IssuedCard{{ID: id, PatientID: "p", Kid: "kid1", JWS: "h.p.s"}}, []store.Event{{Action: "issue"}})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i == 3) != (err != nil) {
			t.Errorf("issuance %d: %v", i, err)
		}
		if i == 3 && !errors.Is(err, store.ErrInvalid) {
			t.Errorf("the failing issuance got %v", err)
		}
	}
	if st.cards.Load() != 9 {
		t.Errorf("%d cards stored, want 9", st.cards.Load())
	}
}
