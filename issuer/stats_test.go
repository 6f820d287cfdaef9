package issuer

import (
	"context"
	"testing"

	"github.com/healthcards/healthcards/issuer/store/memstore"
	"github.com/healthcards/healthcards/keys"
)

// Ready: a ring without an active key is not ready (no_signing_key); with
// one it is, and Stats counts cards and revocations.
func TestReadyAndStats(t *testing.T) {
	ring, err := keys.OpenRing(t.TempDir()+"/keys", nil)
	if err != nil {
		t.Fatal(err)
	}
	is, err := New(Config{Iss: "https://issuer.example.org", Keys: ring, Store: memstore.New(), RIDSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := is.Ready(ctx); CodeOf(err) != CodeNoSigningKey {
		t.Fatalf("no key: %v, want no_signing_key", err)
	}
	f := newFixture(t)
	if err := f.is.Ready(ctx); err != nil {
		t.Fatalf("with a key: %v", err)
	}
	cards, err := f.is.IssueBundle(ctx, readTestdata(t, "lab-bundle.json"), IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.is.Revoke(ctx, RevokeRequest{PatientID: "pat-1001"}); err != nil {
		t.Fatal(err)
	}
	if st := f.is.Stats(); st.CardsIssued != uint64(len(cards)) || st.Revocations != 1 || st.CRLEntries != 1 {
		t.Fatalf("stats %+v after %d cards and one revocation", st, len(cards))
	}
}
