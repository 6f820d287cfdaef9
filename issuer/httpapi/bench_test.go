package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/issuer/store/sqlite"
)

const oneCardBundle = `{"resourceType":"Bundle","type":"collection","entry":[
{"fullUrl":"urn:uuid:p","resource":{"resourceType":"Patient","id":"p1","name":[{"family":"Anyperson","given":["John"]}],"birthDate":"1951-01-20"}},
{"fullUrl":"urn:uuid:o","resource":{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94558-4"}]},"subject":{"reference":"urn:uuid:p"},"effectiveDateTime":"2026-02-01T09:30:00Z","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}]}}}]}`

// BenchmarkAPIIssue issues one card per request through POST /v1/cards on
// loopback TLS (keep-alive connections), in parallel.
func BenchmarkAPIIssue(b *testing.B) {
	b.Run("memstore", func(b *testing.B) { benchAPI(b, httpapitest.Options{}) })
	b.Run("sqlite", func(b *testing.B) {
		st, err := sqlite.Open(context.Background(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		benchAPI(b, httpapitest.Options{Store: st})
	})
}

// BenchmarkAPIIssueFormat compares a lab's two paths on SQLite: the card
// as JSON and the card as a QR PNG (issue 15).
func BenchmarkAPIIssueFormat(b *testing.B) {
	for _, format := range []string{"json", "png"} {
		b.Run(format, func(b *testing.B) {
			st, err := sqlite.Open(context.Background(), b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			benchAPIFormat(b, httpapitest.Options{Store: st}, "?format="+format)
		})
	}
}

func benchAPI(b *testing.B, opts httpapitest.Options) { benchAPIFormat(b, opts, "") }

func benchAPIFormat(b *testing.B, opts httpapitest.Options, query string) {
	s := httpapitest.Start(b, opts)
	tr := s.Client().Transport.(*http.Transport)
	tr.MaxIdleConnsPerHost = 64
	body := []byte(oneCardBundle)
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(8) // 16 concurrent clients on 2 cores, as a lab system batching uploads would be
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", s.URL+"/v1/cards"+query, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+s.Token)
			resp, err := s.Client().Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cards/s")
}
