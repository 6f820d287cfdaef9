package storetest

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/healthcards/healthcards/issuer/store"
)

// BenchRevoke measures one durable Revoke (one new entry) per operation.
func BenchRevoke(b *testing.B, s store.Store) {
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := s.Revoke(ctx, []store.RevocationEntry{{Kid: "benchkid", Entry: fmt.Sprintf("b%09d", i)}},
			store.Event{Actor: "bench", Action: "revoke"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchRevokeParallel measures Revoke from GOMAXPROCS×p goroutines at once.
func BenchRevokeParallel(b *testing.B, s store.Store, p int) {
	ctx := b.Context()
	b.ReportAllocs()
	b.SetParallelism(p)
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := s.Revoke(ctx, []store.RevocationEntry{{Kid: "benchkid", Entry: fmt.Sprintf("p%09d", i)}},
				store.Event{Actor: "bench", Action: "revoke"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchJWS is about the size of a one-QR immunization card.
var benchJWS = "eyJ6aXAiOiJERUYiLCJhbGciOiJFUzI1NiIsImtpZCI6IjNLZmRnLVh3UC03Z1h5eXd0VWZVQUR3QnVtRE9QS01ReC1pRUxMMTFXOXMifQ." +
	strings.Repeat("x", 1000) + "." + strings.Repeat("s", 86)

// BenchPutCard measures one durable PutCard (card plus audit event) per
// operation.
func BenchPutCard(b *testing.B, s store.Store) {
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		c := store.IssuedCard{ID: fmt.Sprintf("card%09d", i), PatientID: "p1", Kid: "benchkid", RID: "rid",
			Types: []string{"Immunization", "Patient"}, JWS: benchJWS}
		if err := s.PutCard(ctx, c, store.Event{Actor: "bench", Action: "issue", Kid: c.Kid, RID: c.RID, CardTypes: c.Types}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchPutCardParallel measures PutCard from GOMAXPROCS×p goroutines.
func BenchPutCardParallel(b *testing.B, s store.Store, p int) {
	ctx := b.Context()
	b.ReportAllocs()
	b.SetParallelism(p)
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			c := store.IssuedCard{ID: fmt.Sprintf("pcard%09d", i), PatientID: "p1", Kid: "benchkid", RID: "rid",
				Types: []string{"Immunization", "Patient"}, JWS: benchJWS}
			if err := s.PutCard(ctx, c, store.Event{Actor: "bench", Action: "issue"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchCRL measures reading a CRL of n entries.
func BenchCRL(b *testing.B, s store.Store, n int) {
	ctx := b.Context()
	entries := make([]store.RevocationEntry, n)
	for i := range entries {
		entries[i] = store.RevocationEntry{Kid: "crlkid", Entry: fmt.Sprintf("r%09d", i)}
	}
	if _, err := s.Revoke(ctx, entries, store.Event{Actor: "bench", Action: "revoke"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c, err := s.CRL(ctx, "crlkid")
		if err != nil || len(c.RIDs) != n {
			b.Fatal(len(c.RIDs), err)
		}
	}
}
