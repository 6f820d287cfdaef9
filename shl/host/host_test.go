package host

import (
	"github.com/healthcards/healthcards/shl"
	"strconv"

	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/safehttp"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	host    *Host
	store   *MemoryStore
	srv     *httptest.Server
	clock   *fakeClock
	fetch   *safehttp.Client
	posts   atomic.Int64 // manifest POSTs seen
	gets    atomic.Int64 // GETs seen
	base    string
	httpc   *http.Client
	mounted string
}

func newEnv(t *testing.T, mutate func(*Config)) *env {
	t.Helper()
	e := &env{store: NewMemoryStore(), clock: &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
	e.srv = httptest.NewUnstartedServer(nil)
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	e.base = e.srv.URL + "/shl"
	cfg := Config{BaseURL: e.base, Store: e.store, Now: e.clock.Now}
	if mutate != nil {
		mutate(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.host = h
	mux := http.NewServeMux()
	mux.Handle("/shl/", h) // mounted at BaseURL's path; the handler strips it
	e.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			e.posts.Add(1)
		case http.MethodGet:
			e.gets.Add(1)
		}
		mux.ServeHTTP(w, r)
	})
	pool := x509.NewCertPool()
	pool.AddCert(e.srv.Certificate())
	e.fetch = safehttp.MustNew(safehttp.Config{AllowPrivateNetwork: true, RootCAs: pool, MaxBytes: 8 << 20})
	e.httpc = e.srv.Client()
	return e
}

func (e *env) client() *shl.Client { return &shl.Client{Fetch: e.fetch, Now: e.clock.Now} }

// post sends a raw manifest request and returns status and body.
func (e *env) post(t *testing.T, u, body string) (int, []byte) {
	t.Helper()
	resp, err := e.httpc.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (e *env) get(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := e.httpc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

type testFiles struct {
	bundle, card []byte
}

func files(t *testing.T) (testFiles, []FileContent) {
	t.Helper()
	tf := testFiles{
		bundle: testvectors.Read(t, "vci-spec-site/examples/example-02-a-fhirBundle.json"), // 55 entries, 58 kB
		card:   testvectors.Read(t, "vci-spec-site/examples/example-00-e-file.smart-health-card"),
	}
	return tf, []FileContent{
		{ContentType: shl.ContentTypeFHIR, Data: tf.bundle, FHIRVersion: "4.0.1"},
		{ContentType: shl.ContentTypeSHC, Data: tf.card},
	}
}

func checkFiles(t *testing.T, res *shl.Resolved, tf testFiles) {
	t.Helper()
	if len(res.Files) != 2 {
		t.Fatalf("%d files", len(res.Files))
	}
	if res.Files[0].ContentType != shl.ContentTypeFHIR || !bytes.Equal(res.Files[0].Data, tf.bundle) || res.Files[0].FHIRVersion != "4.0.1" {
		t.Fatalf("file 0 differs: %q", res.Files[0].ContentType)
	}
	if res.Files[1].ContentType != shl.ContentTypeSHC || res.Files[1].CTY != shl.ContentTypeSHC || !bytes.Equal(res.Files[1].Data, tf.card) {
		t.Fatalf("file 1 differs: %q", res.Files[1].ContentType)
	}
}

// SHL-9/10/11: a P link with a 55-entry bundle resolves with the right
// passcode; correct passcodes never use up the failure budget; the access
// log holds time and recipient only.
func TestHostClient_SHL10_PasscodeLink(t *testing.T) {
	e := newEnv(t, nil)
	tf, fc := files(t)
	ctx := context.Background()
	link, err := e.host.CreateLink(ctx, fc, LinkOptions{Passcode: "1234-secret", Label: "Labs", Owner: "patient-7"})
	if err != nil {
		t.Fatal(err)
	}
	if link.Payload.Flag != "P" || len(link.Payload.URL) > shl.MaxURLLen || !strings.HasPrefix(link.Payload.URL, e.base+"/") || len(link.ID) != 43 {
		t.Fatalf("payload %+v", link.Payload)
	}
	// Through the URI, as a receiver would see it.
	p, err := shl.Parse(link.Payload.URI("https://viewer.example/#"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		res, err := e.client().Resolve(ctx, p, shl.ResolveOptions{Recipient: "Dr. Who", Passcode: "1234-secret"})
		if err != nil {
			t.Fatal(err)
		}
		checkFiles(t, res, tf)
	}
	info, err := e.host.Info(ctx, link.ID)
	if err != nil || info.FailuresLeft != DefaultMaxPasscodeFailures || info.Locked || *info.Payload != *link.Payload || info.Owner != "patient-7" {
		t.Fatalf("info %+v %v", info, err)
	}
	_, err = e.client().Resolve(ctx, p, shl.ResolveOptions{Recipient: "Dr. Who"})
	mustCode(t, err, shl.CodePasscodeRequired)
	log, err := e.host.AccessLog(ctx, link.ID)
	if err != nil || len(log) != 3 {
		t.Fatalf("log %v %v", log, err)
	}
	for _, ev := range log {
		if ev.Recipient != "Dr. Who" || ev.Outcome != OutcomeOK || !ev.Time.Equal(e.clock.Now()) {
			t.Fatalf("event %+v", ev)
		}
	}
	// A raw request without passcode: 401 with remainingAttempts, not counted.
	st, body := e.post(t, p.URL, `{"recipient":"x"}`)
	if st != http.StatusUnauthorized || string(body) != `{"remainingAttempts":10}` {
		t.Fatalf("%d %s", st, body)
	}
}

// SHL-10: wrong passcodes count down remainingAttempts, then the link is
// locked for everyone, the right passcode included.
func TestHostClient_SHL10_WrongPasscodeLockout(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxPasscodeFailures = 3 })
	_, fc := files(t)
	ctx := context.Background()
	link, _ := e.host.CreateLink(ctx, fc, LinkOptions{Passcode: "right"})
	c := e.client()
	for want := 2; want >= 0; want-- {
		_, err := c.Resolve(ctx, link.Payload, shl.ResolveOptions{Recipient: "r", Passcode: "wrong"})
		mustCode(t, err, shl.CodePasscodeWrong)
		if got := shl.RemainingAttempts(err); got != want {
			t.Fatalf("remainingAttempts %d, want %d", got, want)
		}
	}
	_, err := c.Resolve(ctx, link.Payload, shl.ResolveOptions{Recipient: "r", Passcode: "right"})
	mustCode(t, err, shl.CodeLinkNotFound)
	info, _ := e.host.Info(ctx, link.ID)
	if !info.Locked || info.FailuresLeft != 0 {
		t.Fatalf("info %+v", info)
	}
	log, _ := e.host.AccessLog(ctx, link.ID)
	if len(log) != 3 || log[0].Outcome != OutcomePasscodeWrong {
		t.Fatalf("log %+v", log)
	}
}

// SHL-10: the lifetime limit holds under parallel guessing: of 50
// concurrent wrong guesses exactly `limit` are evaluated (each getting a
// distinct remainingAttempts), the rest get 404, and nothing gets through
// afterwards.
func TestHost_SHL10_ConcurrentGuessing(t *testing.T) {
	const limit = 10
	e := newEnv(t, nil)
	_, fc := files(t)
	ctx := context.Background()
	link, _ := e.host.CreateLink(ctx, fc, LinkOptions{Passcode: "right"})
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		remaining []int
		notFound  int
		other     []int
	)
	start := make(chan struct{})
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := e.httpc.Post(link.Payload.URL, "application/json", strings.NewReader(`{"recipient":"attacker","passcode":"guess"}`))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			mu.Lock()
			defer mu.Unlock()
			switch resp.StatusCode {
			case http.StatusUnauthorized:
				var v struct{ RemainingAttempts int }
				json.Unmarshal(b, &v)
				remaining = append(remaining, v.RemainingAttempts)
			case http.StatusNotFound:
				notFound++
			default:
				other = append(other, resp.StatusCode)
			}
		}()
	}
	close(start)
	wg.Wait()
	slices.Sort(remaining)
	if want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(remaining, want) {
		t.Fatalf("remainingAttempts seen %v, want %v", remaining, want)
	}
	if notFound != 50-limit || len(other) != 0 {
		t.Fatalf("404s %d, other %v", notFound, other)
	}
	st, _ := e.post(t, link.Payload.URL, `{"recipient":"owner","passcode":"right"}`)
	if st != http.StatusNotFound {
		t.Fatalf("after lockout the right passcode got %d", st)
	}
	l, _ := e.store.Get(ctx, link.ID)
	if l.FailuresLeft != 0 {
		t.Fatalf("FailuresLeft %d", l.FailuresLeft)
	}
}

// Expiry: the client refuses an expired payload without fetching
// (link_expired); the server answers 404 once exp has passed.
func TestHostClient_Expired(t *testing.T) {
	e := newEnv(t, nil)
	_, fc := files(t)
	ctx := context.Background()
	exp := e.clock.Now().Add(time.Hour)
	link, err := e.host.CreateLink(ctx, fc, LinkOptions{Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	if link.Payload.Exp != exp.Unix() {
		t.Fatal("exp not in payload")
	}
	if _, err := e.client().Resolve(ctx, link.Payload, shl.ResolveOptions{Recipient: "r"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	before := e.posts.Load()
	_, err = e.client().Resolve(ctx, link.Payload, shl.ResolveOptions{Recipient: "r"})
	mustCode(t, err, shl.CodeLinkExpired)
	if e.posts.Load() != before {
		t.Fatal("client fetched an expired link")
	}
	if st, _ := e.post(t, link.Payload.URL, `{"recipient":"r"}`); st != http.StatusNotFound {
		t.Fatalf("server answered %d for an expired link", st)
	}
	// A client whose clock is behind still gets link_not_found from the 404.
	behind := &shl.Client{Fetch: e.fetch, Now: func() time.Time { return exp.Add(-time.Minute) }}
	_, err = behind.Resolve(ctx, link.Payload, shl.ResolveOptions{Recipient: "r"})
	mustCode(t, err, shl.CodeLinkNotFound)
	if _, err := e.host.CreateLink(ctx, fc, LinkOptions{Expires: e.clock.Now().Add(-time.Second)}); shl.CodeOf(err) != shl.CodeInvalidArgument {
		t.Fatalf("past expiry accepted: %v", err)
	}
}

// Revoked links and their already-issued locations answer 404.
func TestHostClient_Revoked(t *testing.T) {
	e := newEnv(t, nil)
	_, fc := files(t)
	ctx := context.Background()
	link, _ := e.host.CreateLink(ctx, fc, LinkOptions{})
	st, body := e.post(t, link.Payload.URL, `{"recipient":"r","embeddedLengthMax":0}`)
	m, err := shl.ParseManifest(body)
	if st != 200 || err != nil || m.Files[0].Location == "" {
		t.Fatalf("%d %v %s", st, err, body)
	}
	if err := e.host.Revoke(ctx, link.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.client().Resolve(ctx, link.Payload, shl.ResolveOptions{Recipient: "r"})
	mustCode(t, err, shl.CodeLinkNotFound)
	if resp, _ := e.get(t, m.Files[0].Location); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("location after revoke: %d", resp.StatusCode)
	}
	if err := e.host.Revoke(ctx, "nope"); shl.CodeOf(err) != shl.CodeLinkNotFound {
		t.Fatal(err)
	}
}

// SHL-12/14: embeddedLengthMax is honoured; locations answer GET with
// application/jose, expire within LocationTTL and cannot be forged.
func TestHost_SHL12_SHL14_EmbeddedAndLocations(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LocationTTL = 5 * time.Minute })
	tf, fc := files(t)
	ctx := context.Background()
	link, _ := e.host.CreateLink(ctx, fc, LinkOptions{})
	l, _ := e.store.Get(ctx, link.ID)
	small, big := len(l.Files[1].JWE), len(l.Files[0].JWE)
	if small >= big {
		t.Fatal("fixture sizes")
	}
	for _, tc := range []struct {
		name     string
		body     string
		embedded []bool
	}{
		{"default", `{"recipient":"r"}`, []bool{true, true}},
		{"zero", `{"recipient":"r","embeddedLengthMax":0}`, []bool{false, false}},
		{"between", `{"recipient":"r","embeddedLengthMax":` + strconv.Itoa(small) + `}`, []bool{false, true}},
		{"exact_big", `{"recipient":"r","embeddedLengthMax":` + strconv.Itoa(big) + `}`, []bool{true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := e.post(t, link.Payload.URL, tc.body)
			if st != 200 {
				t.Fatalf("%d %s", st, body)
			}
			m, err := shl.ParseManifest(body)
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range m.Files {
				if (f.Embedded != "") != tc.embedded[i] {
					t.Fatalf("file %d embedded=%v", i, f.Embedded != "")
				}
				if f.LastUpdated == "" {
					t.Fatal("no lastUpdated")
				}
			}
		})
	}
	// Client side: a small EmbeddedLengthMax makes it follow the location.
	res, err := e.client().Resolve(ctx, link.Payload, shl.ResolveOptions{Recipient: "r", EmbeddedLengthMax: small})
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, res, tf)

	_, body := e.post(t, link.Payload.URL, `{"recipient":"r","embeddedLengthMax":0}`)
	m, _ := shl.ParseManifest(body)
	loc := m.Files[0].Location
	resp, jwe := e.get(t, loc)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != shl.MediaTypeJOSE || string(jwe) != l.Files[0].JWE {
		t.Fatalf("location GET %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	forged := loc[:strings.LastIndex(loc, ".")+1] + strings.Repeat("A", 43)
	if resp, _ := e.get(t, forged); resp.StatusCode != 404 {
		t.Fatalf("forged token: %d", resp.StatusCode)
	}
	other := strings.Replace(loc, link.ID+".0.", link.ID+".1.", 1)
	if resp, _ := e.get(t, other); resp.StatusCode != 404 {
		t.Fatalf("edited token: %d", resp.StatusCode)
	}
	e.clock.Advance(5 * time.Minute)
	if resp, _ := e.get(t, loc); resp.StatusCode != 404 {
		t.Fatalf("expired location: %d", resp.StatusCode)
	}
}

// SHL-13: a location is never fetched more than an hour after its
// manifest; the client fetches the manifest again instead.
func TestClient_SHL13_RefetchManifestForStaleLocations(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LocationTTL = time.Hour })
	tf, fc := files(t)
	ctx := context.Background()
	link, _ := e.host.CreateLink(ctx, fc, LinkOptions{})
	// The receiver's clock jumps 61 minutes after the first manifest fetch
	// (a slow user, a suspended laptop): it reads t0 until the server has
	// seen the first manifest POST, t0+61m afterwards.
	t0 := e.clock.Now()
	c := &shl.Client{Fetch: e.fetch, Now: func() time.Time {
		if e.posts.Load() == 0 {
			return t0
		}
		return t0.Add(61 * time.Minute)
	}}
	gets := e.gets.Load()
	res, err := c.Resolve(ctx, link.Payload, shl.ResolveOptions{Recipient: "r", EmbeddedLengthMax: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, res, tf)
	if got := e.posts.Load(); got != 2 {
		t.Fatalf("manifest fetched %d times, want 2", got)
	}
	if got := e.gets.Load() - gets; got != 2 {
		t.Fatalf("%d location GETs, want 2 (none from the stale manifest)", got)
	}
	// A clock that is always stale gives up after a bounded number of tries.
	var n atomic.Int64
	always := &shl.Client{Fetch: e.fetch, Now: func() time.Time { return t0.Add(time.Duration(n.Add(1)) * time.Hour) }}
	_, err = always.Resolve(ctx, link.Payload, shl.ResolveOptions{Recipient: "r", EmbeddedLengthMax: 1})
	mustCode(t, err, shl.CodeFetchFailed)
}

// SHL-16: a U link is fetched with GET ?recipient=, which is required.
func TestHostClient_SHL16_DirectLink(t *testing.T) {
	e := newEnv(t, nil)
	tf, _ := files(t)
	ctx := context.Background()
	link, err := e.host.CreateLink(ctx, []FileContent{{ContentType: shl.ContentTypeSHC, Data: tf.card}}, LinkOptions{Direct: true, LongTerm: true, Label: "card"})
	if err != nil {
		t.Fatal(err)
	}
	if link.Payload.Flag != "LU" {
		t.Fatalf("flag %q", link.Payload.Flag)
	}
	posts := e.posts.Load()
	res, err := e.client().Resolve(ctx, link.Payload, shl.ResolveOptions{Recipient: "Clinic A"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || res.Files[0].ContentType != shl.ContentTypeSHC || !bytes.Equal(res.Files[0].Data, tf.card) {
		t.Fatalf("%+v", res.Files)
	}
	if e.posts.Load() != posts {
		t.Fatal("U link was POSTed (SHL-16)")
	}
	if resp, _ := e.get(t, link.Payload.URL); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("GET without recipient: %d", resp.StatusCode)
	}
	if st, _ := e.post(t, link.Payload.URL, `{"recipient":"x"}`); st != http.StatusMethodNotAllowed {
		t.Fatalf("POST to U link: %d", st)
	}
	log, _ := e.host.AccessLog(ctx, link.ID)
	if len(log) != 1 || log[0].Recipient != "Clinic A" {
		t.Fatalf("log %+v", log)
	}
	// L: update keeps the key, re-encrypts with a fresh IV (SHL-18).
	before, _ := e.store.Get(ctx, link.ID)
	if err := e.host.UpdateFiles(ctx, link.ID, []FileContent{{ContentType: shl.ContentTypeSHC, Data: tf.card}}); err != nil {
		t.Fatal(err)
	}
	after, _ := e.store.Get(ctx, link.ID)
	if after.Key != before.Key || after.Files[0].JWE == before.Files[0].JWE {
		t.Fatal("update must keep the key and change the IV")
	}
	if _, err := e.client().Resolve(ctx, link.Payload, shl.ResolveOptions{Recipient: "Clinic A"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client().Resolve(ctx, link.Payload, shl.ResolveOptions{}); shl.CodeOf(err) != shl.CodeInvalidArgument {
		t.Fatalf("empty recipient: %v", err)
	}
}

// HTTP surface: bad requests fail clearly and never reach a manifest.
func TestHost_HTTPRefusals(t *testing.T) {
	e := newEnv(t, nil)
	_, fc := files(t)
	ctx := context.Background()
	link, _ := e.host.CreateLink(ctx, fc, LinkOptions{})
	u := link.Payload.URL
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"no_recipient", `{}`, 400},
		{"not_json", `recipient=x`, 400},
		{"dup_member", `{"recipient":"a","recipient":"b"}`, 400},
		{"negative_embedded", `{"recipient":"a","embeddedLengthMax":-1}`, 400},
		{"huge", `{"recipient":"` + strings.Repeat("a", shl.MaxRequestBytes) + `"}`, 400},
		{"ok", `{"recipient":"a"}`, 200},
	} {
		if st, b := e.post(t, u, tc.body); st != tc.want {
			t.Errorf("%s: %d %s", tc.name, st, b)
		}
	}
	resp, err := e.httpc.Post(u, "text/plain", strings.NewReader(`{"recipient":"a"}`))
	if err != nil || resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain: %v %d", err, resp.StatusCode)
	}
	resp.Body.Close()
	if resp, _ := e.get(t, u+"?recipient=a"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET manifest: %d", resp.StatusCode)
	}
	for _, p := range []string{"/shl/" + strings.Repeat("A", 43), "/shl/short", "/shl/f/x.y.z.w", "/shl/f/"} {
		if st, _ := e.post(t, e.srv.URL+p, `{"recipient":"a"}`); st != 404 && st != 405 {
			t.Errorf("%s: %d", p, st)
		}
	}
	req, _ := http.NewRequest(http.MethodOptions, u, nil)
	resp, err = e.httpc.Do(req)
	if err != nil || resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight: %v", err)
	}
	resp.Body.Close()
}

func TestHost_CreateLinkAndConfigRefusals(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	ok := []FileContent{{ContentType: shl.ContentTypeFHIR, Data: []byte(`{}`)}}
	for name, tc := range map[string]struct {
		files []FileContent
		opts  LinkOptions
	}{
		"U_with_P":      {ok, LinkOptions{Direct: true, Passcode: "x"}},
		"U_two_files":   {append(ok, ok...), LinkOptions{Direct: true}},
		"no_files":      {nil, LinkOptions{}},
		"bad_type":      {[]FileContent{{ContentType: "text/html", Data: []byte("x")}}, LinkOptions{}},
		"empty_data":    {[]FileContent{{ContentType: shl.ContentTypeFHIR}}, LinkOptions{}},
		"label_too_big": {ok, LinkOptions{Label: strings.Repeat("x", 81)}},
		"long_passcode": {ok, LinkOptions{Passcode: strings.Repeat("x", shl.MaxPasscodeLen+1)}},
	} {
		if _, err := e.host.CreateLink(ctx, tc.files, tc.opts); shl.CodeOf(err) != shl.CodeInvalidArgument {
			t.Errorf("%s: %v", name, err)
		}
	}
	link, _ := e.host.CreateLink(ctx, ok, LinkOptions{})
	if err := e.host.UpdateFiles(ctx, link.ID, ok); shl.CodeOf(err) != shl.CodeInvalidArgument {
		t.Errorf("update of a non-L link: %v", err)
	}
	for name, cfg := range map[string]Config{
		"http":         {BaseURL: "http://x.example/shl", Store: e.store},
		"no_store":     {BaseURL: "https://x.example/shl"},
		"too_long":     {BaseURL: "https://x.example/" + strings.Repeat("a", 70), Store: e.store},
		"ttl":          {BaseURL: "https://x.example", Store: e.store, LocationTTL: 2 * time.Hour},
		"short_secret": {BaseURL: "https://x.example", Store: e.store, LocationSecret: []byte("short")},
		"query":        {BaseURL: "https://x.example/?a=b", Store: e.store},
	} {
		if _, err := New(cfg); shl.CodeOf(err) != shl.CodeInvalidArgument {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestMemoryStore_LogCap(t *testing.T) {
	s := &MemoryStore{MaxLog: 3}
	ctx := context.Background()
	if err := s.Create(ctx, &StoredLink{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, &StoredLink{ID: "a"}); !errors.Is(err, ErrStoreConflict) {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		s.AppendAccess(ctx, "a", AccessEvent{Recipient: strconv.Itoa(i)})
	}
	log, _ := s.AccessLog(ctx, "a")
	if len(log) != 3 || log[0].Recipient != "2" || log[2].Recipient != "4" {
		t.Fatalf("%+v", log)
	}
	if _, err := s.Get(ctx, "b"); !errors.Is(err, ErrStoreNotFound) {
		t.Fatal(err)
	}
}

func TestPasscodeHash(t *testing.T) {
	h, err := hashPasscode("pw")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := hashPasscode("pw")
	if h == h2 || !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("%s", h)
	}
	if !verifyPasscode(h, "pw") || verifyPasscode(h, "pW") || verifyPasscode(h, "") {
		t.Fatal("verify")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=999999999,t=2,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", strings.Replace(h, "argon2id", "argon2i", 1), h[:len(h)-5]} {
		if verifyPasscode(bad, "pw") {
			t.Fatalf("accepted %q", bad)
		}
	}
}

// The handler also works behind http.StripPrefix (mounted under a prefix).
func TestHost_MountedWithStripPrefix(t *testing.T) {
	h, err := New(Config{BaseURL: "https://issuer.example/api/shl", Store: NewMemoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	link, err := h.CreateLink(context.Background(), []FileContent{{ContentType: shl.ContentTypeFHIR, Data: []byte(`{"a":1}`)}}, LinkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/shl/", http.StripPrefix("/api/shl", h))
	for _, target := range []string{link.Payload.URL, "/api/shl/" + link.ID} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(`{"recipient":"r"}`))
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		mux.ServeHTTP(rec, req)
		if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
		}
		m, err := shl.ParseManifest(rec.Body.Bytes())
		if err != nil || len(m.Files) != 1 || m.Files[0].Embedded == "" {
			t.Fatalf("%v %+v", err, m)
		}
	}
	// And unstripped, mounted at the base path directly.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, link.Payload.URL, strings.NewReader(`{"recipient":"r"}`))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("unstripped: %d", rec.Code)
	}
}

func mustCode(t *testing.T, err error, want shl.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want %s", want)
	}
	if got := shl.CodeOf(err); got != want {
		t.Fatalf("got code %q (%v), want %q", got, err, want)
	}
}
