package loadtest_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/healthcards/healthcards/verifier/server"
	"github.com/healthcards/healthcards/verifier/server/loadtest"
	"github.com/healthcards/healthcards/verifier/server/servertest"
)

var (
	loadDuration    = flag.Duration("load-duration", 10*time.Second, "duration of BenchmarkVerifyService")
	loadConcurrency = flag.Int("load-concurrency", 8, "workers of BenchmarkVerifyService")
)

func verifiedCheck(status int, body []byte) error {
	if status != 200 || !bytes.Contains(body, []byte(`"verdict":"verified"`)) {
		return fmt.Errorf("HTTP %d: %.200s", status, body)
	}
	return nil
}

func setup(t testing.TB) loadtest.Config {
	is := servertest.NewIssuer(t, "Load Test Health", "revoked-rid")
	// Production logging (JSON, info level: two lines per request), written
	// to io.Discard.
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	svc := servertest.Start(t, server.Config{RateLimit: -1, Logger: log}, []*servertest.Issuer{is})
	body, _ := json.Marshal(map[string]string{"input": servertest.QRText(t, is.Card(t, nil, "ok-rid"))})
	return loadtest.Config{URL: svc.URL + "/v1/verify", ContentType: "application/json", Body: body, Check: verifiedCheck}
}

// TestLoadGenerator runs a fixed number of requests (no timing asserted)
// and checks every one verified.
func TestLoadGenerator(t *testing.T) {
	cfg := setup(t)
	cfg.Requests, cfg.Concurrency, cfg.Duration = 200, 8, time.Minute
	r, err := loadtest.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 200 || r.Failures != 0 {
		t.Fatalf("%s; first error %v", r, r.FirstErr)
	}
	if r.P50 <= 0 || r.P99 < r.P50 || r.Max < r.P99 {
		t.Fatalf("percentiles out of order: %s", r)
	}
}

// BenchmarkVerifyService drives the running service on loopback with the
// closed-loop load generator for -load-duration after a warm-up (key set
// and revocation list cached), and reports verifications/s, p50/p99
// latency, and heap and RSS after the run. Run it once:
//
//	go test ./verifier/server/loadtest -run '^$' -bench VerifyService -benchtime 1x
func BenchmarkVerifyService(b *testing.B) {
	cfg := setup(b)
	warm := cfg
	warm.Requests, warm.Concurrency, warm.Duration = 200, 4, time.Minute
	if r, _ := loadtest.Run(b.Context(), warm); r.Failures > 0 {
		b.Fatalf("warm-up: %s; %v", r, r.FirstErr)
	}
	cfg.Duration, cfg.Concurrency = *loadDuration, *loadConcurrency
	b.ResetTimer()
	var last loadtest.Result
	for i := 0; i < b.N; i++ {
		r, err := loadtest.Run(b.Context(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		if r.Failures > 0 {
			b.Fatalf("%s; first error %v", r, r.FirstErr)
		}
		last = r
	}
	b.StopTimer()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(last.PerSecond, "verifications/s")
	b.ReportMetric(float64(last.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(last.P99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(loadtest.RSSBytes())/(1<<20), "rss-MiB")
	b.Logf("%s (GOMAXPROCS %d, concurrency %d)", last, runtime.GOMAXPROCS(0), cfg.Concurrency)
}
