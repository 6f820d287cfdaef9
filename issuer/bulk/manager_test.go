package bulk_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/bulk"
	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/store/postgres"
	"github.com/healthcards/healthcards/issuer/store/sqlstore"
	"github.com/healthcards/healthcards/shl/host"
	shlsql "github.com/healthcards/healthcards/shl/sqlstore"
)

// replicaEnv opens a replica's store and link store (each replica its own
// connections, as separate processes would have).
type replicaEnv struct {
	open  func(t *testing.T) (*sqlstore.Store, host.Store)
	query *sql.DB // for counting rows
}

// newManager builds one replica: an issuer over st, the service's link
// code (httpapi.Links) over links, and a Manager with the given clock.
func newManager(t testing.TB, st *sqlstore.Store, links host.Store, now func() time.Time, self **bulk.Manager, kill func(*bulk.Manager, int)) {
	t.Helper()
	newManagerWith(t, st, links, self, kill, func(c *bulk.ManagerConfig) {
		c.Clock = func(context.Context) (time.Time, error) { return now(), nil }
	})
}

// newManagerWith is newManager with the config edited by edit (the
// database's clock unless edit sets Clock).
func newManagerWith(t testing.TB, st *sqlstore.Store, links host.Store, self **bulk.Manager, kill func(*bulk.Manager, int), edit func(*bulk.ManagerConfig)) {
	t.Helper()
	is := replicaIssuer(t, st)
	a, err := auth.New(auth.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	l, err := httpapi.NewLinks(httpapi.LinksConfig{Issuer: is, Auth: a, BaseURL: testIss, Store: links,
		LocationSecret: []byte("bulk-test-location-secret-32-bytes-or-more")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := bulk.ManagerConfig{DB: st, Dir: t.TempDir(), Issuer: is, Workers: 2, Linker: l,
		Lease: time.Minute, Poll: 10 * time.Millisecond}
	edit(&cfg)
	bulk.SetFlush(&cfg, 3, func(done int) { kill(*self, done) })
	m, err := bulk.NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	*self = m
	t.Cleanup(func() { m.Close() })
}

// replicaIssuer is a replica's issuer over st (the same key and rid
// secret on every replica, as with the database key ring).
func replicaIssuer(t testing.TB, st *sqlstore.Store) *issuer.Issuer {
	t.Helper()
	is, err := issuer.New(issuer.Config{
		Iss: testIss, Keys: issuer.StaticKeys{Signer: testKey(t)}, Store: st,
		RIDSecret: "bulk-test-rid-secret-with-32-chars-or-more",
		Now:       func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return is
}

// Two replicas on one database race for a submitted batch: one claims
// it, the other cannot while the lease lasts. The claimer is killed (its
// context ends; it neither releases nor finishes the batch) after its
// first results are recorded; once the lease has ended (an injected
// clock, no waiting) the other replica resumes from the recorded results
// and finishes: every patient once (no duplicates, no gaps), every stored
// card in exactly one result line, one issue event per card, one link per
// patient, and both replicas answer the same status.
func testKillAndTakeOver(t *testing.T, env replicaEnv) {
	const patients = 30
	in := t.TempDir()
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: patients, Seed: 21, Broken: true}); err != nil {
		t.Fatal(err)
	}
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	var killedOnce sync.Once
	killed := make(chan *bulk.Manager, 1)
	kill := func(m *bulk.Manager, done int) {
		if done >= 3 {
			killedOnce.Do(func() { bulk.Kill(m); killed <- m })
		}
	}
	ms := make([]*bulk.Manager, 2)
	for i := range ms {
		st, links := env.open(t)
		newManager(t, st, links, now, &ms[i], kill)
	}
	var files []bulk.Upload
	ents, _ := os.ReadDir(in)
	for _, e := range ents {
		f, err := os.Open(filepath.Join(in, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, bulk.Upload{Name: e.Name(), Body: f})
	}
	ctx := context.Background()
	st, err := ms[1].Submit(ctx, "lab", bulk.Outputs{Card: true, Link: true, LinkPasscode: true}, files, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	var dead *bulk.Manager
	select {
	case dead = <-killed:
	case <-time.After(2 * time.Minute):
		t.Fatal("no replica ran the batch")
	}
	dead.Close()
	other := ms[0]
	if other == dead {
		other = ms[1]
	}
	a, errA := dead.Status(ctx, st.ID, "lab")
	b, errB := other.Status(ctx, st.ID, "lab")
	killedAt := a.Done
	if errA != nil || errB != nil || a != b || a.Status != bulk.BatchRunning || a.Attempts != 1 || a.Done == 0 || a.Done >= a.Total {
		t.Fatalf("after the kill: %s / %s (%v %v)", show(a), show(b), errA, errB)
	}
	if _, err := other.Status(ctx, st.ID, "someone else"); err == nil {
		t.Fatal("another owner sees the batch")
	}
	// The lease (1 min) has not ended: the other replica must not take it.
	offset.Store(int64(2 * time.Minute))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		b, err = other.Status(ctx, st.ID, "lab")
		if err != nil {
			t.Fatal(err)
		}
		if b.Status == bulk.BatchDone || b.Status == bulk.BatchFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch still %s", show(b))
		}
		time.Sleep(20 * time.Millisecond)
	}
	a, _ = dead.Status(ctx, st.ID, "lab")
	want := patients + len(bulk.BrokenPatients) + len(bulk.BrokenRecords)
	if a != b || b.Status != bulk.BatchDone || b.Attempts != 2 || b.Total != want || b.Done != want || b.Issued < patients {
		t.Fatalf("done: %s / %s; want %d results, %d issued", show(a), show(b), want, patients)
	}
	var buf bytes.Buffer
	if err := dead.Results(ctx, st.ID, "lab", &buf); err != nil {
		t.Fatal(err)
	}
	seen, links := map[string]bool{}, map[string]bool{}
	cards := 0
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var r bulk.Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if seen[r.Key] {
			t.Fatalf("%s twice", r.Key)
		}
		seen[r.Key] = true
		if r.Status != bulk.StatusIssued {
			continue
		}
		cards += len(r.Cards)
		if r.Link == nil || links[r.Link.ID] || len(r.Link.Passcode) != 8 {
			t.Fatalf("%s: link %+v missing, given twice or without its passcode", r.Key, r.Link)
		}
		links[r.Link.ID] = true
		// The files render on either replica from the stored cards.
		for _, m := range []*bulk.Manager{dead, other} {
			f, err := m.File(ctx, st.ID, "lab", r.File)
			if err != nil || !bytes.Contains(f, []byte(`"verifiableCredential"`)) {
				t.Fatalf("%s: %s: %v", r.Key, r.File, err)
			}
		}
	}
	if len(seen) != want || len(links) != b.Issued || cards != b.Cards {
		t.Fatalf("%d distinct results (want %d), %d issued with %d cards (status: %d, %d)", len(seen), want, len(links), cards, b.Issued, b.Cards)
	}
	// Passcodes are derived again for the download, never stored.
	var atRest int
	if err := env.query.QueryRow(`SELECT COUNT(*) FROM bulk_results WHERE line LIKE '%passcode%'`).Scan(&atRest); err != nil || atRest != 0 {
		t.Fatalf("%d result lines in the database hold a passcode (%v)", atRest, err)
	}
	var stored, events, nlinks int
	env.query.QueryRow(`SELECT COUNT(*) FROM cards`).Scan(&stored)
	env.query.QueryRow(`SELECT COUNT(*) FROM audit WHERE action = 'issue'`).Scan(&events)
	env.query.QueryRow(`SELECT COUNT(*) FROM shl_links`).Scan(&nlinks)
	if stored != cards || events != cards || nlinks != len(links) {
		t.Fatalf("%d cards stored, %d issue events, %d in results; %d links stored, %d in results", stored, events, cards, nlinks, len(links))
	}
	t.Logf("killed after %d of %d results; resumed on the other replica: %d cards, %d links, each once", killedAt, want, cards, nlinks)
}

func TestManagerKillAndTakeOverSQLite(t *testing.T) {
	dir := t.TempDir()
	st := openSQLite(t, filepath.Join(dir, "store"))
	links, err := shlsql.OpenSQLite(context.Background(), filepath.Join(dir, "store", "links.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { links.Close() })
	q, err := sql.Open("sqlite", filepath.Join(dir, "store", "issuer.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	if _, err := q.Exec(`ATTACH DATABASE ? AS l`, filepath.Join(dir, "store", "links.db")); err != nil {
		t.Fatal(err)
	}
	q.SetMaxOpenConns(1)
	// One process: both Managers share the store, as a restarted service
	// would find it.
	testKillAndTakeOver(t, replicaEnv{open: func(*testing.T) (*sqlstore.Store, host.Store) { return st, links }, query: q})
}

func TestManagerKillAndTakeOverPostgres(t *testing.T) {
	dsn, db := pgSchema(t)
	testKillAndTakeOver(t, replicaEnv{query: db, open: func(t *testing.T) (*sqlstore.Store, host.Store) {
		st, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		links, err := shlsql.OpenPostgres(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { links.Close() })
		return st, links
	}})
}

// Leases use the database's clock, not the replica's: a replica whose
// own clock runs two hours ahead does not take a batch whose lease
// (1 min, written by the database's clock) is still running. With the
// replicas' clocks it would take it at once.
func testLeaseUsesDatabaseClock(t *testing.T, env replicaEnv) {
	in := t.TempDir()
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: 20, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	killed := make(chan struct{})
	var once sync.Once
	var a *bulk.Manager
	st, links := env.open(t)
	newManagerWith(t, st, links, &a, func(m *bulk.Manager, done int) {
		once.Do(func() { bulk.Kill(m); close(killed) })
	}, func(*bulk.ManagerConfig) {})
	var files []bulk.Upload
	ents, _ := os.ReadDir(in)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(in, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, bulk.Upload{Name: e.Name(), Body: bytes.NewReader(b)})
	}
	ctx := context.Background()
	sub, err := a.Submit(ctx, "lab", bulk.Outputs{Card: true}, files, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-killed:
	case <-time.After(2 * time.Minute):
		t.Fatal("the batch did not run")
	}
	a.Close()
	var b *bulk.Manager
	st2, links2 := env.open(t)
	newManagerWith(t, st2, links2, &b, func(*bulk.Manager, int) {}, func(c *bulk.ManagerConfig) {
		c.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	})
	if bulk.ClaimOnce(b) {
		t.Fatal("a replica with a fast clock took a batch whose lease is running")
	}
	got, err := b.Status(ctx, sub.ID, "lab")
	if err != nil || got.Status != bulk.BatchRunning || got.Attempts != 1 {
		t.Fatalf("after the fast replica looked: %s (%v); want running, 1 attempt", show(got), err)
	}
}

func TestLeaseUsesDatabaseClockSQLite(t *testing.T) {
	dir := t.TempDir()
	st := openSQLite(t, filepath.Join(dir, "store"))
	links, err := shlsql.OpenSQLite(context.Background(), filepath.Join(dir, "store", "links.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { links.Close() })
	testLeaseUsesDatabaseClock(t, replicaEnv{open: func(*testing.T) (*sqlstore.Store, host.Store) { return st, links }})
}

func TestLeaseUsesDatabaseClockPostgres(t *testing.T) {
	dsn, db := pgSchema(t)
	testLeaseUsesDatabaseClock(t, replicaEnv{query: db, open: func(t *testing.T) (*sqlstore.Store, host.Store) {
		st, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		links, err := shlsql.OpenPostgres(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { links.Close() })
		return st, links
	}})
}

func show(s bulk.BatchStatus) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// fileLinker is an issuer on st (the real clock: links must not expire
// before they are made) and the service's link code over a SQLite link
// store at path.
func fileLinker(t *testing.T, st *sqlstore.Store, path string) (*issuer.Issuer, *httpapi.Links) {
	t.Helper()
	links, err := shlsql.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { links.Close() })
	is, err := issuer.New(issuer.Config{Iss: testIss, Keys: issuer.StaticKeys{Signer: testKey(t)}, Store: st,
		RIDSecret: "bulk-test-rid-secret-with-32-chars-or-more"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	l, err := httpapi.NewLinks(httpapi.LinksConfig{Issuer: is, Auth: a, BaseURL: testIss, Store: links})
	if err != nil {
		t.Fatal(err)
	}
	return is, l
}

// A run whose links were made but whose result lines were lost (killed
// between the two) makes no second link when run again: the link ids
// derive from the batch and patient, the link store refuses a second one,
// and the existing link (same id, same shlink) is reported.
func TestLinksResumeAfterLostResults(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: 6, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	st := openSQLite(t, filepath.Join(dir, "store"))
	is, l := fileLinker(t, st, filepath.Join(dir, "links.db"))
	cfg := bulk.Config{Issuer: is, In: in, Out: out, BatchID: "links", Linker: l,
		Outputs: bulk.Outputs{Card: true, PNG: true, Link: true, LinkExp: time.Now().Add(time.Hour).Unix()}}
	if _, err := bulk.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	first := readResults(t, out)
	if err := os.Truncate(filepath.Join(out, bulk.ResultsFile), 0); err != nil {
		t.Fatal(err)
	}
	sum, err := bulk.Run(context.Background(), cfg)
	if err != nil || sum.Issued != 6 {
		t.Fatalf("second run: %+v %v", sum, err)
	}
	second := readResults(t, out)
	for k, r := range first {
		if r.Link == nil || second[k].Link == nil || *r.Link != *second[k].Link {
			t.Fatalf("%s: link %+v, then %+v", k, r.Link, second[k].Link)
		}
		if _, err := os.Stat(filepath.Join(out, r.Link.QR)); err != nil {
			t.Fatalf("%s: link QR: %v", k, err)
		}
	}
	q, err := sql.Open("sqlite", filepath.Join(dir, "links.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var n int
	if err := q.QueryRow(`SELECT COUNT(*) FROM shl_links`).Scan(&n); err != nil || n != 6 {
		t.Fatalf("%d links stored (%v); want 6", n, err)
	}
}

// What a killed process left in the scratch directory (a batch's copied
// input: PHI) is removed when a Manager starts on it; other entries stay.
func TestManagerClearsScratch(t *testing.T) {
	dir := t.TempDir()
	st := openSQLite(t, filepath.Join(dir, "store"))
	scratch := filepath.Join(dir, "scratch")
	left := filepath.Join(scratch, "qdBtsZi6haQvbsg6u3hTbA", "in")
	if err := os.MkdirAll(left, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(left, "Patient.ndjson"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(scratch, ".keep"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := bulk.NewManager(bulk.ManagerConfig{DB: st, Dir: scratch, Issuer: replicaIssuer(t, st)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := os.Stat(filepath.Dir(left)); !os.IsNotExist(err) {
		t.Fatalf("a killed run's scratch copy is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(scratch, ".keep")); err != nil {
		t.Fatalf("an unrelated entry was removed: %v", err)
	}
}
