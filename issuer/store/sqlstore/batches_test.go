package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/pgtest"
	"github.com/healthcards/healthcards/issuer/store"
)

// Replicas racing for one batch: of several ClaimBatch calls at once
// (each its own connection on PostgreSQL), exactly one takes the lease;
// none takes it again while it lasts; once it has ended (injected times)
// exactly one takes it over, and the previous holder can no longer renew
// or finish it.
func testBatchClaims(t *testing.T, replicas []*Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	lease := 30 * time.Second
	from := [2]string{"queued", "running"}
	for round := range 5 {
		id := fmt.Sprintf("b%d", round)
		if err := replicas[0].CreateBatch(ctx, Batch{ID: id, Owner: "lab", Created: t0, Options: "{}", Status: BatchUploading}); err != nil {
			t.Fatal(err)
		}
		if err := replicas[0].CreateBatch(ctx, Batch{ID: id, Owner: "lab", Created: t0, Options: "{}", Status: BatchUploading}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second batch with one id: %v", err)
		}
		race := func(now time.Time) []string {
			var mu sync.Mutex
			var wg sync.WaitGroup
			var won []string
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					me := fmt.Sprintf("r%d", i)
					ok, err := replicas[i%len(replicas)].ClaimBatch(ctx, id, me, "running", from, now, now.Add(lease))
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						won = append(won, me)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			return won
		}
		if won := race(t0); len(won) != 0 {
			t.Fatalf("an uploading batch was claimed by %v", won)
		}
		if err := replicas[0].QueueBatch(ctx, id, "queued"); err != nil {
			t.Fatal(err)
		}
		won := race(t0)
		if len(won) != 1 {
			t.Fatalf("round %d: claimed by %v; want exactly one", round, won)
		}
		if again := race(t0.Add(lease - time.Second)); len(again) != 0 {
			t.Fatalf("claimed again by %v while the lease lasts", again)
		}
		later := t0.Add(lease + time.Second)
		next := race(later)
		if len(next) != 1 {
			t.Fatalf("after the lease: claimed by %v; want exactly one", next)
		}
		if next[0] != won[0] {
			if ok, _ := replicas[0].RenewBatch(ctx, id, won[0], later.Add(lease)); ok {
				t.Fatal("the replica that lost the lease renewed it")
			}
			if ok, _ := replicas[0].FinishBatch(ctx, id, won[0], "done", ""); ok {
				t.Fatal("the replica that lost the lease finished the batch")
			}
		}
		b, err := replicas[1%len(replicas)].Batch(ctx, id)
		if err != nil || b.Attempts != 2 || b.LeaseOwner != next[0] || !b.LeaseUntil.Equal(later.Add(lease)) || b.Status != "running" {
			t.Fatalf("batch %+v (%v)", b, err)
		}
	}
}

// Result lines are recorded once per key, all or none per call, and the
// counters grow by the lines added only, whoever adds them.
func testBatchResults(t *testing.T, a, b *Store) {
	ctx := context.Background()
	if err := a.CreateBatch(ctx, Batch{ID: "r", Owner: "lab", Created: time.Unix(1, 0), Options: "{}", Status: "queued"}); err != nil {
		t.Fatal(err)
	}
	if err := a.PutBatchInput(ctx, "r", "x.ndjson", 0, []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if err := a.PutBatchInput(ctx, "r", "x.ndjson", 1, make([]byte, MaxBatchChunk+1)); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("piece over the limit: %v", err)
	}
	rs := []BatchResult{{Key: "patient/1", Line: `{"key":"patient/1"}`, Issued: true, Cards: 2}, {Key: "record/x:3", Line: `{"key":"record/x:3"}`}}
	var wg sync.WaitGroup
	added := make([]int, 4)
	for i := range added {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			n, err := s.AddBatchResults(ctx, "r", rs)
			if err != nil {
				t.Error(err)
			}
			added[i] = n
		}()
	}
	wg.Wait()
	sum := 0
	for _, n := range added {
		sum += n
	}
	got, err := b.Batch(ctx, "r")
	if err != nil || sum != 2 || got.Done != 2 || got.Issued != 1 || got.Failed != 1 || got.Cards != 2 {
		t.Fatalf("added %v; batch %+v (%v)", added, got, err)
	}
	var lines []string
	if err := b.BatchResults(ctx, "r", func(l string) error { lines = append(lines, l); return nil }); err != nil || len(lines) != 2 || lines[0] != rs[0].Line {
		t.Fatalf("lines %q (%v)", lines, err)
	}
	if l, err := b.BatchResult(ctx, "r", "record/x:3"); err != nil || l != rs[1].Line {
		t.Fatalf("line %q (%v)", l, err)
	}
	if ok, err := a.ClaimBatch(ctx, "r", "me", "running", [2]string{"queued", "running"}, time.Unix(2, 0), time.Unix(100, 0)); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if ok, err := b.FinishBatch(ctx, "r", "me", "done", ""); !ok || err != nil {
		t.Fatalf("finish: %v %v", ok, err)
	}
	if cs, err := b.BatchInputs(ctx, "r"); err != nil || len(cs) != 0 {
		t.Fatalf("input kept after the batch finished: %v %v", cs, err)
	}
	if got, err := b.Batch(ctx, "r"); err != nil || got.Status != "done" || got.LeaseOwner != "" || got.Done != 2 {
		t.Fatalf("finished batch %+v (%v)", got, err)
	}
	// A batch whose upload never ended is deleted once stale.
	if err := a.CreateBatch(ctx, Batch{ID: "u", Owner: "lab", Created: time.Unix(10, 0), Options: "{}", Status: BatchUploading}); err != nil {
		t.Fatal(err)
	}
	if err := a.PutBatchInput(ctx, "u", "x.ndjson", 0, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if n, err := b.DeleteStaleUploads(ctx, time.Unix(10, 0)); err != nil || n != 0 {
		t.Fatalf("a fresh upload deleted: %d %v", n, err)
	}
	if n, err := b.DeleteStaleUploads(ctx, time.Unix(11, 0)); err != nil || n != 1 {
		t.Fatalf("stale upload: %d %v", n, err)
	}
	if _, err := b.Batch(ctx, "u"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stale upload kept: %v", err)
	}
	if err := a.DeleteBatch(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.BatchResult(ctx, "r", "patient/1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestSQLiteBatches(t *testing.T) {
	s := open(t, t.TempDir())
	testBatchClaims(t, []*Store{s})
	testBatchResults(t, s, s)
}

func TestPostgresBatches(t *testing.T) {
	dsn := pgtest.FreshSchema(t)
	var rs []*Store
	for range 3 {
		s, err := OpenPostgres(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		rs = append(rs, s)
	}
	testBatchClaims(t, rs)
	testBatchResults(t, rs[0], rs[1])
}
