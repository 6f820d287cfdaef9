// Package safefetch is the one guarded HTTP client that every outbound fetch
// of the project goes through: issuer key sets, DID documents, revocation
// lists, trust directories and SMART Health Link manifests.
//
// # Security considerations
//
// The URLs it fetches are often chosen by an attacker (a card's iss, a link's
// url), so the client fails closed:
//   - https only (plain http only with Config.AllowHTTP, meant for tests);
//   - the address actually dialled is checked after DNS resolution, so a name
//     that resolves to loopback, private (RFC 1918, RFC 4193), link-local,
//     CGNAT, multicast or unspecified addresses is refused unless
//     Config.AllowPrivateNetwork is set;
//   - redirects are followed only to the same scheme, host and port, at most 3;
//   - every response body is read through a size cap, and every request has a
//     timeout; environment proxies are ignored.
package safefetch

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
	ErrBlockedAddress = errors.New("safefetch: destination address is not allowed")
	ErrTooLarge       = errors.New("safefetch: response body exceeds the size limit")
	ErrScheme         = errors.New("safefetch: only https URLs may be fetched")
	ErrRedirect       = errors.New("safefetch: redirect refused")
	ErrTimeout        = errors.New("safefetch: request timed out")
)

// Config sets the client's limits. The zero value is safe: https only,
// public addresses only, 10 s timeout, 1 MiB bodies.
type Config struct {
	// Timeout bounds a whole request, body included. Zero means DefaultTimeout.
	Timeout time.Duration
	// MaxBytes caps a response body. Zero means DefaultMaxBytes.
	MaxBytes int64
	// AllowPrivateNetwork permits loopback, private and link-local
	// destinations: for tests and intranet deployments only.
	AllowPrivateNetwork bool
	// AllowHTTP permits plain http URLs: for tests only.
	AllowHTTP bool
	// RootCAs verifies servers; nil means the system pool.
	RootCAs *x509.CertPool
	// UserAgent is sent with every request; empty means "healthcards".
	UserAgent string
}

// Client fetches URLs within its Config's limits. It is safe for concurrent use.
type Client struct {
	cfg  Config
	http *http.Client
}

// Response is a fully read, size-capped HTTP response.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "healthcards"
	}
	dialer := &net.Dialer{
		Timeout: cfg.Timeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			if cfg.AllowPrivateNetwork {
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
	c := &Client{cfg: cfg}
	c.http = &http.Client{
		Transport: transport,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("%w: more than %d redirects", ErrRedirect, maxRedirects)
			}
			first := via[0].URL
			if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
				return fmt.Errorf("%w: %s redirects to another origin", ErrRedirect, first.Host)
			}
			return nil
		},
	}
	return c
}

// MaxBytes reports the body cap in force.
func (c *Client) MaxBytes() int64 { return c.cfg.MaxBytes }

// Get fetches url.
func (c *Client) Get(ctx context.Context, url string) (*Response, error) {
	return c.do(ctx, http.MethodGet, url, "", nil)
}

// Post sends body with the given content type to url.
func (c *Client) Post(ctx context.Context, url, contentType string, body []byte) (*Response, error) {
	return c.do(ctx, http.MethodPost, url, contentType, body)
}

func (c *Client) do(ctx context.Context, method, rawURL, contentType string, body []byte) (*Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("safefetch: bad URL %q", rawURL)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && c.cfg.AllowHTTP:
	default:
		return nil, fmt.Errorf("%w: %q", ErrScheme, rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("safefetch: URL without host %q", rawURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("safefetch: URL with credentials refused: %q", u.Redacted())
	}
	// Refuse literal private addresses early, with a clear error, before dialing.
	if a, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && !c.cfg.AllowPrivateNetwork && !PublicAddr(a) {
		return nil, fmt.Errorf("%w: %s", ErrBlockedAddress, a)
	}
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("safefetch: %w", err)
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
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
	return fmt.Errorf("safefetch: %w", err)
}

var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"), // CGNAT
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("64:ff9b::/96"),  // NAT64 can reach private IPv4
	netip.MustParsePrefix("2001:db8::/32"), // documentation
}

// PublicAddr reports whether a is an ordinary public unicast address, the
// only kind the client dials by default.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() ||
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
