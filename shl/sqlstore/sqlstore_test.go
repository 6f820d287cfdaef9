package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/pgtest"
	"github.com/healthcards/healthcards/safehttp"
	"github.com/healthcards/healthcards/shl"
	"github.com/healthcards/healthcards/shl/host"
)

// backend opens a fresh, empty store (and, with second, another Store on
// the same database, as a second process would).
type backend struct {
	name string
	open func(t *testing.T) (first, second func() *Store)
}

func sqliteBackend() backend {
	return backend{"sqlite", func(t *testing.T) (func() *Store, func() *Store) {
		path := filepath.Join(t.TempDir(), "links.db")
		open := func() *Store {
			s, err := OpenSQLite(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		return open, open
	}}
}

// postgresBackend uses a schema of its own per test, dropped afterwards.
// Without HEALTHCARDS_TEST_POSTGRES_DSN the PostgreSQL cases skip, or fail
// when CI=true.
func postgresBackend() backend {
	return backend{"postgres", func(t *testing.T) (func() *Store, func() *Store) {
		dsn := pgtest.FreshSchema(t)
		open := func() *Store {
			s, err := OpenPostgres(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		return open, open
	}}
}

func backends() []backend { return []backend{sqliteBackend(), postgresBackend()} }

func forEach(t *testing.T, f func(t *testing.T, open, second func() *Store)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			open, second := b.open(t)
			f(t, open, second)
		})
	}
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sampleLink() *host.StoredLink {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	return &host.StoredLink{
		ID: newID(), Owner: "patient:p1", Key: strings.Repeat("k", 43), Flag: "LP", Label: "Labs for Dr. Ä",
		Exp: t0.Add(24 * time.Hour), PasscodeHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		FailuresLeft: 10, Created: t0,
		Files: []host.StoredFile{
			{ContentType: shl.ContentTypeSHC, JWE: "a.b.c.d.e", LastUpdated: t0},
			{ContentType: shl.ContentTypeFHIR, JWE: "f.g.h.i.j", LastUpdated: t0, FHIRVersion: "4.0.1"},
		},
	}
}

// The Store contract: round trip of every field, conflicts, not-found
// errors on every method, Update's all-or-nothing.
func TestStore_Contract(t *testing.T) {
	forEach(t, func(t *testing.T, open, _ func() *Store) {
		ctx := context.Background()
		s := open()
		l := sampleLink()
		if err := s.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, l) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, l)
		}
		// No expiry, no passcode, no files' lastUpdated: zero values survive.
		l2 := &host.StoredLink{ID: newID(), Key: l.Key, Files: []host.StoredFile{{ContentType: shl.ContentTypeFHIR, JWE: "x"}}}
		if err := s.Create(ctx, l2); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, l2.ID); !reflect.DeepEqual(got, l2) {
			t.Fatalf("zero values: %+v", got)
		}

		dup := sampleLink()
		dup.ID = l.ID
		dup.Owner = "someone else"
		if err := s.Create(ctx, dup); !errors.Is(err, host.ErrStoreConflict) {
			t.Fatalf("duplicate id: %v", err)
		}
		if got, _ := s.Get(ctx, l.ID); got.Owner != l.Owner {
			t.Fatal("a conflicting Create changed the link")
		}

		unknown := newID()
		if _, err := s.Get(ctx, unknown); !errors.Is(err, host.ErrStoreNotFound) {
			t.Fatalf("Get unknown: %v", err)
		}
		if err := s.Update(ctx, unknown, func(*host.StoredLink) error { return nil }); !errors.Is(err, host.ErrStoreNotFound) {
			t.Fatalf("Update unknown: %v", err)
		}
		if err := s.AppendAccess(ctx, unknown, host.AccessEvent{Time: time.Now(), Recipient: "r", Outcome: host.OutcomeOK}); !errors.Is(err, host.ErrStoreNotFound) {
			t.Fatalf("AppendAccess unknown: %v", err)
		}
		if _, err := s.AccessLog(ctx, unknown); !errors.Is(err, host.ErrStoreNotFound) {
			t.Fatalf("AccessLog unknown: %v", err)
		}

		// Update: fn's error leaves the record untouched and is returned.
		boom := errors.New("boom")
		err = s.Update(ctx, l.ID, func(x *host.StoredLink) error { x.Revoked = true; x.FailuresLeft = 0; return boom })
		if !errors.Is(err, boom) {
			t.Fatalf("Update error: %v", err)
		}
		if got, _ := s.Get(ctx, l.ID); got.Revoked || got.FailuresLeft != 10 {
			t.Fatalf("failed Update stored something: %+v", got)
		}
		// A successful Update stores every field fn changed.
		newFiles := []host.StoredFile{{ContentType: shl.ContentTypeFHIR, JWE: "new.jwe", LastUpdated: l.Created.Add(time.Hour)}}
		err = s.Update(ctx, l.ID, func(x *host.StoredLink) error {
			x.Revoked, x.FailuresLeft, x.Files, x.Label = true, 3, newFiles, "changed"
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, _ = s.Get(ctx, l.ID)
		if !got.Revoked || got.FailuresLeft != 3 || got.Label != "changed" || !reflect.DeepEqual(got.Files, newFiles) {
			t.Fatalf("Update not stored: %+v", got)
		}

		// Access log: oldest first, time/recipient/outcome kept.
		for i, o := range []string{host.OutcomePasscodeWrong, host.OutcomeOK} {
			e := host.AccessEvent{Time: l.Created.Add(time.Duration(i) * time.Minute), Recipient: "Dr. " + o, Outcome: o}
			if err := s.AppendAccess(ctx, l.ID, e); err != nil {
				t.Fatal(err)
			}
		}
		log, err := s.AccessLog(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != 2 || log[0].Outcome != host.OutcomePasscodeWrong || log[1].Recipient != "Dr. ok" || !log[1].Time.Equal(l.Created.Add(time.Minute)) {
			t.Fatalf("log %+v", log)
		}
		if log, _ := s.AccessLog(ctx, l2.ID); len(log) != 0 || log == nil {
			t.Fatalf("empty log: %#v", log)
		}
	})
}

// The log keeps the newest MaxLog entries.
func TestStore_AccessLogCap(t *testing.T) {
	forEach(t, func(t *testing.T, open, _ func() *Store) {
		ctx := context.Background()
		s := open()
		s.maxLog = 3
		l := sampleLink()
		s.Create(ctx, l)
		for i := 0; i < 5; i++ {
			if err := s.AppendAccess(ctx, l.ID, host.AccessEvent{Time: l.Created, Recipient: string(rune('a' + i)), Outcome: host.OutcomeOK}); err != nil {
				t.Fatal(err)
			}
		}
		log, _ := s.AccessLog(ctx, l.ID)
		var rs []string
		for _, e := range log {
			rs = append(rs, e.Recipient)
		}
		if !slices.Equal(rs, []string{"c", "d", "e"}) {
			t.Fatalf("log %v", rs)
		}
	})
}

// SHL-10 at the store level: 50 parallel reservations against a budget of
// 10, split over two Store handles on one database (two processes), succeed
// exactly 10 times; no update is lost.
func TestStore_SHL10_UpdateSerializedAcrossHandles(t *testing.T) {
	forEach(t, func(t *testing.T, open, second func() *Store) {
		ctx := context.Background()
		a := open()
		b := second()
		l := sampleLink()
		if err := a.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
		errLocked := errors.New("locked")
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			seen []int
			errs []error
		)
		start := make(chan struct{})
		for i := 0; i < 50; i++ {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				var left int
				err := s.Update(ctx, l.ID, func(x *host.StoredLink) error {
					if x.FailuresLeft <= 0 {
						return errLocked
					}
					x.FailuresLeft--
					left = x.FailuresLeft
					return nil
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					seen = append(seen, left)
				case !errors.Is(err, errLocked):
					errs = append(errs, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("unexpected errors: %v", errs[0])
		}
		slices.Sort(seen)
		if !slices.Equal(seen, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
			t.Fatalf("reservations saw %v", seen)
		}
		if got, _ := b.Get(ctx, l.ID); got.FailuresLeft != 0 {
			t.Fatalf("FailuresLeft %d", got.FailuresLeft)
		}
	})
}

// SHL-10 through the host.Host over HTTP: 50 simultaneous wrong passcodes
// against a link with the default lifetime limit of 10: exactly 10 get 401
// with remainingAttempts 9..0, the other 40 get 404, and the right passcode
// no longer opens the link. The access log shows every evaluated guess.
func TestStore_SHL10_HostParallelGuessing(t *testing.T) {
	forEach(t, func(t *testing.T, open, _ func() *Store) {
		ctx := context.Background()
		st := open()
		srv := httptest.NewUnstartedServer(nil)
		srv.StartTLS()
		defer srv.Close()
		h, err := host.New(host.Config{BaseURL: srv.URL + "/shl", Store: st})
		if err != nil {
			t.Fatal(err)
		}
		srv.Config.Handler = h
		link, err := h.CreateLink(ctx, []host.FileContent{{ContentType: shl.ContentTypeFHIR, Data: []byte(`{"resourceType":"Bundle"}`)}}, host.LinkOptions{Passcode: "1234"})
		if err != nil {
			t.Fatal(err)
		}
		httpc := srv.Client()
		post := func(pass string) (int, []byte) {
			resp, err := httpc.Post(link.Payload.URL, "application/json", strings.NewReader(`{"recipient":"r","passcode":"`+pass+`"}`))
			if err != nil {
				t.Error(err)
				return 0, nil
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, b
		}
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
				code, body := post("0000")
				mu.Lock()
				defer mu.Unlock()
				switch code {
				case http.StatusUnauthorized:
					var v struct{ RemainingAttempts int }
					json.Unmarshal(body, &v)
					remaining = append(remaining, v.RemainingAttempts)
				case http.StatusNotFound:
					notFound++
				default:
					other = append(other, code)
				}
			}()
		}
		close(start)
		wg.Wait()
		slices.Sort(remaining)
		if !slices.Equal(remaining, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) || notFound != 40 || len(other) != 0 {
			t.Fatalf("remaining %v, 404s %d, other %v", remaining, notFound, other)
		}
		if code, _ := post("1234"); code != http.StatusNotFound {
			t.Fatalf("right passcode after lockout: %d", code)
		}
		info, _ := h.Info(ctx, link.ID)
		if !info.Locked || info.FailuresLeft != 0 {
			t.Fatalf("info %+v", info)
		}
		log, _ := h.AccessLog(ctx, link.ID)
		wrong := 0
		for _, e := range log {
			if e.Outcome == host.OutcomePasscodeWrong {
				wrong++
			}
		}
		if wrong != 10 {
			t.Fatalf("%d passcode_wrong entries in the log, want 10", wrong)
		}
	})
}

// A link made through the Host on one handle resolves with a client, and
// survives closing and reopening the database.
func TestStore_HostRoundTripAndReopen(t *testing.T) {
	forEach(t, func(t *testing.T, open, second func() *Store) {
		ctx := context.Background()
		st := open()
		srv := httptest.NewUnstartedServer(nil)
		srv.StartTLS()
		defer srv.Close()
		secret := make([]byte, 32)
		cfg := host.Config{BaseURL: srv.URL + "/shl", Store: st, LocationSecret: secret, DefaultEmbeddedMax: -1}
		h, _ := host.New(cfg)
		srv.Config.Handler = h
		data := []byte(`{"resourceType":"Bundle","type":"collection","entry":[]}`)
		link, err := h.CreateLink(ctx, []host.FileContent{{ContentType: shl.ContentTypeFHIR, Data: data, FHIRVersion: "4.0.1"}}, host.LinkOptions{Label: "x"})
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
		cfg.Store = second()
		h2, _ := host.New(cfg)
		srv.Config.Handler = h2
		pool := x509.NewCertPool()
		pool.AddCert(srv.Certificate())
		c := &shl.Client{Fetch: safehttp.MustNew(safehttp.Config{AllowPrivateNetwork: true, RootCAs: pool})}
		res, err := c.Resolve(ctx, link.Payload, shl.ResolveOptions{Recipient: "after restart"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Files) != 1 || string(res.Files[0].Data) != string(data) || res.Files[0].FHIRVersion != "4.0.1" {
			t.Fatalf("%+v", res.Files)
		}
		if err := h2.Revoke(ctx, link.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Resolve(ctx, link.Payload, shl.ResolveOptions{Recipient: "r"}); shl.CodeOf(err) != shl.CodeLinkNotFound {
			t.Fatalf("after revoke: %v", err)
		}
	})
}

// The SQLite file is private (0600) and a schema from the future is refused.
func TestSQLite_FileModeAndSchemaTooNew(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "links.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	if _, err := s.w.Exec(`INSERT INTO shl_schema_migrations (version, applied_us) VALUES (99, 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenSQLite(ctx, path); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("future schema: %v", err)
	}
}
