package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/keydb"
	"github.com/healthcards/healthcards/keys"
)

func kekFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kek")
	if err := keydb.GenerateKEKFile(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// migrate-keys moves a development data directory's key ring and secrets
// into the database (here SQLite, DIR/keyring.db): `serve --kek-file` then
// signs with the same key and computes the same rids, `keys` works on the
// database, and a second run changes nothing.
func TestMigrateKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kek := kekFile(t)
	var out bytes.Buffer
	var ue usageError
	if err := run(ctx, []string{"migrate-keys", "--data", dir}, &out, &out); !errors.As(err, &ue) || !strings.Contains(err.Error(), "--kek-file") {
		t.Fatalf("migrate-keys without --kek-file: %v", err)
	}
	// A data directory with a rotated ring and a rid secret.
	for _, args := range [][]string{{"keys", "rotate", "--data", dir}, {"keys", "rotate", "--data", dir}} {
		out.Reset()
		if err := run(ctx, args, &out, &out); err != nil {
			t.Fatal(err)
		}
	}
	active := strings.TrimSpace(out.String())
	rid, _ := issuer.NewRIDSecret()
	os.WriteFile(filepath.Join(dir, "rid-secret"), []byte(rid+"\n"), 0o600)

	// Serving from the database before migrating is refused: the data
	// directory's ring would be forgotten.
	var sout bytes.Buffer
	err := run(ctx, []string{"serve", "--data", dir, "--kek-file", kek, "--listen", "127.0.0.1:" + freePort(t), "--verifier-listen", "off", "--no-sample"}, &sout, &sout)
	if err == nil || !strings.Contains(err.Error(), "migrate-keys") {
		t.Fatalf("serve --kek-file before migrate-keys: %v", err)
	}

	out.Reset()
	if err := run(ctx, []string{"migrate-keys", "--data", dir, "--kek-file", kek}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "moved 2 keys and 1 secrets") {
		t.Fatalf("migrate-keys: %q", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"migrate-keys", "--data", dir, "--kek-file", kek}, &out, &out); err != nil || !strings.Contains(out.String(), "already migrated") {
		t.Fatalf("second migrate-keys: %v %q", err, out.String())
	}
	// The database holds no secret in clear.
	db, _ := os.ReadFile(filepath.Join(dir, keydb.FileName))
	if bytes.Contains(db, []byte(rid)) {
		t.Fatal("the rid secret is in clear in keyring.db")
	}

	c := startServe(t, dir, "--kek-file", kek, "--no-sample")
	if got := c.issueKid(); got != active {
		t.Fatalf("after migrate-keys the card is signed by %s, want %s", got, active)
	}
	// The rid of a revocation is computed with the migrated secret.
	code, b, err := c.do("POST", "/v1/revocations", []byte(`{"patientId":"pt-1001"}`))
	if err != nil || code != 200 || !strings.Contains(string(b), issuer.RID(rid, active, "pt-1001")) {
		t.Fatalf("revoke: %d %v %s (want rid %s)", code, err, b, issuer.RID(rid, active, "pt-1001"))
	}
	// keys on the database: rotate is seen by the running service.
	out.Reset()
	if err := run(ctx, []string{"keys", "rotate", "--data", dir, "--kek-file", kek}, &out, &out); err != nil {
		t.Fatal(err)
	}
	next := strings.TrimSpace(out.String())
	waitFor(t, func() bool { return c.issueKid() == next })
	out.Reset()
	if err := run(ctx, []string{"keys", "list", "--data", dir, "--kek-file", kek}, &out, &out); err != nil || strings.Count(out.String(), "\n") != 3 || !strings.Contains(out.String(), next+"\tactive") {
		t.Fatalf("keys list: %v %q", err, out.String())
	}
	// Another KEK is refused before anything is written.
	if err := run(ctx, []string{"keys", "rotate", "--data", dir, "--kek-file", kekFile(t)}, &out, &out); keys.CodeOf(err) != keydb.CodeWrongKEK {
		t.Fatalf("rotate with another KEK: %v, want %s", err, keydb.CodeWrongKEK)
	}
}

// waitFor polls cond (bounded by startBound; no timing assertion).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(startBound); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not reached")
}
