package keydb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/pgtest"
	"github.com/healthcards/healthcards/keys"
)

func testKEK(t testing.TB) *KEK {
	t.Helper()
	b := make([]byte, KEKSize)
	rand.Read(b)
	k, err := NewKEK(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func openSQLite(t *testing.T, dir string, kek *KEK) *Store {
	t.Helper()
	s, err := OpenSQLite(context.Background(), dir, kek)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSealOpen(t *testing.T) {
	k, other := testKEK(t), testKEK(t)
	sealed, err := k.seal([]byte("hello"), "secret:a")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), "hello") {
		t.Fatal("plaintext visible in sealed value")
	}
	if p, err := k.open(sealed, "secret:a"); err != nil || string(p) != "hello" {
		t.Fatalf("open = %q, %v", p, err)
	}
	if _, err := other.open(sealed, "secret:a"); !errors.Is(err, ErrWrongKEK) && keys.CodeOf(err) != CodeWrongKEK {
		t.Fatalf("other KEK: %v, want %s", err, CodeWrongKEK)
	}
	if _, err := k.open(sealed, "secret:b"); keys.CodeOf(err) != CodeSealBroken {
		t.Fatalf("moved row: %v, want %s", err, CodeSealBroken)
	}
	bad := append([]byte(nil), sealed...)
	bad[len(bad)-1] ^= 1
	if _, err := k.open(bad, "secret:a"); keys.CodeOf(err) != CodeSealBroken {
		t.Fatalf("tampered: %v, want %s", err, CodeSealBroken)
	}
	if _, err := k.open(sealed[:10], "secret:a"); keys.CodeOf(err) != CodeSealBroken {
		t.Fatalf("short: %v", err)
	}
}

func TestKEKFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "kek")
	if err := GenerateKEKFile(p); err != nil {
		t.Fatal(err)
	}
	if err := GenerateKEKFile(p); err == nil {
		t.Fatal("GenerateKEKFile overwrote an existing file")
	}
	k1, err := LoadKEKFile(p)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := LoadKEKFile(p)
	if k1.id != k2.id || strings.Contains(k1.String(), hex.EncodeToString(k1.key[:4])) {
		t.Fatal("KEK id unstable or String shows the key")
	}
	os.Chmod(p, 0o640)
	if _, err := LoadKEKFile(p); keys.CodeOf(err) != CodeBadKEK {
		t.Fatalf("group-readable KEK: %v", err)
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("c2hvcnQ=\n"), 0o600)
	if _, err := LoadKEKFile(short); keys.CodeOf(err) != CodeBadKEK {
		t.Fatalf("short KEK: %v", err)
	}
	if _, err := LoadKEKFile(filepath.Join(dir, "none")); keys.CodeOf(err) != CodeBadKEK {
		t.Fatalf("missing KEK: %v", err)
	}
}

// ringLifecycle runs rotate, retire, compromise and secrets on s, with a
// second Store (another replica) watching through w.
func ringLifecycle(t *testing.T, s, replica *Store, waitSeen func(r *Ring, v int64)) {
	ctx := context.Background()
	r, err := replica.Watch(ctx, 50*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Active(); keys.CodeOf(err) != CodeNoActiveKey {
		t.Fatalf("empty ring Active: %v", err)
	}
	k1, err := s.EnsureActive(ctx, false)
	if err != nil || k1 == "" {
		t.Fatalf("EnsureActive = %q, %v", k1, err)
	}
	if again, err := s.EnsureActive(ctx, false); err != nil || again != "" {
		t.Fatalf("second EnsureActive = %q, %v", again, err)
	}
	k2, err := s.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := s.Version(ctx)
	waitSeen(r, v)
	a, err := r.Active()
	if err != nil || a.KeyID() != k2 {
		t.Fatalf("replica Active = %v, %v; want %s", a, err, k2)
	}
	set := r.PublicJWKS(func(string) int { return 7 })
	if len(set.Keys) != 2 || set.Keys[0].Kid != k1 || set.Keys[1].Kid != k2 || *set.Keys[0].CRLVersion != 7 {
		t.Fatalf("JWKS = %+v", set)
	}
	if err := s.Retire(ctx, k2); keys.CodeOf(err) != CodeRingState {
		t.Fatalf("retire active: %v", err)
	}
	if err := s.Retire(ctx, "nope"); keys.CodeOf(err) != CodeKeyNotFound {
		t.Fatalf("retire unknown: %v", err)
	}
	if err := s.Retire(ctx, k1); err != nil {
		t.Fatal(err)
	}
	if err := s.Compromised(ctx, k2); err != nil {
		t.Fatal(err)
	}
	if err := s.Compromised(ctx, k2); err != nil {
		t.Fatalf("compromised twice: %v", err)
	}
	v, _ = s.Version(ctx)
	waitSeen(r, v)
	if _, err := r.Active(); keys.CodeOf(err) != CodeNoActiveKey {
		t.Fatalf("Active after compromise: %v", err)
	}
	if n := len(r.PublicJWKS(nil).Keys); n != 0 {
		t.Fatalf("JWKS after retire+compromise has %d keys", n)
	}
	if _, err := s.EnsureActive(ctx, false); keys.CodeOf(err) != CodeNoActiveKey {
		t.Fatalf("EnsureActive with all keys gone: %v", err)
	}
	list, _ := s.List(ctx)
	if len(list) != 2 || list[0].Status != keys.StatusRetired || list[1].Status != keys.StatusCompromised || list[1].Removed == nil {
		t.Fatalf("List = %+v", list)
	}
	// Destroyed keys keep no private material.
	var n int
	s.db.QueryRow(`SELECT COUNT(*) FROM keyring_keys WHERE sealed IS NOT NULL`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d destroyed keys still hold sealed private keys", n)
	}
	// Secrets: created once, the same for every replica.
	gen := func(v string) func() (string, error) { return func() (string, error) { return v, nil } }
	a1, err := s.Secret(ctx, SecretRID, gen("first-value-aaaaaaaaaaaaaaaaaaaaaaaaaa"))
	if err != nil {
		t.Fatal(err)
	}
	a2, err := replica.Secret(ctx, SecretRID, gen("second-value-bbbbbbbbbbbbbbbbbbbbbbbbb"))
	if err != nil || a1 != a2 || a1 != "first-value-aaaaaaaaaaaaaaaaaaaaaaaaaa" {
		t.Fatalf("secrets %q %q %v", a1, a2, err)
	}
}

func TestRingSQLite(t *testing.T) {
	dir := t.TempDir()
	kek := testKEK(t)
	s := openSQLite(t, dir, kek)
	ringLifecycle(t, s, s, func(r *Ring, v int64) {
		if err := r.refresh(context.Background()); err != nil || r.Version() != v {
			t.Fatalf("refresh: %v, version %d want %d", err, r.Version(), v)
		}
	})
	// Another KEK is refused when the database is opened, before it could
	// seal anything.
	s.Close()
	if _, err := OpenSQLite(context.Background(), dir, testKEK(t)); keys.CodeOf(err) != CodeWrongKEK {
		t.Fatalf("wrong KEK: %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, FileName)); fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyring.db mode %v", fi.Mode().Perm())
	}
}

func TestWrongKEKRefusesToSign(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openSQLite(t, dir, testKEK(t))
	kid, err := s.EnsureActive(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	// A key sealed under another KEK (a database restored beside the wrong
	// KEK) does not open.
	other := testKEK(t)
	if _, err := s.db.Exec(`DELETE FROM keyring_secrets`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	o := openSQLite(t, dir, other)
	if _, err := o.Watch(ctx, time.Second, nil); keys.CodeOf(err) != CodeWrongKEK {
		t.Fatalf("Watch with the wrong KEK: %v", err)
	}
	// A sealed key moved to another row does not open: Active refuses to
	// sign, the public keys are still published.
	o.db.Exec(`DELETE FROM keyring_secrets`)
	o.Close()
	s = openSQLite(t, dir, s.kek)
	kid2, err := s.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE keyring_keys SET sealed = (SELECT sealed FROM keyring_keys WHERE kid = ?) WHERE kid = ?`, kid, kid2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Watch(ctx, time.Second, nil); keys.CodeOf(err) != CodeSealBroken {
		t.Fatalf("Watch with a moved sealed key: %v", err)
	}
	r := &Ring{s: s, loaded: make(chan struct{}, 1)}
	_ = r.Reload(ctx)
	if _, err := r.Active(); keys.CodeOf(err) != CodeSealBroken {
		t.Fatalf("Active with a moved sealed key: %v", err)
	}
	if n := len(r.PublicJWKS(nil).Keys); n != 2 {
		t.Fatalf("JWKS has %d keys, want 2", n)
	}
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	ringDir := t.TempDir()
	ring, err := keys.OpenRing(ringDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	k1, _ := ring.Rotate()
	k2, _ := ring.Rotate()
	k3, _ := ring.Rotate()
	if err := ring.Retire(k1.KeyID()); err != nil {
		t.Fatal(err)
	}
	s := openSQLite(t, t.TempDir(), testKEK(t))
	secrets := map[string]string{SecretRID: "rid-secret-value-0123456789abcdefghij"}
	wrote, err := s.Import(ctx, ring.List(), ring.Key, secrets)
	if err != nil || !wrote {
		t.Fatalf("Import = %v, %v", wrote, err)
	}
	if wrote, err := s.Import(ctx, ring.List(), ring.Key, secrets); err != nil || wrote {
		t.Fatalf("second Import = %v, %v", wrote, err)
	}
	if _, err := s.Import(ctx, ring.List(), ring.Key, map[string]string{SecretRID: "another-value-0123456789abcdefghijklm"}); keys.CodeOf(err) != CodeMigrated {
		t.Fatalf("Import of another secret: %v", err)
	}
	r, err := s.Watch(ctx, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a, err := r.Active()
	if err != nil || a.KeyID() != k3.KeyID() {
		t.Fatalf("Active = %v, %v", a, err)
	}
	want := ring.PublicJWKS(nil)
	got := r.PublicJWKS(nil)
	if len(got.Keys) != 2 || got.Keys[0].Kid != k2.KeyID() || got.Keys[0].X != want.Keys[0].X || got.Keys[1].Kid != want.Keys[1].Kid {
		t.Fatalf("JWKS %+v, want %+v", got, want)
	}
	if v, _ := s.Secret(ctx, SecretRID, nil); v != secrets[SecretRID] {
		t.Fatal("rid secret not imported")
	}
	list, _ := s.List(ctx)
	if list[0].Status != keys.StatusRetired || list[0].Removed == nil {
		t.Fatalf("retired entry: %+v", list[0])
	}
}

func TestRingPostgres(t *testing.T) {
	dsn := pgtest.FreshSchema(t)
	ctx := context.Background()
	kek := testKEK(t)
	var a, b *Store
	var wg sync.WaitGroup
	var errA, errB error
	wg.Add(2)
	go func() { defer wg.Done(); a, errA = OpenPostgres(ctx, dsn, kek) }()
	go func() { defer wg.Done(); b, errB = OpenPostgres(ctx, dsn, kek) }()
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	defer a.Close()
	defer b.Close()
	// The replica learns of changes by NOTIFY: with a 1-hour poll, a change
	// seen at all was seen through LISTEN.
	r, err := b.Watch(ctx, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	waitNotify := func(r *Ring, v int64) {
		t.Helper()
		for i := 0; i < 500 && r.Version() < v; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if r.Version() < v {
			t.Fatalf("replica at version %d, want %d (no notification)", r.Version(), v)
		}
	}
	time.Sleep(100 * time.Millisecond) // let LISTEN start; it reloads once when it does
	ringLifecycle(t, a, b, waitNotify)
}

// Replicas starting together create one key and one secret.
func TestConcurrentCreatePostgres(t *testing.T) {
	dsn := pgtest.FreshSchema(t)
	ctx := context.Background()
	kek := testKEK(t)
	const n = 6
	stores := make([]*Store, n)
	for i := range stores {
		s, err := OpenPostgres(ctx, dsn, kek)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	kids := make([]string, n)
	secs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kids[i], errs[i] = s.EnsureActive(ctx, false)
			if errs[i] == nil {
				secs[i], errs[i] = s.Secret(ctx, SecretRID, func() (string, error) {
					b := make([]byte, 32)
					rand.Read(b)
					return hex.EncodeToString(b), nil
				})
			}
		}()
	}
	wg.Wait()
	made := 0
	for i := range stores {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if kids[i] != "" {
			made++
		}
		if secs[i] != secs[0] {
			t.Fatalf("replica %d got another rid secret", i)
		}
	}
	list, _ := stores[0].List(ctx)
	if made != 1 || len(list) != 1 {
		t.Fatalf("%d replicas made a key, ring has %d", made, len(list))
	}
}

var _ = sql.ErrNoRows
