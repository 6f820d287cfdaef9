package sqlstore

import (
	"errors"
	"testing"

	"github.com/healthcards/healthcards/issuer/store"
)

// PutCards stores an issuance's cards all or none: a set with one existing
// id is ErrConflict and writes none of its cards or events, so a replica
// resuming a bulk batch never finds part of a patient's set.
func TestSQLitePutCardsAllOrNone(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := t.Context()
	card := func(id string) store.IssuedCard {
		return store.IssuedCard{ID: id, PatientID: "p", Kid: "k", JWS: "x." + id}
	}
	evs := func(n int) []store.Event {
		out := make([]store.Event, n)
		for i := range out {
			out[i] = store.Event{Action: "issue"}
		}
		return out
	}
	if err := s.PutCards(ctx, []store.IssuedCard{card("a"), card("b")}, evs(2)); err != nil {
		t.Fatal(err)
	}
	err := s.PutCards(ctx, []store.IssuedCard{card("c"), card("a")}, evs(2))
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("set with an existing id: %v, want ErrConflict", err)
	}
	if _, err := s.Card(ctx, "c"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("card c of the refused set was stored: %v", err)
	}
	for _, id := range []string{"a", "b"} {
		if c, err := s.Card(ctx, id); err != nil || c.JWS != "x."+id {
			t.Fatalf("card %s: %+v %v", id, c, err)
		}
	}
	var events int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit WHERE action = 'issue'`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != 2 {
		t.Fatalf("%d issue events, want 2 (none for the refused set)", events)
	}
	if err := s.PutCards(ctx, []store.IssuedCard{card("d")}, nil); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("cards without events: %v, want ErrInvalid", err)
	}
}
