package identitytest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/healthcards/healthcards/issuer/identity"
)

// Clock is an identity.Config.Now for tests: the wall clock plus a shift
// that Advance adds to, so session timeouts pass without waiting.
type Clock struct {
	mu    sync.Mutex
	shift time.Duration
}

// Now is the wall clock plus every Advance so far.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.shift)
}

// Advance moves the clock d forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.shift += d
	c.mu.Unlock()
}

// Browser is one person's browser on the pages served at Base: a cookie
// jar, redirects returned (not followed), and its own Authenticator for
// the relying party.
type Browser struct {
	t      testing.TB
	Base   string
	Client *http.Client
	Auth   *Authenticator
}

// NewBrowser returns a Browser that sends its requests through a copy of
// client (which trusts the test server) with a cookie jar of its own.
func NewBrowser(t testing.TB, client *http.Client, rpID, base string) *Browser {
	jar, _ := cookiejar.New(nil)
	c := *client
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Browser{t: t, Base: base, Client: &c, Auth: New(rpID, base)}
}

// Do sends method path (below Base) with body of type ctype ("": none)
// and the Origin header origin ("": none), and returns the answer's
// status, body and header. A transport error fails the test.
func (b *Browser) Do(method, path, ctype string, body []byte, origin string) (int, string, http.Header) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.Base+path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out), resp.Header
}

// Cookies are the jar's cookies for Base.
func (b *Browser) Cookies() []*http.Cookie {
	u, _ := url.Parse(b.Base)
	return b.Client.Jar.Cookies(u)
}

// SetCookie puts the cookie name=value for Base in the jar (a session
// obtained elsewhere, say).
func (b *Browser) SetCookie(name, value string) {
	u, _ := url.Parse(b.Base)
	b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// Enrol redeems an enrolment code for aud with a new passkey of a,
// straight at the identity service (no pages): BeginEnrolFor, then
// FinishEnrol with a's answer posted from a.Origin.
func Enrol(ctx context.Context, s *identity.Service, aud identity.Audience, code, clientKey string, a *Authenticator) (*identity.Session, error) {
	opts, cer, err := s.BeginEnrolFor(ctx, aud, code, clientKey)
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequest("POST", a.Origin+"/x", bytes.NewReader(a.Create(opts)))
	return s.FinishEnrol(ctx, cer, req)
}
