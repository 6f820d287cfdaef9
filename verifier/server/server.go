package server

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	"golang.org/x/sync/semaphore"

	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/verifier"
	"github.com/healthcards/healthcards/verifier/web"
)

// Defaults for the zero values of Config.
const (
	// DefaultMaxBodyBytes caps a request body: room for a phone photo of a
	// QR code (the QR decoder itself refuses images over 20 MiB).
	DefaultMaxBodyBytes = 10 << 20
	// DefaultRateLimit is the sustained number of verification requests
	// per second allowed from one client IP.
	DefaultRateLimit = 10
	// DefaultRateBurst is the burst allowed from one client IP.
	DefaultRateBurst = 30
	// DefaultVerifyTimeout bounds one verification request (fetching key
	// sets and revocation lists included).
	DefaultVerifyTimeout = 20 * time.Second
	// DefaultLargeBodyBytes is the body size from which a request is
	// "large" (see Config.LargeBodyBytes).
	DefaultLargeBodyBytes = 64 << 10
	// DefaultMaxImageMemoryBytes bounds the estimated decoding memory of
	// the images verified at once (see Config.MaxImageMemoryBytes).
	DefaultMaxImageMemoryBytes = 512 << 20
	// DefaultMaxImageBytes bounds one image's estimated decoding memory
	// (see Config.MaxImageBytes): issue 10's 64 MiB per request. A
	// 12-megapixel baseline phone JPEG needs about 48 MiB (shc/qr
	// TestDecode12MPWithin64MiB); a progressive one of that size, about
	// 130 MiB, is refused with image_too_large.
	DefaultMaxImageBytes = 64 << 20
	// DefaultFetchesPerClientPerMinute bounds the key-set, DID-document and
	// revocation-list fetches one client IP may cause per minute (cached
	// ones cost nothing).
	DefaultFetchesPerClientPerMinute = 30
)

// CardVerifier verifies card input. *verifier.Verifier implements it, and so
// does the *Trust that the command builds around it.
type CardVerifier interface {
	Verify(ctx context.Context, input []byte) ([]*verifier.Result, error)
}

var _ CardVerifier = (*verifier.Verifier)(nil)

// Config configures a Server. The zero value of every field but Verifier is
// safe and documented.
type Config struct {
	// Verifier verifies cards. Required: New fails without it.
	Verifier CardVerifier
	// Ready reports whether the trust sources are loaded and fresh, for
	// GET /readyz. Nil means ready as soon as the server runs.
	Ready func() error
	// Logger receives structured logs. They never hold card content (names,
	// birth dates, bundles, raw input): only verdicts, codes, sizes and
	// timings. Nil means slog.Default().
	Logger *slog.Logger
	// Metrics collects the counters served at GET /metrics. Nil means a new
	// set owned by the server (see Server.Metrics).
	Metrics *Metrics
	// MaxBodyBytes caps a request body; larger requests get a 413 problem.
	// Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// RateLimit is the sustained verification requests per second allowed
	// per client IP (token bucket, golang.org/x/time/rate). Zero means
	// DefaultRateLimit; a negative value turns the limit off.
	RateLimit float64
	// RateBurst is the bucket size per client IP. Zero means
	// DefaultRateBurst.
	RateBurst int
	// CORSOrigins lists the origins allowed to call POST /v1/verify from a
	// browser ("*" for any). Empty means no CORS headers: only the page
	// served by this binary (same origin) can call the API from a browser.
	CORSOrigins []string
	// FetchesPerClientPerMinute bounds the fetches (issuer key sets, DID
	// documents, revocation lists; cached ones are free) that one client
	// IP's requests may cause per minute, with a burst of a third of it.
	// Past it, cards needing a fetch fail with fetch_limited. Zero means
	// DefaultFetchesPerClientPerMinute; a negative value turns it off. The
	// library also bounds distinct issuers fetched per request
	// (verifier.WithMaxIssuersFetchedPerInput).
	FetchesPerClientPerMinute int
	// VerifyTimeout bounds one verification request. Zero means
	// DefaultVerifyTimeout.
	VerifyTimeout time.Duration
	// MaxConcurrent bounds the verifications running at once (image
	// decoding is CPU and memory heavy); requests over the bound wait for
	// a slot until their timeout. Zero means 8 × GOMAXPROCS.
	MaxConcurrent int
	// LargeBodyBytes is the body size from which a request counts as
	// large: such requests, requests of unknown length, images and
	// multipart uploads are also bounded by MaxConcurrentLarge, taken
	// before the body is read, so that a few costly requests cannot starve
	// the small ones (a card as JSON or text is a few KB). Zero means
	// DefaultLargeBodyBytes.
	LargeBodyBytes int64
	// MaxConcurrentLarge bounds the large requests (see LargeBodyBytes)
	// read and verified at once; others wait for a slot until their
	// timeout. Zero means GOMAXPROCS/2 (at least 1).
	MaxConcurrentLarge int
	// ImageCost estimates, from an image's header, the memory decoding it
	// will take. Nil means qr.DecodeCost, the estimate of the decoder the
	// service wires in.
	ImageCost func(image []byte) (int64, error)
	// MaxImageMemoryBytes bounds the sum of ImageCost over the images being
	// decoded at once: an image waits (until its timeout) for its estimate
	// to fit, and an image whose estimate alone is over the bound is
	// refused with image_too_large. Zero means DefaultMaxImageMemoryBytes.
	MaxImageMemoryBytes int64
	// MaxImageBytes bounds one image's ImageCost: an image whose estimate
	// is over it is refused with image_too_large before decoding. Zero
	// means DefaultMaxImageBytes.
	MaxImageBytes int64
	// IPExtractor finds the client IP for rate limiting. Nil means the
	// direct peer address (never forwarding headers): set it when the
	// service runs behind a trusted reverse proxy.
	IPExtractor echo.IPExtractor
	// TLS, when true, adds Strict-Transport-Security to responses.
	TLS bool
}

// Server is the HTTP service. Build it with New and serve Handler.
type Server struct {
	cfg      Config
	log      *slog.Logger
	metrics  *Metrics
	limiter  *ipLimiter    // nil: no limit
	snapshot snapshotCache // GET /v1/trust-snapshot (snapshot.go)
	// fetchLimiter bounds fetches per client IP per minute; nil: no limit.
	fetchLimiter *ipLimiter
	sem          chan struct{}
	large        chan struct{}       // slots for large requests (Config.MaxConcurrentLarge)
	imageMem     *semaphore.Weighted // estimated image decoding memory (Config.MaxImageMemoryBytes)
	e            *echo.Echo
}

//go:embed openapi.json
var openAPIDoc []byte

// Routes lists the method and path of every route the server serves, in
// the order of the OpenAPI document.
var Routes = []struct{ Method, Path string }{
	{http.MethodGet, "/"},
	{http.MethodPost, "/v1/verify"},
	{http.MethodGet, "/healthz"},
	{http.MethodGet, "/readyz"},
	{http.MethodGet, "/v1/trust-snapshot"},
	{http.MethodGet, "/metrics"},
	{http.MethodGet, "/openapi.json"},
}

// New builds a Server from cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("server: Config.Verifier is required")
	}
	if cfg.MaxBodyBytes < 0 || cfg.RateBurst < 0 || cfg.VerifyTimeout < 0 || cfg.MaxConcurrent < 0 || cfg.LargeBodyBytes < 0 || cfg.MaxConcurrentLarge < 0 {
		return nil, errors.New("server: negative MaxBodyBytes, RateBurst, VerifyTimeout, MaxConcurrent, LargeBodyBytes or MaxConcurrentLarge")
	}
	if cfg.LargeBodyBytes == 0 {
		cfg.LargeBodyBytes = DefaultLargeBodyBytes
	}
	if cfg.MaxImageMemoryBytes < 0 || cfg.MaxImageBytes < 0 {
		return nil, errors.New("server: negative MaxImageMemoryBytes or MaxImageBytes")
	}
	if cfg.MaxImageBytes == 0 {
		cfg.MaxImageBytes = DefaultMaxImageBytes
	}
	if cfg.ImageCost == nil {
		cfg.ImageCost = qr.DecodeCost
	}
	if cfg.MaxImageMemoryBytes == 0 {
		cfg.MaxImageMemoryBytes = DefaultMaxImageMemoryBytes
	}
	if cfg.MaxConcurrentLarge == 0 {
		cfg.MaxConcurrentLarge = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.RateBurst == 0 {
		cfg.RateBurst = DefaultRateBurst
	}
	if cfg.VerifyTimeout == 0 {
		cfg.VerifyTimeout = DefaultVerifyTimeout
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = 8 * runtime.GOMAXPROCS(0)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, metrics: cfg.Metrics}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	if cfg.RateLimit > 0 {
		s.limiter = newIPLimiter(cfg.RateLimit, cfg.RateBurst)
	}
	if cfg.FetchesPerClientPerMinute == 0 {
		cfg.FetchesPerClientPerMinute = DefaultFetchesPerClientPerMinute
		s.cfg.FetchesPerClientPerMinute = cfg.FetchesPerClientPerMinute
	}
	if n := cfg.FetchesPerClientPerMinute; n > 0 {
		s.fetchLimiter = newIPLimiter(float64(n)/60, max(1, n/3))
	}
	s.sem = make(chan struct{}, cfg.MaxConcurrent)
	s.large = make(chan struct{}, cfg.MaxConcurrentLarge)
	s.imageMem = semaphore.NewWeighted(cfg.MaxImageMemoryBytes)
	if sv, ok := cfg.Verifier.(StatsVerifier); ok {
		s.metrics.addLibraryStats(sv)
	}

	e := echo.NewWithConfig(echo.Config{
		Logger:           s.log,
		HTTPErrorHandler: s.handleError,
		IPExtractor:      cfg.IPExtractor,
		Filesystem:       web.Files(),
	})
	e.Pre(s.recoverer, s.accessLog, s.securityHeaders)

	files := web.Files()
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return nil, fmt.Errorf("server: embedded page: %w", err)
	}
	gz := middleware.GzipWithConfig(middleware.GzipConfig{MinLength: 1024,
		// Files stored compressed (the on-device verifier) are sent as they are.
		Skipper: func(c *echo.Context) bool { return strings.HasSuffix(c.Request().URL.Path, ".gz") }})
	e.GET("/", func(c *echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-cache")
		return c.HTMLBlob(http.StatusOK, index)
	})
	sw, err := fs.ReadFile(files, "sw.js")
	if err != nil {
		return nil, fmt.Errorf("server: embedded service worker: %w", err)
	}
	e.GET("/sw.js", func(c *echo.Context) error { // the page's service worker, scope "/" (issue 11)
		c.Response().Header().Set("Cache-Control", "no-cache")
		return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", sw)
	})
	e.GET("/static/*", func(c *echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=300")
		return echo.StaticDirectoryHandler(files, false)(c)
	}, gz)

	verifyMW := []echo.MiddlewareFunc{s.rateLimit}
	if len(cfg.CORSOrigins) > 0 {
		cors, err := middleware.CORSConfig{
			AllowOrigins: cfg.CORSOrigins,
			AllowMethods: []string{http.MethodPost, http.MethodOptions},
			AllowHeaders: []string{"Content-Type", "Accept"},
			MaxAge:       600,
		}.ToMiddleware()
		if err != nil {
			return nil, fmt.Errorf("server: CORS origins: %w", err)
		}
		verifyMW = append([]echo.MiddlewareFunc{cors}, verifyMW...)
		e.OPTIONS("/v1/verify", func(c *echo.Context) error { return c.NoContent(http.StatusNoContent) }, cors)
	}
	e.POST("/v1/verify", s.handleVerify, verifyMW...)
	e.GET("/healthz", func(c *echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", s.handleReady)
	e.GET("/v1/trust-snapshot", s.handleTrustSnapshot, s.rateLimit, gz) // snapshot.go (issue 11)
	e.GET("/metrics", func(c *echo.Context) error {
		var buf bytes.Buffer
		if _, err := s.metrics.WriteTo(&buf); err != nil {
			return err
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.Blob(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", buf.Bytes())
	})
	e.GET("/openapi.json", func(c *echo.Context) error {
		return c.Blob(http.StatusOK, "application/json", openAPIDoc)
	}, gz)
	s.e = e
	return s, nil
}

// Handler returns the HTTP handler of the service.
func (s *Server) Handler() http.Handler { return s.e }

// Metrics returns the server's metrics.
func (s *Server) Metrics() *Metrics { return s.metrics }

func (s *Server) handleReady(c *echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(); err != nil {
			// Plain words only: the cause names trust source URLs, which
			// may be internal; it goes to the log (issue 10).
			s.log.LogAttrs(c.Request().Context(), slog.LevelDebug, "not ready", strAttr("error", err.Error()))
			return newProblem(http.StatusServiceUnavailable, CodeNotReady, "the trusted issuers are not loaded yet, or are stale")
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// handleError turns every error into a problem document.
func (s *Server) handleError(c *echo.Context, err error) {
	if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Committed {
		return
	}
	var p *Problem
	if !errors.As(err, &p) {
		status := echo.StatusCode(err)
		switch status {
		case http.StatusNotFound:
			p = newProblem(status, CodeNotFound, "no such resource")
		case http.StatusMethodNotAllowed:
			p = newProblem(status, CodeMethodNotAllowed, "method not allowed")
		case http.StatusRequestEntityTooLarge:
			p = newProblem(status, CodeBodyTooLarge, "request body too large")
		case http.StatusUnsupportedMediaType:
			p = newProblem(status, CodeUnsupportedMedia, "unsupported media type")
		case http.StatusTooManyRequests:
			p = newProblem(status, CodeRateLimited, "rate limited")
		default:
			if status >= 400 && status < 500 {
				p = newProblem(status, CodeBadRequest, http.StatusText(status))
			} else {
				// Internal errors are logged by type only: their text
				// could quote input.
				s.log.Error("internal error", "route", c.Path(), "error_type", fmt.Sprintf("%T", err))
				p = newProblem(http.StatusInternalServerError, CodeInternal, "internal error")
			}
		}
	}
	if p.Status == http.StatusMethodNotAllowed {
		if allow, ok := c.Get(echo.ContextKeyHeaderAllow).(string); ok && allow != "" {
			c.Response().Header().Set("Allow", allow)
		}
	}
	s.metrics.ObserveProblem(string(p.Code))
	if c.Request().Method == http.MethodHead {
		c.Response().WriteHeader(p.Status)
		return
	}
	writeProblem(c.Response(), p)
}

// securityHeaders sets a strict Content-Security-Policy and friends on every
// response: no inline script, no third-party requests, no framing.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=(), usb=()")
		if s.cfg.TLS {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		return next(c)
	}
}

// ContentSecurityPolicy is sent with every response. Scripts and styles come
// only from this origin's files; the page may only call its own API.
//
// 'wasm-unsafe-eval' lets the page compile its own on-device verifier
// (/static/wasm, same origin; it allows WebAssembly compilation only, not
// eval); worker-src and manifest-src allow the page's service worker and
// web app manifest (issue 11).
const ContentSecurityPolicy = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' blob: data:; " +
	"media-src 'self' blob: mediastream:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// recoverer turns a panic into a 500 problem. It logs the panic's type only,
// never its value, which could quote card content.
func (s *Server) recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("panic in handler", "route", c.Path(), "panic_type", fmt.Sprintf("%T", r))
				err = newProblem(http.StatusInternalServerError, CodeInternal, "internal error")
			}
		}()
		return next(c)
	}
}

// accessLog logs one line per request: method, route pattern (never the raw
// URL), status, size and duration. No client address, no headers, no body.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			s.handleError(c, err)
			err = nil
		}
		status, size := 0, int64(0)
		if r, _ := echo.UnwrapResponse(c.Response()); r != nil {
			status, size = r.Status, r.Size
		}
		s.metrics.ObserveResponse(status)
		route := c.Path()
		if route == "" {
			route = "(unmatched)"
		}
		lvl := slog.LevelDebug
		if c.Request().URL.Path == "/v1/verify" || status >= 500 {
			lvl = slog.LevelInfo
		}
		s.log.LogAttrs(c.Request().Context(), lvl, "http request",
			slog.String("method", c.Request().Method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Int64("bytes", size),
			slog.String("duration", time.Since(start).Round(time.Microsecond).String()))
		return err
	}
}

// rateLimit applies the per-client-IP token bucket.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if s.limiter == nil {
			return next(c)
		}
		ok, wait := s.limiter.allow(c.RealIP())
		if !ok {
			secs := int(wait/time.Second) + 1
			c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
			return newProblem(http.StatusTooManyRequests, CodeRateLimited, fmt.Sprintf("retry in %d s", secs))
		}
		return next(c)
	}
}
