package issuer

import (
	"context"
	"testing"
)

// BenchmarkIssueCard issues the cards of a one-test lab bundle (validate,
// split, minify, sign, store) through the library.
func BenchmarkIssueCard(b *testing.B) {
	f := newFixture(b)
	bundle := []byte(`{"resourceType":"Bundle","type":"collection","entry":[
	{"fullUrl":"urn:uuid:p","resource":{"resourceType":"Patient","id":"p1","name":[{"family":"Anyperson","given":["John"]}],"birthDate":"1951-01-20"}},
	{"fullUrl":"urn:uuid:o","resource":{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94558-4","display":"SARS-CoV-2 Ag"}]},"subject":{"reference":"urn:uuid:p"},"effectiveDateTime":"2026-02-01T09:30:00Z","performer":[{"display":"Demo Lab"}],"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009","display":"Negative"}]}}}]}`)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.is.IssueBundle(ctx, bundle, IssueOptions{Actor: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cards/s")
}
