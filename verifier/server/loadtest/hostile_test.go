package loadtest_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/verifier/server"
	"github.com/healthcards/healthcards/verifier/server/loadtest"
	"github.com/healthcards/healthcards/verifier/server/servertest"
)

// hostileKind is one kind of hostile request (issue 10).
type hostileKind struct {
	name        string
	contentType string
	body        []byte
	check       func(status int, body []byte) error
}

// hostileEnv is a running service (production logging to a discard sink,
// rate limit off so that one loopback client can drive it) with a legit
// request and the hostile kinds.
type hostileEnv struct {
	legit   loadtest.Config
	kinds   []hostileKind
	fetches *atomic.Int64 // requests reaching the many-issuers host
}

// pngHeader is a PNG signature and IHDR chunk declaring w×h 16-bit RGBA,
// followed by a truncated IDAT: enough for image.DecodeConfig.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 16, 6
	chunk := func(typ string, data []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		b = append(append(b, typ...), data...)
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, chunk("IHDR", ihdr)...)
	return append(out, chunk("IDAT", []byte{0x78, 0x9c})...)
}

func wantStatus(want int, code string) func(int, []byte) error {
	return func(status int, body []byte) error {
		if status != want || !bytes.Contains(body, []byte(code)) {
			return fmt.Errorf("HTTP %d, want %d %s: %.200s", status, want, code, body)
		}
		return nil
	}
}

func newHostileEnv(t testing.TB) *hostileEnv {
	is := servertest.NewIssuer(t, "Load Test Health", "revoked-rid")
	// A host answering for 100 issuers (https://127.0.0.1:port/i/N),
	// none of them trusted: it counts every request it gets.
	var fetches atomic.Int64
	host := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		http.NotFound(w, r)
	}))
	t.Cleanup(host.Close)
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	svc := servertest.Start(t, server.Config{RateLimit: -1, Logger: log}, []*servertest.Issuer{is})
	url := svc.URL + "/v1/verify"
	legitBody, _ := json.Marshal(map[string]string{"input": servertest.QRText(t, is.Card(t, nil, "ok-rid"))})

	// 1. 10 MiB of "shc:/56 shc:/56 …".
	manyCards := bytes.Repeat([]byte("shc:/56 "), (server.DefaultMaxBodyBytes-1)/8)

	// 1b. 10 MiB of empty FHIR Parameters entries.
	emptyParams := append(append([]byte(`{"resourceType":"Parameters","parameter":[{}`), bytes.Repeat([]byte(",{}"), (server.DefaultMaxBodyBytes-64)/3)...), "]}"...)

	// 2. The most cards an input may hold, each naming another issuer.
	var jws []string
	for i := range 100 {
		priv, err := keys.Generate()
		if err != nil {
			t.Fatal(err)
		}
		sg, err := shc.NewSigner(priv)
		if err != nil {
			t.Fatal(err)
		}
		p := shc.NewPayload(host.URL+"/i/"+strconv.Itoa(i), time.Now().Add(-time.Hour), json.RawMessage(servertest.LabBundle))
		s, err := sg.Sign(p)
		if err != nil {
			t.Fatal(err)
		}
		jws = append(jws, s)
	}
	manyIssuers, _ := shc.MarshalFile(jws...)

	// 3. The most cards an input may hold, each inflating to ~4 MiB (the
	// payload cap) from a few KB: DEFLATE work per request.
	priv, _ := keys.Generate()
	sg, _ := shc.NewSigner(priv)
	big := `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"resource:0","resource":{"resourceType":"Patient","id":"` +
		strings.Repeat("a", 4<<20-2048) + `"}}]}`
	p := shc.NewPayload("https://bombs.example", time.Now().Add(-time.Hour), json.RawMessage(big))
	bomb, err := sg.Sign(p)
	if err != nil {
		t.Fatal(err)
	}
	bombs := make([]string, 100)
	for i := range bombs {
		bombs[i] = bomb
	}
	bombFile, _ := shc.MarshalFile(bombs...)

	// 4. The SVG of issue 10: 16 rectangles reaching 1e308 (196 CPU-s
	// before shc/qr clamped geometry and budgeted rasterizing).
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 29 29">` +
		strings.Repeat(`<rect x="-1e308" y="-1e308" width="1e308" height="1e308"/>`, 16) + `</svg>`)

	// 5. Big pixels: a PNG header declaring 6000×6000 16-bit RGBA (1.3 GB
	// decoded; refused from its header), and a real flat 16-bit RGBA PNG
	// of 2000×2000 (32 MB decoded) with no QR code in it.
	bigHeader := pngHeader(6000, 6000)
	flat := image.NewNRGBA64(image.Rect(0, 0, 2000, 2000))
	for i := range flat.Pix {
		flat.Pix[i] = 0xff
	}
	var flatPNG bytes.Buffer
	if err := png.Encode(&flatPNG, flat); err != nil {
		t.Fatal(err)
	}

	return &hostileEnv{
		legit:   loadtest.Config{URL: url, ContentType: "application/json", Body: legitBody, Check: verifiedCheck},
		fetches: &fetches,
		kinds: []hostileKind{
			{"many-cards body (10 MiB of shc:/56)", "text/plain", manyCards, wantStatus(422, "too_many_cards")},
			{"empty-Parameters body (10 MiB of {},)", shc.FileMediaType, emptyParams, wantStatus(422, "payload_too_large")},
			{fmt.Sprintf("many-issuers body (100 cards, 100 issuers, %d KB)", len(manyIssuers)>>10), shc.FileMediaType, manyIssuers, wantStatus(200, `"issuer_not_trusted"`)},
			{"huge-SVG (16 rects to 1e308, 505 B)", "text/plain", svg, wantStatus(422, "")},
			{"big-pixel PNG header (6000x6000 16-bit)", "image/png", bigHeader, wantStatus(422, "image_too_large")},
			{fmt.Sprintf("big-pixel flat PNG (2000x2000 16-bit, %d KB)", flatPNG.Len()>>10), "image/png", flatPNG.Bytes(), wantStatus(422, "")},
			{fmt.Sprintf("inflation body (100 cards of %d B, each ~4 MiB inflated)", len(bomb)), shc.FileMediaType, bombFile, wantStatus(200, `"payload_too_large"`)},
		},
	}
}

// cost sends one request of kind k alone and returns the process CPU time
// and the peak RSS above the RSS before it (client and server are both in
// this process, so both are upper bounds for the service).
func cost(t testing.TB, env *hostileEnv, k hostileKind) (time.Duration, int64, error) {
	runtime.GC()
	cfg := loadtest.Config{URL: env.legit.URL, ContentType: k.contentType, Body: k.body, Check: k.check, Requests: 1, Concurrency: 1, Duration: time.Minute}
	if err := loadtest.ResetPeakRSS(); err != nil {
		t.Skipf("cannot reset the peak RSS: %v", err)
	}
	before := loadtest.RSSBytes()
	cpu0 := loadtest.CPUTime()
	r, err := loadtest.Run(context.Background(), cfg)
	cpu := loadtest.CPUTime() - cpu0
	if err == nil && r.Failures > 0 {
		err = r.FirstErr
	}
	return cpu, max(0, loadtest.PeakRSSBytes()-before), err
}

// TestHostileRequests sends one request of each hostile kind and checks
// the answer and that no key set was fetched for an untrusted issuer.
// Nothing is timed (BenchmarkHostileMix measures).
func TestHostileRequests(t *testing.T) {
	env := newHostileEnv(t)
	for _, k := range env.kinds {
		cpu, rss, err := cost(t, env, k)
		if err != nil {
			t.Errorf("%s: %v", k.name, err)
		}
		t.Logf("%s: %s CPU, peak RSS +%d MiB", k.name, cpu.Round(time.Millisecond), rss>>20)
	}
	if n := env.fetches.Load(); n != 0 {
		t.Errorf("%d fetches for untrusted issuers", n)
	}
}

// BenchmarkHostileMix measures, on the running service over loopback:
// (1) the CPU time and peak RSS of one request of each hostile kind alone;
// (2) legitimate verifications' latency while 16 requests of each hostile
// kind are in flight (closed loop) for -load-duration. Run it once:
//
//	go test ./verifier/server/loadtest -run '^$' -bench HostileMix -benchtime 1x -load-duration 10s
func BenchmarkHostileMix(b *testing.B) {
	env := newHostileEnv(b)
	warm := env.legit
	warm.Requests, warm.Concurrency, warm.Duration = 200, 4, time.Minute
	if r, _ := loadtest.Run(b.Context(), warm); r.Failures > 0 {
		b.Fatalf("warm-up: %s; %v", r, r.FirstErr)
	}
	for _, k := range env.kinds {
		cpu, rss, err := cost(b, env, k)
		if err != nil {
			b.Fatalf("%s: %v", k.name, err)
		}
		b.Logf("alone: %s: %s CPU, peak RSS +%d MiB", k.name, cpu.Round(time.Millisecond), rss>>20)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithCancel(b.Context())
		var wg sync.WaitGroup
		hostile := make([]loadtest.Result, len(env.kinds))
		for j, k := range env.kinds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				hostile[j], _ = loadtest.Run(ctx, loadtest.Config{URL: env.legit.URL, ContentType: k.contentType, Body: k.body,
					Check: k.check, Concurrency: 16, Duration: *loadDuration + 5*time.Second})
			}()
		}
		time.Sleep(time.Second) // let the hostile load build up
		loadtest.ResetPeakRSS()
		rss0 := loadtest.RSSBytes()
		legit := env.legit
		legit.Concurrency, legit.Duration = 2, *loadDuration
		r, err := loadtest.Run(b.Context(), legit)
		peak := loadtest.PeakRSSBytes()
		cancel()
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		for j, k := range env.kinds {
			b.Logf("hostile: %s: %s; first error %v", k.name, hostile[j], hostile[j].FirstErr)
		}
		b.Logf("legit under hostile load: %s; first error %v; RSS %d MiB at start, peak %d MiB", r, r.FirstErr, rss0>>20, peak>>20)
		b.ReportMetric(float64(r.P99.Microseconds())/1000, "legit-p99-ms")
		b.ReportMetric(float64(r.Failures), "legit-failures")
		b.ReportMetric(float64(peak)/(1<<20), "peak-rss-MiB")
	}
	if n := env.fetches.Load(); n != 0 {
		b.Errorf("%d fetches for untrusted issuers", n)
	}
}
