package issuer

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/issuer/store/memstore"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
)

func kidsOf(s keys.JWKS) []string {
	var out []string
	for _, k := range s.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// A running issuer sees key changes another process (the CLI) makes in
// the ring directory at once: a rotation switches the signer for the next
// card, a compromised key leaves the JWKS on the next call (KEY-9, KEY-10).
func TestWatchedRingFollowsOtherProcess_KEY10(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	var pass []byte // plaintext key files: PBES2 at 600,000 iterations per reload would dominate the test
	cli, err := keys.OpenRing(dir, pass)
	if err != nil {
		t.Fatal(err)
	}
	first, err := cli.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	w, err := OpenWatchedRing(dir, pass)
	if err != nil {
		t.Fatal(err)
	}
	is, err := New(Config{Iss: "https://issuer.example.org", Keys: w, Store: memstore.New(), RIDSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	issueKid := func() string {
		t.Helper()
		cards, err := is.IssueBundle(ctx, bundles.LabCovidPCR, IssueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c, err := shc.Parse(cards[0].JWS)
		if err != nil {
			t.Fatal(err)
		}
		return c.KeyID()
	}
	jwks := func() []string {
		t.Helper()
		s, err := is.JWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return kidsOf(s)
	}
	if k := issueKid(); k != first.KeyID() {
		t.Fatalf("signed by %s, want %s", k, first.KeyID())
	}

	// The operator rotates in another process (a second Ring on the dir).
	cli, err = keys.OpenRing(dir, pass)
	if err != nil {
		t.Fatal(err)
	}
	second, err := cli.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if k := issueKid(); k != second.KeyID() {
		t.Fatalf("after rotate: signed by %s, want the new key %s", k, second.KeyID())
	}
	if got := jwks(); !slices.Equal(got, []string{first.KeyID(), second.KeyID()}) {
		t.Fatalf("after rotate: JWKS %v, want both keys (KEY-9)", got)
	}

	// The old key is reported compromised: gone from the next JWKS.
	if err := cli.Compromised(first.KeyID()); err != nil {
		t.Fatal(err)
	}
	if got := jwks(); !slices.Equal(got, []string{second.KeyID()}) {
		t.Fatalf("after compromise: JWKS %v, want only %s (KEY-10)", got, second.KeyID())
	}
	if slices.Contains(is.PublishedKids(), first.KeyID()) {
		t.Error("revocations would still be written for the compromised key")
	}

	// The active key compromised: no signing until the next rotation.
	if err := cli.Compromised(second.KeyID()); err != nil {
		t.Fatal(err)
	}
	if _, err := is.IssueBundle(ctx, bundles.LabCovidPCR, IssueOptions{}); CodeOf(err) != CodeNoSigningKey {
		t.Fatalf("issuing with the active key compromised: %v, want %s", err, CodeNoSigningKey)
	}
	if got := jwks(); len(got) != 0 {
		t.Fatalf("JWKS %v, want empty", got)
	}
	third, err := cli.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if k := issueKid(); k != third.KeyID() {
		t.Fatalf("signed by %s, want %s", k, third.KeyID())
	}
}

// A changed ring that cannot be opened fails closed: no signing, and the
// JWKS shows only keys the manifest on disk still publishes; the next call
// after a repair recovers.
func TestWatchedRingFailsClosed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	cli, err := keys.OpenRing(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := cli.Rotate()
	b, err := cli.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	w, err := OpenWatchedRing(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, ringManifest)
	good, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	// The active key's file disappears (a broken ring): reload fails.
	keyFile := filepath.Join(dir, b.KeyID()+".jwk")
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, append(good, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Active(); err == nil {
		t.Fatal("Active signs although the changed ring does not open")
	}
	if got := kidsOf(w.PublicJWKS(nil)); !slices.Equal(got, []string{a.KeyID(), b.KeyID()}) {
		t.Errorf("JWKS %v: keys the manifest still publishes should stay", got)
	}
	// A garbled manifest publishes nothing.
	if err := os.WriteFile(manifest, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := kidsOf(w.PublicJWKS(nil)); len(got) != 0 {
		t.Errorf("JWKS %v with an unreadable manifest, want none", got)
	}
	// Repaired: the next call reloads.
	if err := os.WriteFile(keyFile, kb, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, good, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := w.Active()
	if err != nil || s.KeyID() != b.KeyID() {
		t.Fatalf("after repair: %v %v", s, err)
	}
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
}
