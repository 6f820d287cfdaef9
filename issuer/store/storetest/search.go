package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/healthcards/healthcards/issuer/store"
)

func patientJSON(family string, given []string, birth string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"resourceType": "Patient",
		"name": []any{map[string]any{"family": family, "given": given}}, "birthDate": birth})
	return b
}

func matchIDs(t *testing.T, s store.Store, q store.PatientQuery) []string {
	t.Helper()
	ms, err := s.FindPatients(context.Background(), q)
	must(t, err, "FindPatients")
	var ids []string
	for _, m := range ms {
		if !json.Valid(m.Patient) {
			t.Fatalf("FindPatients(%+v): match %s has no Patient JSON", q, m.ID)
		}
		ids = append(ids, m.ID)
	}
	return ids
}

// testFindPatients: case-insensitive prefixes of family and any given
// name, exact birth date, bounded results, LIKE metacharacters matched
// literally, and a replaced Patient searched by its new name only.
func testFindPatients(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.PutResources(ctx, "p1", patientJSON("Anyperson", []string{"John", "B."}, "1951-01-20"), nil), "put p1")
	must(t, s.PutResources(ctx, "p2", patientJSON("ANYPERSON", []string{"Jane"}, "1990-02-03"), nil), "put p2")
	must(t, s.PutResources(ctx, "p3", patientJSON("Smith", []string{"Paul", "Johnny"}, "1951-01-20"), nil), "put p3")
	must(t, s.PutResources(ctx, "p4", patientJSON("Ö_zil%", []string{"Émile"}, "1951"), nil), "put p4")
	must(t, s.PutResources(ctx, "p5", nil, []store.Resource{res("Observation", "o1", t0, `{"resourceType":"Observation"}`)}), "put p5 without Patient")
	for _, tc := range []struct {
		q    store.PatientQuery
		want []string
	}{
		{store.PatientQuery{Family: "any"}, []string{"p1", "p2"}},
		{store.PatientQuery{Family: " AnyP ", Given: "jo"}, []string{"p1"}},
		{store.PatientQuery{Given: "JOHN"}, []string{"p1", "p3"}},
		{store.PatientQuery{Given: "ohn"}, nil}, // a prefix, not a substring
		{store.PatientQuery{BirthDate: "1951-01-20"}, []string{"p1", "p3"}},
		{store.PatientQuery{BirthDate: "1951-01"}, nil}, // exact, not a prefix
		{store.PatientQuery{Family: "any", BirthDate: "1990-02-03"}, []string{"p2"}},
		{store.PatientQuery{Family: "any", Limit: 1}, []string{"p1"}},
		{store.PatientQuery{Family: "%"}, nil},
		{store.PatientQuery{Family: "_"}, nil},
		{store.PatientQuery{Family: "ö_z"}, []string{"p4"}},
		{store.PatientQuery{Family: "ö_zil%", Given: "émi", BirthDate: "1951"}, []string{"p4"}},
		{store.PatientQuery{Family: "nobody"}, nil},
	} {
		if got := matchIDs(t, s, tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("FindPatients(%+v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	must(t, s.PutResources(ctx, "p3", patientJSON("Jones", []string{"Paul"}, "1951-01-20"), nil), "rename p3")
	if got := matchIDs(t, s, store.PatientQuery{Family: "smi"}); got != nil {
		t.Errorf("old name still found: %v", got)
	}
	if got := matchIDs(t, s, store.PatientQuery{Family: "jon", Given: "pa"}); !slices.Equal(got, []string{"p3"}) {
		t.Errorf("new name: %v, want [p3]", got)
	}
	for i := range store.MaxSearchResults + 5 {
		must(t, s.PutResources(ctx, "m"+string(rune('a'+i/26))+string(rune('a'+i%26)), patientJSON("Many", nil, ""), nil), "put many")
	}
	if got := matchIDs(t, s, store.PatientQuery{Family: "many", Limit: 1000}); len(got) != store.MaxSearchResults {
		t.Errorf("unbounded: %d results, want %d", len(got), store.MaxSearchResults)
	}
	for _, q := range []store.PatientQuery{{}, {Family: "  "}, {BirthDate: "1951/01/20"}, {Family: "a", Limit: -1}, {Given: "a\x00"}} {
		_, err := s.FindPatients(ctx, q)
		wantErr(t, err, store.ErrInvalid, "FindPatients invalid query")
	}
}

// testPatientCards: a patient's cards oldest first, bounded, none for an
// unknown patient.
func testPatientCards(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b, c := card("c-a"), card("c-b"), card("c-c")
	a.IssuedAt, b.IssuedAt, c.IssuedAt = t0.Add(2*time.Second), t0, t0.Add(time.Second)
	c.PatientID = "other"
	for _, x := range []store.IssuedCard{a, b, c} {
		must(t, s.PutCard(ctx, x, issueEvent(x)), "PutCard")
	}
	got, err := s.PatientCards(ctx, a.PatientID, 0)
	must(t, err, "PatientCards")
	if len(got) != 2 || got[0].ID != "c-b" || got[1].ID != "c-a" {
		t.Fatalf("PatientCards = %+v, want c-b then c-a", got)
	}
	if got[1].Kid != a.Kid || got[1].RID != a.RID || got[1].JWS != a.JWS || !got[1].IssuedAt.Equal(a.IssuedAt) || !slices.Equal(got[1].Types, a.Types) {
		t.Errorf("PatientCards card = %+v, want %+v", got[1], a)
	}
	if got, _ := s.PatientCards(ctx, a.PatientID, 1); len(got) != 1 {
		t.Errorf("limit 1: %d cards", len(got))
	}
	if got, err := s.PatientCards(ctx, "nobody", 0); err != nil || len(got) != 0 {
		t.Errorf("unknown patient: %v, %v", got, err)
	}
	_, err = s.PatientCards(ctx, a.PatientID, -1)
	wantErr(t, err, store.ErrInvalid, "negative limit")
}
