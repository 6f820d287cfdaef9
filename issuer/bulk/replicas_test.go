package bulk_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"

	"github.com/healthcards/healthcards/internal/pgtest"
	"github.com/healthcards/healthcards/internal/sqldb"
	"github.com/healthcards/healthcards/issuer/bulk"
	"github.com/healthcards/healthcards/issuer/store/postgres"
)

// pgSchema returns pgtest.FreshSchema and a handle on it.
func pgSchema(t testing.TB) (string, *sql.DB) {
	t.Helper()
	dsn := pgtest.FreshSchema(t)
	db, err := sqldb.OpenPostgres(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return dsn, db
}

// Two replicas (each its own store connections, issuer and output
// directory) resume the same batch id at once on one PostgreSQL: every
// patient's cards are stored once — one "issue" audit event per stored
// card — and both runs report the same card ids for every patient, the
// whole set of the patient's stored cards (claims are atomic in the
// database, per patient, not in process memory).
func TestTwoReplicasSameBatchPostgres(t *testing.T) {
	dsn, db := pgSchema(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	const patients = 40
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: patients, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	replica := func(i int) bulk.Config {
		st, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return bulk.Config{Issuer: replicaIssuer(t, st), In: in, Out: filepath.Join(dir, "out", string(rune('a'+i))), BatchID: "replicas", Workers: 3}
	}
	cfgs := []bulk.Config{replica(0), replica(1)}
	var wg sync.WaitGroup
	errs := make([]error, len(cfgs))
	for i := range cfgs {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = bulk.Run(context.Background(), cfgs[i]) }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	a, b := readResults(t, cfgs[0].Out), readResults(t, cfgs[1].Out)
	stored := map[string]int{}
	rows, err := db.Query(`SELECT patient_id, COUNT(*) FROM cards GROUP BY patient_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p string
		var n int
		if err := rows.Scan(&p, &n); err != nil {
			t.Fatal(err)
		}
		stored[p] = n
	}
	rows.Close()
	var cards, events int
	if err := db.QueryRow(`SELECT COUNT(*) FROM cards`).Scan(&cards); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM audit WHERE action = 'issue'`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if cards != events {
		t.Fatalf("%d cards stored but %d issue events", cards, events)
	}
	issued, multi := 0, 0
	for k, ra := range a {
		rb, ok := b[k]
		if !ok || ra.Status != rb.Status || len(ra.Cards) != len(rb.Cards) {
			t.Fatalf("%s: replica a %s with %d cards, replica b %+v", k, ra.Status, len(ra.Cards), rb)
		}
		if ra.Status != bulk.StatusIssued {
			continue
		}
		issued++
		if len(ra.Cards) > 1 {
			multi++
		}
		for i := range ra.Cards {
			if ra.Cards[i].ID != rb.Cards[i].ID {
				t.Fatalf("%s: card %d is %s on one replica and %s on the other: issued twice", k, i, ra.Cards[i].ID, rb.Cards[i].ID)
			}
		}
		if stored[ra.Patient] != len(ra.Cards) {
			t.Fatalf("%s: the store holds %d cards, the runs report %d", k, stored[ra.Patient], len(ra.Cards))
		}
	}
	if issued != patients || len(b) != len(a) {
		t.Fatalf("%d patients issued (want %d), %d and %d results", issued, patients, len(a), len(b))
	}
	total := 0
	for _, n := range stored {
		total += n
	}
	t.Logf("%d patients, %d with several cards, %d cards stored once", issued, multi, total)
}
