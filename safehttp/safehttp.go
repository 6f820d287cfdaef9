package safehttp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Defaults for a zero Config.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultMaxBytes = 1 << 20 // 1 MiB
	maxRedirects    = 3
)

// Errors returned by the client; match them with errors.Is.
var (
	ErrBlockedAddress = errors.New("safehttp: destination address is not allowed")
	ErrTooLarge       = errors.New("safehttp: response body exceeds the size limit")
	ErrScheme         = errors.New("safehttp: only https URLs may be fetched")
	ErrRedirect       = errors.New("safehttp: redirect refused")
	ErrTimeout        = errors.New("safehttp: request timed out")
)

// Config sets the client's limits. The zero value is safe: https only,
// public addresses only, 10 s timeout, 1 MiB bodies.
type Config struct {
	// Timeout bounds a whole request, body included. Zero means DefaultTimeout.
	Timeout time.Duration
	// MaxBytes caps a response body. Zero means DefaultMaxBytes.
	MaxBytes int64
	// AllowPrivateNetwork permits loopback, private and link-local
	// destinations for every URL: for tests and intranet deployments only.
	// Prefer PrivateOrigins, which scopes the exception.
	AllowPrivateNetwork bool
	// PrivateOrigins lists origins (scheme://host[:port], such as
	// "https://localhost:8443") whose URLs may reach loopback, private and
	// link-local addresses; every other URL is held to public addresses.
	// Redirects never leave the origin, so the exception cannot be carried
	// elsewhere. An entry that is not an origin makes New fail.
	PrivateOrigins []string
	// AllowHTTP permits plain http URLs: for tests only.
	AllowHTTP bool
	// RootCAs verifies servers; nil means the system pool.
	RootCAs *x509.CertPool
	// UserAgent is sent with every request; empty means "healthcards".
	UserAgent string
}

// Client fetches URLs within its Config's limits. It is safe for concurrent
// use. Build it with New; the zero Client is not usable.
type Client struct {
	cfg     Config
	http    *http.Client        // public addresses only (unless AllowPrivateNetwork)
	private *http.Client        // any address: used only for PrivateOrigins
	origins map[string]struct{} // normalized PrivateOrigins
}

// Response is a fully read, size-capped HTTP response.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// New returns a client for cfg. It fails when a PrivateOrigins entry is not
// an origin (scheme://host[:port] with no path, query or credentials).
func New(cfg Config) (*Client, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "healthcards"
	}
	c := &Client{cfg: cfg}
	for _, o := range cfg.PrivateOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("safehttp: PrivateOrigins entry %q is not an origin (scheme://host[:port])", o)
		}
		if c.origins == nil {
			c.origins = map[string]struct{}{}
		}
		c.origins[origin(u)] = struct{}{}
	}
	c.http = c.newHTTP(cfg.AllowPrivateNetwork)
	if len(c.origins) > 0 && !cfg.AllowPrivateNetwork {
		c.private = c.newHTTP(true)
	}
	return c, nil
}

// MustNew is New for configurations known to be valid (no PrivateOrigins,
// or constant ones); it panics where New would fail.
func MustNew(cfg Config) *Client {
	c, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return c
}

// newHTTP builds one transport: the guarded one, or (anyPrivate) the one
// reserved for the configured private origins.
func (c *Client) newHTTP(anyPrivate bool) *http.Client {
	cfg := c.cfg
	dialer := &net.Dialer{
		Timeout: cfg.Timeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			if anyPrivate {
				return nil
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrBlockedAddress, address)
			}
			if !PublicAddr(ap.Addr()) {
				return fmt.Errorf("%w: %s", ErrBlockedAddress, ap.Addr())
			}
			return nil
		},
	}
	transport := &http.Transport{
		Proxy:                 nil, // never let an environment proxy bypass the address check
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("%w: more than %d redirects", ErrRedirect, maxRedirects)
			}
			// Same origin only: this is also what keeps a PrivateOrigins
			// exception from following a redirect elsewhere.
			if origin(req.URL) != origin(via[0].URL) {
				return fmt.Errorf("%w: redirect to another origin", ErrRedirect)
			}
			return nil
		},
	}
}

// origin is u's scheme://host:port in lower case, with the default port
// made explicit.
func origin(u *url.URL) string {
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// MaxBytes reports the body cap in force.
func (c *Client) MaxBytes() int64 { return c.cfg.MaxBytes }

// Get fetches url.
func (c *Client) Get(ctx context.Context, url string) (*Response, error) {
	return c.do(ctx, http.MethodGet, url, "", nil, nil)
}

// maxValidatorBytes bounds an ETag or Last-Modified value sent back in a
// conditional request; a longer one (or one with control characters) is
// not sent and the request is unconditional.
const maxValidatorBytes = 256

// GetConditional fetches url as Get does, sending If-None-Match etag and
// If-Modified-Since lastModified when they are not empty (the ETag and
// Last-Modified of an earlier answer). A 304 Not Modified comes back as a
// Response with StatusCode 304 and an empty body: the caller's copy is
// still current.
func (c *Client) GetConditional(ctx context.Context, url, etag, lastModified string) (*Response, error) {
	h := http.Header{}
	if etag != "" && validatorOK(etag) {
		h.Set("If-None-Match", etag)
	}
	if lastModified != "" && validatorOK(lastModified) {
		h.Set("If-Modified-Since", lastModified)
	}
	return c.do(ctx, http.MethodGet, url, "", nil, h)
}

func validatorOK(s string) bool {
	if len(s) > maxValidatorBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// Post sends body with the given content type to url.
func (c *Client) Post(ctx context.Context, url, contentType string, body []byte) (*Response, error) {
	return c.do(ctx, http.MethodPost, url, contentType, body, nil)
}

// Do sends a request with extra header fields (an Authorization header, an
// Accept) under the same guard, caps and timeout as Get and Post. Header
// fields that steer the connection (Host, Connection, Content-Length,
// Transfer-Encoding, Proxy-*) are refused, so a caller cannot use them to
// reach another origin or smuggle a request.
func (c *Client) Do(ctx context.Context, method, url, contentType string, body []byte, header http.Header) (*Response, error) {
	for k := range header {
		switch ck := http.CanonicalHeaderKey(k); {
		case ck == "Host", ck == "Connection", ck == "Content-Length", ck == "Transfer-Encoding", strings.HasPrefix(ck, "Proxy-"):
			return nil, fmt.Errorf("safehttp: header %s may not be set", ck)
		}
	}
	return c.do(ctx, method, url, contentType, body, header)
}

func (c *Client) do(ctx context.Context, method, rawURL, contentType string, body []byte, extra http.Header) (*Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("safehttp: bad URL %q", rawURL)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && c.cfg.AllowHTTP:
	default:
		return nil, fmt.Errorf("%w: %q", ErrScheme, rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("safehttp: URL without host %q", rawURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("safehttp: URL with credentials refused: %q", u.Redacted())
	}
	hc := c.http
	if _, ok := c.origins[origin(u)]; ok && c.private != nil {
		hc = c.private
	}
	// Refuse literal private addresses early, with a clear error, before dialing.
	if a, err := netip.ParseAddr(u.Hostname()); err == nil && hc == c.http && !c.cfg.AllowPrivateNetwork && !PublicAddr(a) {
		return nil, fmt.Errorf("%w: %s", ErrBlockedAddress, a)
	}
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("safehttp: %w", err)
	}
	for k, vs := range extra {
		req.Header[k] = vs
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, classify(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength > c.cfg.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrTooLarge, resp.ContentLength, c.cfg.MaxBytes)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxBytes+1))
	if err != nil {
		return nil, classify(err)
	}
	if int64(len(data)) > c.cfg.MaxBytes {
		return nil, fmt.Errorf("%w: limit %d bytes", ErrTooLarge, c.cfg.MaxBytes)
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// classify maps transport errors onto the package's sentinels where one fits.
func classify(err error) error {
	for _, sentinel := range []error{ErrBlockedAddress, ErrRedirect} {
		if errors.Is(err, sentinel) {
			return err
		}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	}
	return fmt.Errorf("safehttp: %w", err)
}

// blockedPrefixes are ranges PublicAddr refuses beyond the net/netip
// predicates: shared and special-purpose IPv4 space, and the IPv6 ranges
// that carry or reach an IPv4 address (so ::127.0.0.1, 6to4, NAT64 and
// Teredo cannot smuggle loopback or private IPv4 past the check), or that
// are deprecated or never routed.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),   // CGNAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast (deprecated)
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated): ::127.0.0.1, ::a9fe:a9fe
	netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated (SIIT)
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64 well-known: reaches any IPv4
	netip.MustParsePrefix("64:ff9b:1::/48"),  // NAT64 local use (RFC 8215)
	netip.MustParsePrefix("100::/64"),        // discard-only (RFC 6666)
	netip.MustParsePrefix("2001::/32"),       // Teredo: embeds an IPv4 server and client
	netip.MustParsePrefix("2001:2::/48"),     // benchmarking
	netip.MustParsePrefix("2001:10::/28"),    // ORCHID (deprecated)
	netip.MustParsePrefix("2001:20::/28"),    // ORCHIDv2
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4: embeds an IPv4 address
	netip.MustParsePrefix("3fff::/20"),       // documentation (RFC 9637)
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated, RFC 3879)
}

// PublicAddr reports whether a is an ordinary public unicast address, the
// only kind the client dials by default. IPv4-mapped IPv6 addresses are
// judged by their IPv4 address; IPv6 ranges that embed or translate to an
// IPv4 address (IPv4-compatible, 6to4, NAT64, Teredo) are refused whole.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.Zone() != "" || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() ||
		a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a.IsMulticast() ||
		a.IsUnspecified() {
		return false
	}
	if a.Is4() && (a.As4()[0] == 0 || a.As4()[0] >= 240) {
		return false
	}
	for _, p := range blockedPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
