package desk

import (
	"testing"
	"time"
)

// BenchmarkFormToBundle: validating the result form and building its FHIR
// bundle, the desk's own work before the issuer signs.
func BenchmarkFormToBundle(b *testing.B) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		f := &Form{Given: "Maria Elena", Family: "Garcia", BirthDate: "1984-07-15", PatientID: "pt-1", Contact: "maria@example.org",
			Test: "94500-6", Specimen: "258500001", Collected: "2026-11-29T10:30", Result: "detected", Identity: "photo-id"}
		at, ok := f.validate(now, time.UTC)
		if !ok {
			b.Fatal(f.Errors)
		}
		if _, err := f.Bundle("Lab", at); err != nil {
			b.Fatal(err)
		}
	}
}
