package keydb

import (
	"context"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/internal/pgtest"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/keys/pkcs11"
	"github.com/healthcards/healthcards/keys/pkcs11/softhsmtest"
)

// tokenKEK opens the token afresh (its own session pool, as another
// replica would) and makes a KEK of its AES key label.
func tokenKEK(t *testing.T, tok softhsmtest.Token, label string, generate bool) *KEK {
	t.Helper()
	tk, err := pkcs11.Open(pkcs11.Config{Module: tok.Module, TokenLabel: tok.Label, PIN: tok.PIN})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tk.Close() })
	var k *pkcs11.AESKey
	if generate {
		k, _, err = tk.FindOrGenerateAESKey(label)
	} else {
		k, err = tk.FindAESKey(label)
	}
	if err != nil {
		t.Fatal(err)
	}
	a, err := k.AEAD()
	if err != nil {
		t.Fatal(err)
	}
	kek, err := NewTokenKEK(a)
	if err != nil {
		t.Fatal(err)
	}
	return kek
}

// One test function: SoftHSM reads SOFTHSM2_CONF once per process.
func TestTokenKEK(t *testing.T) {
	tok := softhsmtest.New(t)
	ctx := context.Background()
	k1 := tokenKEK(t, tok, "shc-kek", true)
	k1again := tokenKEK(t, tok, "shc-kek", false)
	other := tokenKEK(t, tok, "shc-kek-other", true)
	if k1.id != k1again.id || k1.id == other.id {
		t.Fatalf("fingerprints: same key %v %v, other key %v", k1, k1again, other)
	}
	if strings.Contains(k1.String(), "shc-kek") || k1.key != [KEKSize]byte{} {
		t.Fatalf("token KEK holds key material or names: %v", k1)
	}

	t.Run("seal and open on the token", func(t *testing.T) {
		sealed, err := k1.seal([]byte("hello"), "secret:a")
		if err != nil {
			t.Fatal(err)
		}
		if p, err := k1again.open(sealed, "secret:a"); err != nil || string(p) != "hello" {
			t.Fatalf("open with the same token key = %q, %v", p, err)
		}
		if _, err := other.open(sealed, "secret:a"); keys.CodeOf(err) != CodeWrongKEK {
			t.Fatalf("other token key: %v, want %s", err, CodeWrongKEK)
		}
		if _, err := k1.open(sealed, "secret:b"); keys.CodeOf(err) != CodeSealBroken {
			t.Fatalf("moved row: %v, want %s", err, CodeSealBroken)
		}
		bad := append([]byte(nil), sealed...)
		bad[2+8+12] ^= 1 // the wrapped data key
		if _, err := k1.open(bad, "secret:a"); keys.CodeOf(err) != CodeSealBroken {
			t.Fatalf("tampered wrapped key: %v, want %s", err, CodeSealBroken)
		}
		// A file KEK does not open a token-sealed value, and vice versa.
		if _, err := testKEK(t).open(sealed, "secret:a"); keys.CodeOf(err) != CodeWrongKEK {
			t.Fatalf("file KEK on a token seal: %v", err)
		}
	})

	t.Run("rotate, two stores agree (SQLite)", func(t *testing.T) {
		dir := t.TempDir()
		a := openSQLite(t, dir, k1)
		b := openSQLite(t, dir, k1again)
		ringLifecycle(t, a, b, func(r *Ring, v int64) {
			if err := r.refresh(ctx); err != nil || r.Version() != v {
				t.Fatalf("refresh: %v, version %d want %d", err, r.Version(), v)
			}
		})
		a.Close()
		b.Close()
		if _, err := OpenSQLite(ctx, dir, other); keys.CodeOf(err) != CodeWrongKEK {
			t.Fatalf("another token key: %v, want %s", err, CodeWrongKEK)
		}
		if _, err := OpenSQLite(ctx, dir, testKEK(t)); keys.CodeOf(err) != CodeWrongKEK {
			t.Fatalf("a file KEK on a token-KEK database: %v, want %s", err, CodeWrongKEK)
		}
	})

	t.Run("two replicas on PostgreSQL sign with keys sealed on the token", func(t *testing.T) {
		dsn := pgtest.FreshSchema(t)
		a, err := OpenPostgres(ctx, dsn, k1)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		b, err := OpenPostgres(ctx, dsn, k1again)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if _, err := a.EnsureActive(ctx, false); err != nil {
			t.Fatal(err)
		}
		kid, err := a.Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r, err := b.Watch(ctx, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		s, err := r.Active()
		if err != nil || s.KeyID() != kid {
			t.Fatalf("replica Active = %v, %v; want %s", s, err, kid)
		}
		if _, err := OpenPostgres(ctx, dsn, other); keys.CodeOf(err) != CodeWrongKEK {
			t.Fatalf("another token key: %v, want %s", err, CodeWrongKEK)
		}
	})
}
