package did

import (
	"encoding/json"
	"testing"

	"github.com/healthcards/healthcards/keys"
)

func BenchmarkParseKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseKey(w3cP256Vectors[0].did); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDocumentKeys(b *testing.B) {
	data, err := json.Marshal(NewDocument("did:web:example.com", []keys.JWK{vectorJWK(b)}))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		doc, err := ParseDocument(data)
		if err != nil {
			b.Fatal(err)
		}
		if len(doc.Keys()) != 1 {
			b.Fatal("no key")
		}
	}
}
