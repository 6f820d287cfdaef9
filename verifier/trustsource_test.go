package verifier

import (
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
)

// keyDirectory is a directory listing iss with k's key inline; timeMember
// is the raw JSON of "time", or "" to leave it out.
func keyDirectory(t testing.TB, iss string, k *ecdsa.PrivateKey, timeMember string) []byte {
	t.Helper()
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(jwksOf(t, nil, k), &set); err != nil {
		t.Fatal(err)
	}
	entry, _ := json.Marshal(map[string]any{"issuer": map[string]any{"iss": iss, "name": "Directory Clinic"}, "keys": set.Keys})
	doc := `{"directory":"test",`
	if timeMember != "" {
		doc += `"time":` + timeMember + `,`
	}
	return []byte(doc + `"issuerInfo":[` + string(entry) + `]}`)
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TRUST-3: an odd "time" is a warning, never a failed directory. A number
// is read as Unix seconds (and so can make the directory stale); a
// missing, unparsable or out-of-range one leaves the age to be counted
// from the load.
func TestDirectoryTimeForms(t *testing.T) {
	k := newKey(t)
	card := signCard(t, k, testIss, cardNBF, nil)
	fresh, old := int64(cardNBF+30), int64(cardNBF-30*24*3600)
	for _, tc := range []struct {
		name, member, warn string
		want               time.Time
		stale              bool
	}{
		{"rfc3339", `"` + time.Unix(fresh, 0).UTC().Format(time.RFC3339) + `"`, "", time.Unix(fresh, 0), false},
		{"number", strconv.FormatInt(fresh, 10), "is a number", time.Unix(fresh, 0), false},
		{"old number", strconv.FormatInt(old, 10) + ".5", "is a number", time.Unix(old, 0), true},
		{"missing", "", "no time", time.Time{}, false},
		{"null", "null", "no time", time.Time{}, false},
		{"unparsable", `"last Tuesday"`, "unreadable time", time.Time{}, false},
		{"milliseconds", strconv.FormatInt(fresh*1000000, 10), "out of range", time.Time{}, false},
		{"negative", "-5", "out of range", time.Time{}, false},
		{"object", `{"at":1}`, "neither a string nor a number", time.Time{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(WithOffline(), WithClock(at(cardNBF+60)), WithTrustDirectoryJSON("d", keyDirectory(t, testIss, k, tc.member), nil))
			if err != nil {
				t.Fatalf("directory refused: %v", err)
			}
			w := strings.Join(v.ConfigWarnings(), "\n")
			if tc.warn == "" && w != "" || !strings.Contains(w, tc.warn) {
				t.Fatalf("warnings %q, want %q", w, tc.warn)
			}
			st := v.TrustSources()
			if len(st) != 1 || !st[0].Loaded || st[0].Issuers != 1 || !st[0].Time.Equal(tc.want) {
				t.Fatalf("status %+v, want time %v", st, tc.want)
			}
			r := verifyOne(t, v, card)
			wantCode(t, r, VerdictVerified, "")
			stale := strings.Contains(strings.Join(r.Warnings, "\n"), "stale")
			if ready := v.TrustReady(); stale != tc.stale || (ready != nil) != tc.stale {
				t.Fatalf("stale warning %v, TrustReady %v; want stale %v", stale, ready, tc.stale)
			}
		})
	}
}

// WithTrustSource tells a directory from a trust list by content; a
// document that is both or neither is a configuration error.
func TestWithTrustSource(t *testing.T) {
	k := newKey(t)
	dir := t.TempDir()
	dpath, lpath := filepath.Join(dir, "d.json"), filepath.Join(dir, "l.json")
	writeFile(t, dpath, keyDirectory(t, testIss, k, `"2023-11-14T22:13:20Z"`))
	writeFile(t, lpath, []byte(`{"participating_issuers":[{"iss":"https://listed.example","name":"Listed"}]}`))
	v, err := New(WithClock(at(cardNBF+60)), WithTrustSource(dpath), WithTrustSource(lpath))
	if err != nil {
		t.Fatal(err)
	}
	st := v.TrustSources()
	if len(st) != 2 || st[0].List || !st[1].List || st[0].Issuers != 1 || st[1].Issuers != 1 {
		t.Fatalf("status %+v", st)
	}
	wantCode(t, verifyOne(t, v, signCard(t, k, testIss, cardNBF, nil)), VerdictVerified, "")
	for _, bad := range []string{`{"issuerInfo":[],"participating_issuers":[]}`, `{}`, `[]`, `{"issuerInfo":{}}`, `{"participating_issuers":7}`, `not json`} {
		p := filepath.Join(dir, "bad.json")
		writeFile(t, p, []byte(bad))
		if _, err := New(WithTrustSource(p)); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if _, err := New(WithTrustSource("")); !errors.Is(err, ErrConfig) {
		t.Errorf("empty path: %v", err)
	}
}

// liveIssuer serves a JWKS with crlVersion 1 and an empty revocation list
// for a fresh key, counting requests.
func liveIssuer(t *testing.T) (*issuerHost, *ecdsa.PrivateKey) {
	k := newKey(t)
	kid, err := keys.Thumbprint(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	h := newIssuerHost(t)
	h.serve("/.well-known/jwks.json", jwksOf(t, map[string]any{"crlVersion": 1}, k))
	crl, _ := json.Marshal(map[string]any{"kid": kid, "method": "rid", "ctr": 1, "rids": []string{}})
	h.serve("/.well-known/crl/"+kid+".json", crl)
	return h, k
}

// A reload keeps the key-set and revocation caches of issuers that are
// still trusted: after Reload the same card is verified from the caches,
// with no new fetch; an issuer dropped by the reload is untrusted at once,
// and its cache entries go with it.
func TestReloadKeepsCaches(t *testing.T) {
	h, k := liveIssuer(t)
	other := "https://other.example"
	list := func(iss ...string) []byte {
		var entries []string
		for _, s := range iss {
			entries = append(entries, `{"iss":"`+s+`"}`)
		}
		return []byte(`{"participating_issuers":[` + strings.Join(entries, ",") + `]}`)
	}
	path := filepath.Join(t.TempDir(), "list.json")
	writeFile(t, path, list(h.URL))
	v, err := New(append(netOpts(h.Server), WithTrustSource(path))...)
	if err != nil {
		t.Fatal(err)
	}
	card := signCard(t, k, h.URL, float64(time.Now().Add(-time.Hour).Unix()), func(p *shc.Payload) { p.VC.RID = "r1" })
	wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
	want := Stats{KeySetCacheMisses: 1, CRLCacheMisses: 1, Fetches: 2}
	if s := v.Stats(); s != want {
		t.Fatalf("first verification: %+v, want %+v", s, want)
	}
	// The same list, then a list with one more issuer.
	for i, content := range [][]byte{list(h.URL), list(h.URL, other)} {
		writeFile(t, path, content)
		if err := v.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
		want.KeySetCacheHits++
		want.CRLCacheHits++
		if s := v.Stats(); s != want {
			t.Fatalf("after reload %d: %+v, want %+v (a reload refetched)", i+1, s, want)
		}
	}
	if st := v.TrustSources(); st[0].Issuers != 2 {
		t.Fatalf("reloaded list not in use: %+v", st)
	}
	if n := h.count("/.well-known/jwks.json"); n != 1 {
		t.Fatalf("key set fetched %d times", n)
	}
	// Dropped from the list: untrusted after the reload, nothing fetched.
	writeFile(t, path, list(other))
	if err := v.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantCode(t, verifyOne(t, v, card), VerdictUntrusted, CodeUntrustedIssuer)
	if s := v.Stats(); s.Fetches != 2 {
		t.Fatalf("fetched for a dropped issuer: %+v", s)
	}
	// Listed again: its caches went with it, so its keys are fetched afresh.
	writeFile(t, path, list(h.URL))
	if err := v.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
	if s := v.Stats(); s.Fetches != 4 || h.count("/.well-known/jwks.json") != 2 {
		t.Fatalf("re-listed issuer served from old caches: %+v", s)
	}
}

// A directory given by URL is fetched again by Reload (with its detached
// signature), but the issuers' caches are not.
func TestReloadURLSource(t *testing.T) {
	h, k := liveIssuer(t)
	sk, cert := p521Cert(t)
	dir := []byte(`{"time":"` + time.Now().UTC().Format(time.RFC3339) + `","issuerInfo":[{"issuer":{"iss":"` + h.URL + `"}}]}`)
	list := []byte(`{"participating_issuers":[{"iss":"` + h.URL + `","name":"Live"}]}`)
	h.serve("/dir.json", dir)
	h.serve("/dir.json.sig", signDetached(t, sk, dir))
	h.serve("/list.json", list)
	v, err := New(append(netOpts(h.Server), WithTrustSource(h.URL+"/dir.json"), WithTrustSource(h.URL+"/list.json"), WithDirectoryCertificate(cert))...)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.TrustReady(); err == nil || !strings.Contains(err.Error(), "not loaded") {
		t.Fatalf("ready before the first load: %v", err)
	}
	card := signCard(t, k, h.URL, float64(time.Now().Add(-time.Hour).Unix()), func(p *shc.Payload) { p.VC.RID = "r1" })
	wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
	// directory + signature + list (no signature fetched for a list) + key set + CRL.
	if s := v.Stats(); s.Fetches != 5 || h.count("/list.json.sig") != 0 {
		t.Fatalf("first verification: %+v, list signature fetched %d times", s, h.count("/list.json.sig"))
	}
	if err := v.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
	if s := v.Stats(); s.Fetches != 8 || s.KeySetCacheHits != 1 || s.CRLCacheHits != 1 || h.count("/.well-known/jwks.json") != 1 || h.count("/dir.json") != 2 {
		t.Fatalf("after reload: %+v, key set fetched %d times", s, h.count("/.well-known/jwks.json"))
	}
	if err := v.TrustReady(); err != nil {
		t.Fatal(err)
	}
}

// A reload that fails keeps the last good copy of the source, reports the
// failure (Reload's error, TrustSources) and verifies as before; the next
// good load clears it.
func TestReloadFailureKeepsLastGood(t *testing.T) {
	k := newKey(t)
	card := signCard(t, k, testIss, cardNBF, nil)
	sk, cert := p521Cert(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "directory.json")
	good := keyDirectory(t, testIss, k, `"2023-11-14T22:00:00Z"`)
	writeFile(t, path, good)
	writeFile(t, path+SignatureSuffix, signDetached(t, sk, good))
	c := newClock(cardNBF + 60)
	v, err := New(WithOffline(), WithClock(c.now), WithTrustSource(path), WithDirectoryCertificate(cert))
	if err != nil {
		t.Fatal(err)
	}
	loadedAt := v.TrustSources()[0].LoadedAt
	tampered := append([]byte(nil), good...)
	tampered[len(tampered)-2] = ' '
	for name, change := range map[string]func(){
		"not a directory": func() { writeFile(t, path, []byte(`{"issuerInfo":7}`)) },
		"bad signature":   func() { writeFile(t, path, tampered) },
		"file removed":    func() { os.Remove(path) },
		"not JSON":        func() { writeFile(t, path, []byte(`{`)) },
	} {
		change()
		c.add(time.Minute)
		err := v.Reload(t.Context())
		if !errors.Is(err, ErrConfig) || CodeOf(err) != CodeConfig || !strings.Contains(err.Error(), path) {
			t.Fatalf("%s: Reload = %v", name, err)
		}
		st := v.TrustSources()[0]
		if !st.Loaded || st.Err == nil || !st.LoadedAt.Equal(loadedAt) || st.Issuers != 1 {
			t.Fatalf("%s: status %+v", name, st)
		}
		wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
		if err := v.TrustReady(); err != nil {
			t.Fatalf("%s: the last good copy is not stale: %v", name, err)
		}
	}
	// Back to a good, signed directory: the error clears.
	writeFile(t, path, good)
	if err := v.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := v.TrustSources()[0]; st.Err != nil || !st.LoadedAt.Equal(c.now()) {
		t.Fatalf("status %+v", st)
	}
}

// A URL source that fails on reload keeps its last good copy; one that
// never loaded leaves its issuers untrusted and the verifier not ready.
func TestReloadURLFailure(t *testing.T) {
	k := newKey(t)
	h := newIssuerHost(t)
	var down atomic.Bool
	dir := keyDirectory(t, testIss, k, `"`+time.Now().UTC().Format(time.RFC3339)+`"`)
	h.set("/d.json", func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Write(dir)
	})
	v, err := New(append(netOpts(h.Server), WithTrustSource(h.URL+"/d.json"))...)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	down.Store(true)
	if err := v.Reload(t.Context()); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Reload = %v", err)
	}
	if st := v.TrustSources()[0]; !st.Loaded || st.Err == nil {
		t.Fatalf("status %+v", st)
	}
	wantCode(t, verifyOne(t, v, signCard(t, k, testIss, float64(time.Now().Add(-time.Hour).Unix()), nil)), VerdictVerified, "")
	if err := v.TrustReady(); err != nil {
		t.Fatal(err)
	}

	never, err := New(append(netOpts(h.Server), WithTrustSource(h.URL+"/missing.json"))...)
	if err != nil {
		t.Fatal(err)
	}
	if err := never.Reload(t.Context()); err == nil {
		t.Fatal("Reload of a missing source succeeded")
	}
	if err := never.TrustReady(); err == nil || !strings.Contains(err.Error(), "not loaded") {
		t.Fatalf("TrustReady = %v", err)
	}
}

// TrustReady: a directory is stale past the maximum age from its "time";
// a trust list (no time) from its last load.
func TestTrustReadyAge(t *testing.T) {
	k := newKey(t)
	dir := t.TempDir()
	dpath, lpath := filepath.Join(dir, "d.json"), filepath.Join(dir, "l.json")
	writeFile(t, dpath, keyDirectory(t, testIss, k, strconv.Itoa(cardNBF)))
	writeFile(t, lpath, []byte(`{"participating_issuers":[]}`))
	c := newClock(cardNBF + 1800)
	v, err := New(WithOffline(), WithClock(c.now), WithDirectoryMaxAge(time.Hour), WithTrustSource(dpath), WithTrustSource(lpath))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.TrustReady(); err != nil {
		t.Fatal(err)
	}
	c.add(time.Hour) // the directory is 1.5 h old, the list 1 h
	if err := v.TrustReady(); err == nil || !strings.Contains(err.Error(), dpath+" is stale") {
		t.Fatalf("TrustReady = %v", err)
	}
	writeFile(t, dpath, keyDirectory(t, testIss, k, strconv.FormatInt(c.now().Unix(), 10)))
	if err := v.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := v.TrustReady(); err != nil {
		t.Fatal(err)
	}
	c.add(time.Hour + time.Second)
	if err := v.TrustReady(); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("TrustReady = %v", err)
	}
	if age := v.TrustSources()[1].Age(c.now()); age != time.Hour+time.Second {
		t.Fatalf("list age %v", age)
	}
}

// Verifications running during reloads see one snapshot or the other,
// never a torn one (run with -race).
func TestReloadConcurrentVerify(t *testing.T) {
	k := newKey(t)
	card := signCard(t, k, testIss, cardNBF, nil)
	path := filepath.Join(t.TempDir(), "d.json")
	writeFile(t, path, keyDirectory(t, testIss, k, `"2023-11-14T22:00:00Z"`))
	v, err := New(WithOffline(), WithClock(at(cardNBF+60)), WithTrustSource(path))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 20; i++ {
			if err := v.Reload(t.Context()); err != nil {
				t.Error(err)
				return
			}
			_ = v.TrustSources()
		}
	}()
	for i := 0; i < 20; i++ {
		wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
	}
	<-done
}

// BenchmarkReload: one Reload of a 1,000-issuer directory file (read,
// parse, merge, swap), as the verifier service does every --refresh.
func BenchmarkReload(b *testing.B) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(jwksOf(b, nil, newKey(b)), &set); err != nil {
		b.Fatal(err)
	}
	var entries []string
	for i := 0; i < 1000; i++ {
		e, _ := json.Marshal(map[string]any{"issuer": map[string]any{"iss": "https://issuer" + strconv.Itoa(i) + ".example", "name": "Issuer"}, "keys": set.Keys})
		entries = append(entries, string(e))
	}
	path := filepath.Join(b.TempDir(), "d.json")
	if err := os.WriteFile(path, []byte(`{"time":"2023-11-14T22:00:00Z","issuerInfo":[`+strings.Join(entries, ",")+`]}`), 0o600); err != nil {
		b.Fatal(err)
	}
	v, err := New(WithOffline(), WithTrustSource(path))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Reload(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// URL sources loaded on use: a failed first load is retried a minute
// later (not on every card), a loaded one every DirectoryTTL.
func TestLazyRefreshSchedule(t *testing.T) {
	k := newKey(t)
	card := signCard(t, k, testIss, cardNBF, nil)
	h := newIssuerHost(t)
	var up atomic.Bool
	h.set("/d.json", func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Write(keyDirectory(t, testIss, k, strconv.Itoa(cardNBF)))
	})
	c := newClock(cardNBF + 60)
	v, err := New(append(netOpts(h.Server), WithClock(c.now), WithDirectoryTTL(time.Hour), WithTrustSource(h.URL+"/d.json"))...)
	if err != nil {
		t.Fatal(err)
	}
	r := verifyOne(t, v, card)
	wantCode(t, r, VerdictUntrusted, CodeUntrustedIssuer)
	if !strings.Contains(strings.Join(r.Warnings, "\n"), "source unavailable") {
		t.Fatalf("warnings %q", r.Warnings)
	}
	up.Store(true)
	c.add(30 * time.Second)
	wantCode(t, verifyOne(t, v, card), VerdictUntrusted, CodeUntrustedIssuer)
	if n := h.count("/d.json"); n != 1 {
		t.Fatalf("retried after 30 s: %d fetches", n)
	}
	c.add(31 * time.Second)
	wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
	for _, step := range []struct {
		d    time.Duration
		want int
	}{{59 * time.Minute, 2}, {2 * time.Minute, 3}} {
		c.add(step.d)
		wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
		if n := h.count("/d.json"); n != step.want {
			t.Fatalf("after %v more: %d fetches, want %d", step.d, n, step.want)
		}
	}
}

// FuzzTrustSource: any document given to WithTrustSource is refused with
// an error or loaded with warnings; it never panics, and a loaded
// directory's issuers all have a well-formed iss.
func FuzzTrustSource(f *testing.F) {
	f.Add([]byte(`{"time":1700000000,"issuerInfo":[{"issuer":{"iss":"https://a.example"},"keys":[{"kty":"EC"}],"crls":[{"kid":"x","ctr":"1"}]}]}`))
	f.Add([]byte(`{"time":"2023-01-01T00:00:00Z","issuerInfo":[17,{"issuer":null}]}`))
	f.Add([]byte(`{"participating_issuers":[{"iss":"did:web:a.example"},{"iss":5}]}`))
	f.Add([]byte(`{"time":{"a":[1e999]},"issuerInfo":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &trustSource{src: dirSource{name: "f", data: data, auto: true}}
		p, _, err := (&trustStore{cfg: &config{}}).parse(s, s.src)
		if err != nil {
			return
		}
		if p.dir != nil {
			for _, di := range p.dir.issuers {
				if checkIssuerSyntax(di.iss) != nil {
					t.Fatalf("issuer %q loaded", di.iss)
				}
			}
		}
		for _, e := range p.list {
			if checkIssuerSyntax(e.iss) != nil {
				t.Fatalf("listed issuer %q loaded", e.iss)
			}
		}
	})
}

// Trust sources are signed content and are read strictly: a repeated,
// escaped or case-variant member that encoding/json would resolve silently
// (last wins, any case) refuses the directory or list when it is at the
// top, and skips the entry, issuer or revocation list it is in otherwise.
func TestTrustSourceStrictMembers(t *testing.T) {
	k := newKey(t)
	kid, _ := keysThumb(t, k)
	jwk := strings.TrimSuffix(strings.TrimPrefix(string(jwksOf(t, nil, k)), `{"keys":[`), `]}`)
	good := `{"issuer":{"iss":"` + testIss + `","name":"Good"},"keys":[` + jwk + `]}`
	card := signCard(t, k, testIss, cardNBF, nil)
	load := func(doc string) (*Verifier, error) {
		return New(WithOffline(), WithClock(at(cardNBF+60)), WithTrustDirectoryJSON("d", []byte(doc), nil))
	}
	for name, doc := range map[string]string{
		"repeated issuerInfo": `{"issuerInfo":[],"issuerInfo":[` + good + `]}`,
		"case variant":        `{"issuerInfo":[],"IssuerInfo":[` + good + `]}`,
		"repeated time":       `{"time":"2023-11-14T22:00:00Z","time":"2099-01-01T00:00:00Z","issuerInfo":[` + good + `]}`,
		"escaped name":        `{"issuer\u0049nfo":[` + good + `]}`,
	} {
		if _, err := load(doc); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "repeated, escaped or a case variant") {
			t.Errorf("%s: %v", name, err)
		}
	}
	other := `https://other.example`
	for name, entry := range map[string]string{
		"repeated iss":      `{"issuer":{"iss":"` + other + `","iss":"` + testIss + `"},"keys":[` + jwk + `]}`,
		"case-variant iss":  `{"issuer":{"iss":"` + other + `","ISS":"` + testIss + `"},"keys":[` + jwk + `]}`,
		"escaped iss":       `{"issuer":{"\u0069ss":"` + testIss + `"},"keys":[` + jwk + `]}`,
		"repeated issuer":   `{"issuer":{"iss":"` + other + `"},"issuer":{"iss":"` + testIss + `"},"keys":[` + jwk + `]}`,
		"repeated keys":     `{"issuer":{"iss":"` + testIss + `"},"keys":[],"keys":[` + jwk + `]}`,
		"key with repeat x": `{"issuer":{"iss":"` + testIss + `"},"keys":[` + strings.Replace(jwk, `"x":`, `"x":"AAAA","x":`, 1) + `]}`,
	} {
		v, err := load(`{"issuerInfo":[` + entry + `,{"issuer":{"iss":"https://third.example"}}]}`)
		if err != nil {
			t.Fatalf("%s: the directory was refused: %v", name, err)
		}
		if w := strings.Join(v.ConfigWarnings(), "\n"); !strings.Contains(w, "entry 0 skipped") || strings.Contains(w, "entry 1") {
			t.Errorf("%s: warnings %q", name, w)
		}
		if st := v.TrustSources()[0]; st.Issuers != 1 {
			t.Errorf("%s: %d issuers loaded", name, st.Issuers)
		}
		wantCode(t, verifyOne(t, v, card), VerdictUntrusted, CodeUntrustedIssuer)
	}
	// A revocation list with a repeated member is skipped, the entry kept.
	crls := `"crls":[{"kid":"` + kid + `","ctr":1,"rids":["gone"],"rids":[]}]`
	v, err := load(`{"issuerInfo":[{"issuer":{"iss":"` + testIss + `"},"keys":[` + jwk + `],` + crls + `}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(v.ConfigWarnings(), "\n"); !strings.Contains(w, "revocation list 0 skipped") {
		t.Errorf("warnings %q", w)
	}
	wantCode(t, verifyOne(t, v, card), VerdictVerified, "")
	// Trust lists alike.
	if _, err := New(WithTrustListJSON("l", []byte(`{"participating_issuers":[],"participating_issuers":[{"iss":"`+testIss+`"}]}`))); !errors.Is(err, ErrConfig) {
		t.Errorf("repeated participating_issuers: %v", err)
	}
	v, err = New(WithTrustListJSON("l", []byte(`{"participating_issuers":[{"iss":"`+other+`","Iss":"`+testIss+`"},{"iss":"`+other+`"}]}`)))
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(v.ConfigWarnings(), "\n"); !strings.Contains(w, "entry 0 skipped") || v.TrustSources()[0].Issuers != 1 {
		t.Errorf("warnings %q, status %+v", w, v.TrustSources())
	}
}

// The real-world directory of TRUST-3 (seanno demo data) loads without a
// warning under the strict reading.
func TestRealWorldDirectoryStrict(t *testing.T) {
	data := testvectors.Read(t, "third-party/seanno-shc-demo-data/keystore/directory.json")
	v, err := New(WithOffline(), WithTrustDirectoryJSON("seanno", data, nil))
	if err != nil {
		t.Fatal(err)
	}
	if w := v.ConfigWarnings(); len(w) != 0 || v.TrustSources()[0].Issuers == 0 {
		t.Fatalf("warnings %q, status %+v", w, v.TrustSources())
	}
}
