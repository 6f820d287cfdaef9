package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/healthcards/healthcards/issuer/store"
)

// BenchmarkSQLiteFindPatients10k: one desk search (family prefix and
// birth date) among 10,000 stored patients.
func BenchmarkSQLiteFindPatients10k(b *testing.B) {
	s, err := OpenSQLite(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	families := []string{"Garcia", "Smith", "Nguyen", "Müller", "Okafor", "Kowalski", "Tanaka", "Silva"}
	for i := range 10000 {
		p, _ := json.Marshal(map[string]any{"resourceType": "Patient", "name": []any{map[string]any{
			"family": fmt.Sprintf("%s%d", families[i%len(families)], i/len(families)), "given": []string{"Maria", "Elena"}}},
			"birthDate": fmt.Sprintf("19%02d-%02d-%02d", 40+i%60, 1+i%12, 1+i%28)})
		if err := s.PutResources(ctx, fmt.Sprintf("pt-%05d", i), p, nil); err != nil {
			b.Fatal(err)
		}
	}
	q := store.PatientQuery{Family: "garcia12", BirthDate: "1976-01-09"}
	if ms, err := s.FindPatients(ctx, q); err != nil || len(ms) == 0 {
		b.Fatalf("FindPatients: %d, %v", len(ms), err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.FindPatients(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}
