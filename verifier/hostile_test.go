package verifier

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
)

// Hostile input (issue 10): each case asserts the outcome and a ceiling on
// the memory it allocates (runtime.MemStats.TotalAlloc, everything the
// call allocated, freed or not) and, where it matters, on the fetches it
// causes. No wall-clock assertions.

// allocated returns the bytes f allocates (all goroutines; tests here do
// not run in parallel).
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestHostileManyQRTexts: 10 MiB of "shc:/56 shc:/56 …" (issue 10: 5.3 GB,
// 171 MB response) is refused as a whole with too_many_cards, without
// splitting the texts.
func TestHostileManyQRTexts(t *testing.T) {
	v := exampleVerifier(t, WithOffline(), WithStaticKeys(exampleIss, exampleJWKS(t)))
	input := bytes.Repeat([]byte("shc:/56 "), (10<<20)/8)
	var err error
	n := allocated(func() { _, err = v.Verify(context.Background(), input) })
	if CodeOf(err) != CodeTooManyCards || !errors.Is(err, ErrTooManyCards) {
		t.Fatalf("err %v, want too_many_cards", err)
	}
	t.Logf("refusing 10 MiB of shc:/ texts: %d bytes allocated", n)
	if n > 64<<10 {
		t.Errorf("refusing 10 MiB of shc:/ texts allocated %d bytes, want <= 64 KiB", n)
	}
	if a := testing.AllocsPerRun(3, func() { v.Verify(context.Background(), input) }); a > 10 {
		t.Errorf("%v allocations per refusal, want <= 10", a)
	}
	// Leading white space does not hide the form.
	padded := append(bytes.Repeat([]byte(" \n"), 1000), input...)
	if n := allocated(func() { _, err = v.Verify(context.Background(), padded) }); CodeOf(err) != CodeTooManyCards || n > 64<<10 {
		t.Fatalf("padded input: %v, %d bytes allocated", err, n)
	}
	// Non-ASCII white space separates texts too (strings.Fields): counted alike.
	nbsp := bytes.Repeat([]byte("shc:/56\u00a0"), 20000)
	if _, err := v.Verify(context.Background(), nbsp); CodeOf(err) != CodeTooManyCards {
		t.Fatalf("NBSP-separated texts: %v", err)
	}
}

// TestHostileCardCountEveryForm: one limit on cards per input for shc:/
// texts, card files and FHIR Parameters, with a stable code.
func TestHostileCardCountEveryForm(t *testing.T) {
	v := exampleVerifier(t, WithOffline(), WithStaticKeys(exampleIss, exampleJWKS(t)), WithMaxCardsPerInput(10))
	jws := signCard(t, newKey(t), exampleIss, vciNBF, nil)
	qrText, err := shc.EncodeQRText(jws)
	if err != nil {
		t.Fatal(err)
	}
	file := func(n int) []byte {
		b, _ := shc.MarshalFile(repeat(jws, n)...)
		return b
	}
	params := func(n int) []byte {
		var ps []map[string]any
		for range n {
			ps = append(ps, map[string]any{"name": "verifiableCredential", "valueString": jws})
		}
		b, _ := json.Marshal(map[string]any{"resourceType": "Parameters", "parameter": ps})
		return b
	}
	texts := func(n int) []byte { return []byte(strings.Join(repeat(qrText, n), "\n")) }
	for name, mk := range map[string]func(int) []byte{"file": file, "parameters": params, "qr-texts": texts} {
		res, err := v.Verify(context.Background(), mk(10))
		if err != nil || len(res) != 10 {
			t.Errorf("%s with 10 cards: %d results, %v", name, len(res), err)
		}
		if _, err := v.Verify(context.Background(), mk(11)); CodeOf(err) != CodeTooManyCards {
			t.Errorf("%s with 11 cards: %v, want too_many_cards", name, err)
		}
	}
	// 10 MiB of empty Parameters entries or empty card-file strings (512 MB
	// and 370 MB allocated in encoding/json before this bound): refused
	// before decoding.
	for name, in := range map[string][]byte{
		"parameters": append(append([]byte(`{"resourceType":"Parameters","parameter":[{}`), bytes.Repeat([]byte(",{}"), (10<<20)/3)...), "]}"...),
		"file":       append(append([]byte(`{"verifiableCredential":[""`), bytes.Repeat([]byte(`,""`), (10<<20)/3)...), "]}"...),
	} {
		n := allocated(func() { _, err = v.Verify(context.Background(), in) })
		t.Logf("refusing 10 MiB of empty %s entries: %d bytes allocated", name, n)
		if CodeOf(err) != CodePayloadTooLarge || n > 64<<10 {
			t.Errorf("10 MiB of empty %s entries: %v, %d bytes allocated", name, err, n)
		}
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// errAfter is a context whose Err turns to Canceled after n calls: the
// card loop must notice between cards.
type errAfter struct {
	context.Context
	n atomic.Int32
}

func (c *errAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// TestHostileDeadlineStopsCardLoop: the card loop checks the request's
// context, so the verify timeout really ends the work.
func TestHostileDeadlineStopsCardLoop(t *testing.T) {
	v := exampleVerifier(t, WithOffline(), WithStaticKeys(exampleIss, exampleJWKS(t)))
	jws := signCard(t, newKey(t), exampleIss, vciNBF, nil)
	b, _ := shc.MarshalFile(repeat(jws, 50)...)
	ctx := &errAfter{Context: context.Background()}
	ctx.n.Store(5) // Verify's own check, then four cards
	res, err := v.Verify(ctx, b)
	if CodeOf(err) != CodeDeadline || res != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("%d results, %v; want deadline_exceeded wrapping context.Canceled", len(res), err)
	}
	if !strings.Contains(err.Error(), "after 4 of 50 cards") {
		t.Errorf("message %q does not say where it stopped", err)
	}
}

// manyIssuers serves /i/<n>/.well-known/jwks.json for n < len(keys) and
// counts every request.
type manyIssuers struct {
	*httptest.Server
	keys    []*ecdsa.PrivateKey
	fetches atomic.Int64
}

func newManyIssuers(t *testing.T, n int) *manyIssuers {
	t.Helper()
	m := &manyIssuers{}
	for range n {
		m.keys = append(m.keys, newKey(t))
	}
	sets := make([][]byte, n)
	for i, k := range m.keys {
		sets[i] = jwksOf(t, nil, k)
	}
	m.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.fetches.Add(1)
		rest, ok := strings.CutPrefix(r.URL.Path, "/i/")
		num, file, _ := strings.Cut(rest, "/")
		i, err := strconv.Atoi(num)
		if !ok || err != nil || i < 0 || i >= n || file != ".well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		w.Write(sets[i])
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *manyIssuers) iss(i int) string { return m.URL + "/i/" + strconv.Itoa(i) }

// file returns a card file with one card from each of the first n issuers.
func (m *manyIssuers) file(t *testing.T, n int) []byte {
	var jws []string
	for i := range n {
		jws = append(jws, signCard(t, m.keys[i], m.iss(i), vciNBF, nil))
	}
	b, err := shc.MarshalFile(jws...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHostileManyIssuersUnsafeMode: 100 cards naming 100 issuers, in the
// "any issuer" mode that fetches for untrusted issuers: at most
// DefaultMaxIssuersFetchedPerInput key sets are fetched; the rest fail
// with fetch_limited.
func TestHostileManyIssuersUnsafeMode(t *testing.T) {
	m := newManyIssuers(t, 100)
	v := exampleVerifier(t, append(netOpts(m.Server), WithoutIssuerTrustUnsafe())...)
	var res []*Result
	var err error
	in := m.file(t, 100)
	n := allocated(func() { res, err = v.Verify(context.Background(), in) })
	if err != nil || len(res) != 100 {
		t.Fatalf("%d results, %v", len(res), err)
	}
	if got := m.fetches.Load(); got != DefaultMaxIssuersFetchedPerInput {
		t.Errorf("%d fetches for 100 issuers, want %d", got, DefaultMaxIssuersFetchedPerInput)
	}
	limited := 0
	for i, r := range res {
		if i < DefaultMaxIssuersFetchedPerInput {
			wantCode(t, r, VerdictUntrusted, CodeUntrustedIssuer)
			continue
		}
		wantCode(t, r, VerdictUnableToCheck, CodeFetchLimited)
		limited++
	}
	if limited != 100-DefaultMaxIssuersFetchedPerInput || v.Stats().FetchesRefused != uint64(limited) {
		t.Errorf("%d fetch_limited, stats %+v", limited, v.Stats())
	}
	t.Logf("100 cards from 100 issuers, unsafe mode: %d fetches, %d bytes allocated", m.fetches.Load(), n)
	if n > 16<<20 {
		t.Errorf("100 cards from 100 issuers allocated %d bytes, want <= 16 MiB", n)
	}
	// The budget is per input: a second input may fetch again, and cached
	// key sets cost nothing.
	res, _ = v.Verify(context.Background(), m.file(t, 5))
	for _, r := range res {
		wantCode(t, r, VerdictUntrusted, CodeUntrustedIssuer)
	}
	if got := m.fetches.Load(); got != DefaultMaxIssuersFetchedPerInput {
		t.Errorf("cached key sets were fetched again: %d fetches", got)
	}
}

// TestHostileUntrustedNeverFetched: in every trust mode but the unsafe one,
// a card from an issuer the verifier does not trust is never a reason to
// fetch.
func TestHostileUntrustedNeverFetched(t *testing.T) {
	m := newManyIssuers(t, 20)
	trustedKey := newKey(t)
	dir, _ := json.Marshal(map[string]any{"issuerInfo": []any{map[string]any{
		"issuer": map[string]any{"iss": "https://trusted.example", "name": "T"},
		"keys":   json.RawMessage(jwksOfKeys(t, trustedKey)),
	}}})
	list, _ := json.Marshal(map[string]any{"participating_issuers": []any{map[string]any{"iss": "https://listed.example", "name": "L"}}})
	modes := map[string][]Option{
		"trusted issuers": {WithTrustedIssuers("https://trusted.example")},
		"directory":       {WithTrustDirectoryJSON("dir", dir, nil)},
		"trust list":      {WithTrustListJSON("list", list)},
		"static keys":     {WithStaticKeys("https://trusted.example", jwksOf(t, nil, trustedKey))},
	}
	for name, opts := range modes {
		v := exampleVerifier(t, append(netOpts(m.Server), opts...)...)
		res, err := v.Verify(context.Background(), m.file(t, 20))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			wantCode(t, r, VerdictUntrusted, CodeUntrustedIssuer)
		}
		if got := m.fetches.Load(); got != 0 {
			t.Fatalf("%s: %d fetches for untrusted issuers", name, got)
		}
	}
}

func jwksOfKeys(t *testing.T, k *ecdsa.PrivateKey) []byte {
	var set struct {
		Keys json.RawMessage `json:"keys"`
	}
	json.Unmarshal(jwksOf(t, nil, k), &set)
	return set.Keys
}

// TestHostileCallerFetchLimit: ContextWithFetchLimit stops fetches the
// caller's budget does not allow, before any request is sent.
func TestHostileCallerFetchLimit(t *testing.T) {
	m := newManyIssuers(t, 3)
	v := exampleVerifier(t, append(netOpts(m.Server), WithTrustedIssuers(m.iss(0), m.iss(1), m.iss(2)))...)
	var calls atomic.Int32
	ctx := ContextWithFetchLimit(context.Background(), func() bool { return calls.Add(1) <= 1 })
	res, err := v.Verify(ctx, m.file(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, res[0], VerdictVerified, "")
	wantCode(t, res[1], VerdictUnableToCheck, CodeFetchLimited)
	wantCode(t, res[2], VerdictUnableToCheck, CodeFetchLimited)
	if got := m.fetches.Load(); got != 1 {
		t.Errorf("%d fetches, want 1", got)
	}
	// A refused fetch does not poison the cache: the next request fetches.
	res, _ = v.Verify(context.Background(), m.file(t, 3))
	for _, r := range res {
		wantCode(t, r, VerdictVerified, "")
	}
}

// crlIssuer is one issuer whose key has crlVersion 1 and whose revocation
// list is body (or 404 when nil).
func crlIssuer(t *testing.T, k *ecdsa.PrivateKey, body []byte) *httptest.Server {
	t.Helper()
	kid, _ := keys.Thumbprint(&k.PublicKey)
	set := jwksOf(t, map[string]any{"crlVersion": 1}, k)
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/jwks.json":
			w.Write(set)
		case "/.well-known/crl/" + kid + ".json":
			if body == nil {
				http.NotFound(w, r)
				return
			}
			w.Write(body)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// TestHostileLargeRevocationList: a 2.3 MB list (over the old 1 MiB fetch
// cap, under the 4 MiB parse cap) is fetched and honoured: a revoked card
// is revoked under both policies (issue 10: it showed verified under
// best-effort). A list over MaxCRLBytes is never read as "not revoked":
// the card fails, or under best-effort carries a warning.
func TestHostileLargeRevocationList(t *testing.T) {
	k := newKey(t)
	kid, _ := keys.Thumbprint(&k.PublicKey)
	rids := make([]string, 0, 100000)
	for i := range 99999 {
		rids = append(rids, fmt.Sprintf("r%021d", i))
	}
	rids = append(rids, "revokedRID")
	body, _ := json.Marshal(map[string]any{"kid": kid, "method": "rid", "ctr": 1, "rids": rids})
	if len(body) <= 1<<20 || len(body) > MaxCRLBytes {
		t.Fatalf("list of %d bytes", len(body))
	}
	s := crlIssuer(t, k, body)
	card := signCard(t, k, s.URL, vciNBF, func(p *shc.Payload) { p.VC.RID = "revokedRID" })
	for _, pol := range []RevocationPolicy{RevocationRequired, RevocationBestEffort} {
		v := exampleVerifier(t, append(netOpts(s), WithTrustedIssuers(s.URL), WithRevocationPolicy(pol))...)
		var r *Result
		n := allocated(func() { r = verifyOne(t, v, card) })
		wantCode(t, r, VerdictInvalid, CodeRevoked)
		t.Logf("policy %d: %d-byte list of 100,000 rids fetched and parsed: %d bytes allocated", pol, len(body), n)
		if n > 64<<20 {
			t.Errorf("a %d-byte list cost %d bytes, want <= 64 MiB", len(body), n)
		}
	}

	tooBig := append(append([]byte(`{"kid":"`+kid+`","method":"rid","ctr":1,"rids":["`), bytes.Repeat([]byte("a"), MaxCRLBytes)...), `"]}`...)
	for name, b := range map[string][]byte{"over MaxCRLBytes": tooBig, "missing": nil} {
		s := crlIssuer(t, k, b)
		card := signCard(t, k, s.URL, vciNBF, func(p *shc.Payload) { p.VC.RID = "revokedRID" })
		v := exampleVerifier(t, append(netOpts(s), WithTrustedIssuers(s.URL))...)
		wantCode(t, verifyOne(t, v, card), VerdictUnableToCheck, CodeRevocationUnavailable)
		v = exampleVerifier(t, append(netOpts(s), WithTrustedIssuers(s.URL), WithRevocationPolicy(RevocationBestEffort))...)
		r := verifyOne(t, v, card)
		warned := false
		for _, w := range r.Warnings {
			warned = warned || strings.Contains(w, "revocation status unknown")
		}
		if !warned {
			t.Errorf("%s list under best-effort: no warning: %+v", name, r.Warnings)
		}
		for _, c := range r.Checks {
			if c.Name == StepRevocation && c.Status != CheckWarning {
				t.Errorf("%s list under best-effort: revocation check %s", name, c.Status)
			}
		}
	}
}

// TestHostileLinkCardBudget: cards verified one by one under one request
// budget (the files of a SMART Health Link) stop at the card limit.
func TestHostileLinkCardBudget(t *testing.T) {
	v := exampleVerifier(t, WithOffline(), WithStaticKeys(exampleIss, exampleJWKS(t)), WithMaxCardsPerInput(2))
	jws := signCard(t, newKey(t), exampleIss, vciNBF, nil)
	ctx := v.withBudget(context.Background())
	var codes []Code
	for range 3 {
		codes = append(codes, CodeOf(v.verifyJWS(ctx, jws).Err()))
	}
	if codes[2] != CodeTooManyCards || codes[0] == CodeTooManyCards {
		t.Fatalf("codes %v", codes)
	}
}

// TestHostileInflationBudget: cards that each inflate to ~4 MiB from a few
// KB share one inflated-bytes budget per input: past it they fail with
// payload_too_large without being inflated (100 such cards cost 1.25
// CPU-seconds and ~400 MB of allocations before the budget).
func TestHostileInflationBudget(t *testing.T) {
	v := exampleVerifier(t, WithOffline(), WithStaticKeys(exampleIss, exampleJWKS(t)))
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"resource:0","resource":{"resourceType":"Patient","id":"` +
		strings.Repeat("a", 4<<20-2048) + `"}}]}`
	bomb := signCard(t, newKey(t), "https://bombs.example", vciNBF, func(p *shc.Payload) {
		p.VC.CredentialSubject.FHIRBundle = json.RawMessage(bundle)
	})
	if len(bomb) > 16<<10 {
		t.Fatalf("the card is %d bytes", len(bomb))
	}
	file, _ := shc.MarshalFile(repeat(bomb, 100)...)
	var res []*Result
	var err error
	n := allocated(func() { res, err = v.Verify(context.Background(), file) })
	if err != nil || len(res) != 100 {
		t.Fatalf("%d results, %v", len(res), err)
	}
	parsed := 0
	for _, r := range res {
		if CodeOf(r.Err()) == CodeUntrustedIssuer {
			parsed++
			continue
		}
		wantCode(t, r, VerdictInvalid, CodePayloadTooLarge)
	}
	t.Logf("100 cards of %d bytes inflating to ~4 MiB each: %d parsed, %d bytes allocated", len(bomb), parsed, n)
	if parsed != DefaultMaxInflatedBytesPerInput/(4<<20) {
		t.Errorf("%d cards parsed, want %d", parsed, DefaultMaxInflatedBytesPerInput/(4<<20))
	}
	if n > 160<<20 {
		t.Errorf("%d bytes allocated, want <= 160 MiB", n)
	}
}

// doneCtx is a context whose Done channel is closed and whose Err turns to
// Canceled after n calls.
type doneCtx struct{ errAfter }

func (c *doneCtx) Done() <-chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}

// TestHostileWaitForFetchHonoursDeadline: a request waiting for another
// request's fetch of the same issuer stops at its own deadline.
func TestHostileWaitForFetchHonoursDeadline(t *testing.T) {
	m := newManyIssuers(t, 1)
	v := exampleVerifier(t, append(netOpts(m.Server), WithTrustedIssuers(m.iss(0)))...)
	held := v.cache.entry(m.iss(0))
	if err := held.mu.lock(context.Background()); err != nil { // another request is fetching
		t.Fatal(err)
	}
	defer held.mu.unlock()
	ctx := &doneCtx{errAfter{Context: context.Background()}}
	ctx.n.Store(2) // Verify's check and the card loop's
	res, err := v.Verify(ctx, m.file(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, res[0], VerdictUnableToCheck, CodeDeadline)
	if m.fetches.Load() != 0 {
		t.Error("fetched while another request held the issuer")
	}
}
