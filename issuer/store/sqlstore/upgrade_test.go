package sqlstore

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/healthcards/healthcards/internal/pgtest"
	"github.com/healthcards/healthcards/issuer/store"
)

// testdata/v1/issuer.db was written by the store of release 1 (commit
// 303fca5, package issuer/store/sqlite before the SQL stores were merged):
// schema version 1 with a patient, two resources, a card, a revocation of
// two entries, two tokens (one revoked) and three audit events. wantV1 is
// what any later release must read back from it.
func wantV1(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	t0 := time.Date(2026, 2, 1, 9, 30, 0, 0, time.UTC)
	p, err := s.Patient(ctx, "p1")
	if err != nil || string(p) != `{"resourceType":"Patient","id":"p1"}` {
		t.Errorf("Patient = %s, %v", p, err)
	}
	rs, err := s.Resources(ctx, "p1", nil, time.Time{})
	if err != nil || len(rs) != 2 {
		t.Fatalf("Resources = %d, %v", len(rs), err)
	}
	if rs[0].Type != "Immunization" || !rs[0].Date.IsZero() || rs[1].ID != "o1" || !rs[1].Date.Equal(t0) || rs[1].Updated.IsZero() ||
		string(rs[1].JSON) != `{"resourceType":"Observation","id":"o1"}` {
		t.Errorf("Resources = %+v", rs)
	}
	if rs, err := s.Resources(ctx, "p1", []string{"Observation"}, t0); err != nil || len(rs) != 1 {
		t.Errorf("Resources(Observation since t0) = %d, %v", len(rs), err)
	}
	c, err := s.Card(ctx, "card1")
	if err != nil || c.JWS != "a.b.c" || c.Kid != "kid1" || c.RID != "rid1" || !c.IssuedAt.Equal(t0.Add(time.Hour)) ||
		!slices.Equal(c.Types, []string{"Observation", "Patient"}) {
		t.Errorf("Card = %+v, %v", c, err)
	}
	crl, err := s.CRL(ctx, "kid1")
	if err != nil || crl.Ctr != 2 || !slices.Equal(crl.RIDs, []string{"rid1", "rid2.1636977600"}) {
		t.Errorf("CRL = %+v, %v", crl, err)
	}
	toks, err := s.Tokens(ctx)
	if err != nil || len(toks) != 2 || toks[0].ID != "tok1" || toks[0].RevokedAt == nil || !toks[0].RevokedAt.Equal(t0.Add(4*time.Hour)) ||
		toks[1].RevokedAt != nil || !toks[1].CreatedAt.Equal(t0.Add(3*time.Hour)) || !slices.Equal(toks[0].Scopes, []string{"cards.issue", "results.write"}) {
		t.Errorf("Tokens = %+v, %v", toks, err)
	}
	tok, err := s.TokenByHash(ctx, []byte("fedcba9876543210fedcba9876543210"))
	if err != nil || tok.ID != "tok2" || tok.Label != "ops" {
		t.Errorf("TokenByHash = %+v, %v", tok, err)
	}
	evs, err := s.AuditLog(ctx, 10)
	if err != nil || len(evs) != 3 || evs[0].Action != "token.create" || evs[0].Detail != "tok2" || !evs[0].Time.Equal(t0.Add(5*time.Hour)) ||
		evs[2].Action != "issue" || !slices.Equal(evs[2].CardTypes, []string{"Observation", "Patient"}) {
		t.Errorf("AuditLog = %+v, %v", evs, err)
	}
	// And it keeps working: the counter goes on from the stored value.
	if ctr, err := s.Revoke(ctx, []store.RevocationEntry{{Kid: "kid1", Entry: "rid3"}}, store.Event{Action: "revoke"}); err != nil || ctr != 3 {
		t.Errorf("Revoke after upgrade = %d, %v", ctr, err)
	}
}

// TestSQLiteOpensReleaseOneDatabase opens a copy of a data directory the
// release 1 code wrote and reads everything back.
func TestSQLiteOpensReleaseOneDatabase(t *testing.T) {
	b, err := os.ReadFile("testdata/v1/issuer.db")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir)
	wantV1(t, s)
	var n int
	if err := s.r.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM schema_migrations WHERE version = 1 AND name = '0001_init.sql'").Scan(&n); err != nil || n != 1 {
		t.Errorf("release 1 migration record: %d rows, %v", n, err)
	}
	wantIndexed(t, s)
}

// TestPostgresOpensReleaseOneSchema builds a schema the way release 1's
// PostgreSQL store did (its runner's table, its 0001_init.sql, rows as it
// wrote them) and opens it with this store.
func TestPostgresOpensReleaseOneSchema(t *testing.T) {
	dsn := pgtest.FreshSchema(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	init, err := migrationFS.ReadFile("migrations/postgres/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 2, 1, 9, 30, 0, 0, time.UTC)
	steps := []struct {
		sql  string
		args []any
	}{
		{`CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)`, nil},
		{string(init), nil},
		{`INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, '0001_init.sql', now())`, nil},
		{`INSERT INTO patients (id, resource) VALUES ('p1', $1)`, []any{[]byte(`{"resourceType":"Patient","id":"p1"}`)}},
		{`INSERT INTO resources (patient_id, type, id, res_date, updated_at, json) VALUES ('p1', 'Observation', 'o1', $1, now(), $2), ('p1', 'Immunization', 'i1', NULL, now(), $3)`,
			[]any{t0, []byte(`{"resourceType":"Observation","id":"o1"}`), []byte(`{"resourceType":"Immunization","id":"i1"}`)}},
		{`INSERT INTO cards (id, patient_id, kid, rid, types, issued_at, jws) VALUES ('card1', 'p1', 'kid1', 'rid1', '["Observation","Patient"]', $1, 'a.b.c')`, []any{t0.Add(time.Hour)}},
		{`INSERT INTO audit (at, actor, action, kid, rid, card_types, detail) VALUES ($1, 'tok1', 'issue', 'kid1', 'rid1', '["Observation","Patient"]', '')`, []any{t0.Add(time.Hour)}},
		{`UPDATE crl_counter SET ctr = 2`, nil},
		{`INSERT INTO revocations (kid, entry, ctr) VALUES ('kid1', 'rid1', 2), ('kid1', 'rid2.1636977600', 2)`, nil},
		{`INSERT INTO audit (at, actor, action, kid, rid, card_types, detail) VALUES ($1, 'cli', 'revoke', 'kid1', 'rid1,rid2', '[]', '')`, []any{t0.Add(2 * time.Hour)}},
		{`INSERT INTO tokens (id, hash, scopes, label, created_at, revoked_at) VALUES ('tok1', $1, '["cards.issue","results.write"]', 'lab', $2, $3)`,
			[]any{[]byte("0123456789abcdef0123456789abcdef"), t0, t0.Add(4 * time.Hour)}},
		{`INSERT INTO tokens (id, hash, scopes, label, created_at, revoked_at) VALUES ('tok2', $1, '["cards.revoke"]', 'ops', $2, NULL)`,
			[]any{[]byte("fedcba9876543210fedcba9876543210"), t0.Add(3 * time.Hour)}},
		{`INSERT INTO audit (at, actor, action, kid, rid, card_types, detail) VALUES ($1, 'cli', 'token.create', '', '', '[]', 'tok2')`, []any{t0.Add(5 * time.Hour)}},
	}
	for i, st := range steps {
		if _, err := conn.Exec(ctx, st.sql, st.args...); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	s, err := OpenPostgres(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wantV1(t, s)
	var n int
	if err := s.r.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n != 3 { // 0001, 0002 patient names, 0003 bulk batches
		t.Errorf("schema_migrations: %d rows, %v", n, err)
	}
	wantIndexed(t, s)
}

// wantIndexed checks that opening a release 1 database filled the search
// keys (schema version 2) of the patient stored before it.
func wantIndexed(t *testing.T, s *Store) {
	t.Helper()
	var n int
	if err := s.r.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM patient_names WHERE patient_id = 'p1'").Scan(&n); err != nil || n != 1 {
		t.Errorf("patient_names for p1: %d rows, %v", n, err)
	}
}
