package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/did"
	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/authz"
	"github.com/healthcards/healthcards/issuer/identity"
	"github.com/healthcards/healthcards/issuer/oauth"
)

// SMARTConfig names the authorization server endpoints advertised in
// /fhir/.well-known/smart-configuration: the built-in server's (Builtin),
// or an external one's.
type SMARTConfig struct {
	Issuer                string // the authorization server's issuer
	AuthorizationEndpoint string
	TokenEndpoint         string
	JWKSURI               string
	// Builtin, when set, is the issuer's own authorization server
	// (issuer/oauth): its endpoints and capabilities replace the fields
	// above.
	Builtin *oauth.Metadata
}

// Config configures the HTTP API. Issuer, Auth and BaseURL are required.
type Config struct {
	Issuer *issuer.Issuer
	Auth   *auth.Authenticator
	// Source feeds $health-cards-issue; nil means the issuer's own store.
	Source issuer.Source
	// Authz is the decision point for every access to patient data
	// (issue 12); nil means the embedded default policies over Source,
	// audited to the issuer's store.
	Authz *authz.Engine
	// BaseURL is this service's public https base (no trailing slash):
	// links, the FHIR base (BaseURL + "/fhir") and the token audience.
	BaseURL string
	// IssuerName is shown on printable cards; "" means the BaseURL host.
	IssuerName string
	// DevPage serves the issuing page at GET / (development mode).
	DevPage bool
	// SMART describes the authorization server for wallets.
	SMART SMARTConfig
	// Logger gets one line per request, never with PHI, tokens or keys;
	// nil discards.
	Logger *slog.Logger
	// MaxBodyBytes caps request bodies; 0 means 1 MiB.
	MaxBodyBytes int64
	// RequestTimeout bounds each request's work; 0 means 30 s.
	RequestTimeout time.Duration
	// HSTS adds Strict-Transport-Security (set when serving TLS).
	HSTS bool
	// Metrics counts requests, errors, cards, revocations and links for
	// GET /metrics; nil means a new one (give the same to LinksConfig).
	Metrics *Metrics
	// Mount, if set, registers further routes (for example SMART Health
	// Links) on the same server after the built-in ones.
	Mount func(e *echo.Echo)
}

type server struct {
	cfg    Config
	is     *issuer.Issuer
	auth   *auth.Authenticator
	authz  *authz.Engine
	src    issuer.Source
	log    *slog.Logger
	fhir   string
	didDoc bool
	// versions backs ETag/Last-Modified of the published documents.
	versions versions
	metrics  *Metrics
}

// New builds the echo handler of the issuer service.
func New(cfg Config) (*echo.Echo, error) {
	if cfg.Issuer == nil || cfg.Auth == nil {
		return nil, errors.New("httpapi: Config.Issuer and Config.Auth are required")
	}
	if !strings.HasPrefix(cfg.BaseURL, "https://") || strings.HasSuffix(cfg.BaseURL, "/") {
		return nil, errors.New("httpapi: Config.BaseURL must be an https URL without trailing slash")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.IssuerName == "" {
		cfg.IssuerName = strings.TrimPrefix(cfg.BaseURL, "https://")
	}
	s := &server{cfg: cfg, is: cfg.Issuer, auth: cfg.Auth, src: cfg.Source, log: cfg.Logger, fhir: cfg.BaseURL + "/fhir"}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.src == nil {
		s.src = issuer.StoreSource{Store: cfg.Issuer.Store(), BaseURL: s.fhir}
	}
	s.didDoc = strings.HasPrefix(cfg.Issuer.Iss(), "did:web:")
	s.metrics = cfg.Metrics
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	s.metrics.issuer = cfg.Issuer
	s.authz = cfg.Authz
	if s.authz == nil {
		az, err := authz.New(authz.Config{Source: s.src, Audit: cfg.Issuer.Store(), Now: cfg.Issuer.Now})
		if err != nil {
			return nil, err
		}
		s.authz = az
	}

	e := echo.NewWithConfig(echo.Config{Logger: s.log, HTTPErrorHandler: s.handleError})
	e.Use(s.middleware)

	// Key publishing and revocation lists (KEY-3, REV-6): public, CORS *.
	e.GET("/.well-known/jwks.json", s.jwks)
	e.GET("/.well-known/crl/:file", s.crl)
	if s.didDoc {
		e.GET("/.well-known/did.json", s.did)
	}
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.metricsPage)
	e.GET("/openapi.json", s.openAPI)

	// FHIR interface for wallets (OP-1..11).
	e.GET("/fhir/.well-known/smart-configuration", s.smartConfiguration)
	e.GET("/fhir/metadata", s.capabilityStatement)
	e.POST("/fhir/Patient/:id/$health-cards-issue", s.healthCardsIssue)

	// Lab API.
	e.POST("/v1/results", s.postResults)
	e.POST("/v1/cards", s.postCards)
	e.GET("/v1/cards/:file", s.getCard)
	e.POST("/v1/revocations", s.postRevocation)
	e.GET("/cards/:id/print", s.printCard)
	if cfg.DevPage {
		e.GET("/", s.devPage)
	}
	if cfg.Mount != nil {
		cfg.Mount(e)
	}
	return e, nil
}

type ctxKey string

// middleware adds security headers, bounds the request, recovers panics
// and logs one line without PHI (route pattern, not the path: paths hold
// patient and card ids).
func (s *server) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) (err error) {
		start := time.Now()
		req := c.Request()
		ctx, cancel := context.WithTimeout(req.Context(), s.cfg.RequestTimeout)
		defer cancel()
		c.SetRequest(req.WithContext(ctx))
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		if s.cfg.HSTS {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("panic serving request", "route", c.Path(), "panic", r, "stack", string(debug.Stack()))
				err = issuer.ErrInternal
			}
			status := 0
			if err != nil {
				s.handleError(c, err)
				err = nil
			}
			if r, _ := echo.UnwrapResponse(c.Response()); r != nil {
				status = r.Status
			}
			s.metrics.observe(status, time.Since(start))
			s.log.LogAttrs(req.Context(), slog.LevelInfo, "request",
				slog.String("method", req.Method), slog.String("route", c.Path()), slog.Int("status", status),
				slog.Int64("duration_us", time.Since(start).Microseconds()))
		}()
		return next(c)
	}
}

// statusOf maps issuer error codes to HTTP statuses.
func statusOf(code issuer.Code) int {
	switch code {
	case issuer.CodeNotFound:
		return http.StatusNotFound
	case issuer.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case issuer.CodeCardTooLargeForQR:
		return http.StatusUnprocessableEntity
	case issuer.CodeNoSigningKey:
		return http.StatusServiceUnavailable
	case issuer.CodeUpstream:
		return http.StatusBadGateway
	case issuer.CodeUnauthenticated:
		return http.StatusUnauthorized
	case issuer.CodeForbidden, identity.CodeCSRF:
		return http.StatusForbidden
	case issuer.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case issuer.CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case issuer.CodeRateLimited:
		return http.StatusTooManyRequests
	case issuer.CodeInternal, "":
		return http.StatusInternalServerError
	default:
		return http.StatusBadRequest
	}
}

// httpStatusCode is the registered code of an HTTP status the framework
// answered by itself (unknown route, method, media type, body cap); statusOf
// maps each back to the same status (TestStatusCodesRoundTrip).
func httpStatusCode(status int) issuer.Code {
	switch status {
	case http.StatusNotFound:
		return issuer.CodeNotFound
	case http.StatusMethodNotAllowed:
		return issuer.CodeMethodNotAllowed
	case http.StatusUnsupportedMediaType:
		return issuer.CodeUnsupportedMedia
	case http.StatusRequestEntityTooLarge:
		return issuer.CodeTooLarge
	case http.StatusTooManyRequests:
		return issuer.CodeRateLimited
	case http.StatusUnauthorized:
		return issuer.CodeUnauthenticated
	case http.StatusForbidden:
		return issuer.CodeForbidden
	}
	if status >= 500 {
		return issuer.CodeInternal
	}
	return issuer.CodeBadRequest
}

// handleError writes every error as a FHIR OperationOutcome.
func (s *server) handleError(c *echo.Context, err error) {
	if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Committed {
		return
	}
	var status int
	out := err
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		status = http.StatusUnauthorized
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="shc-issuer"`)
		out = &issuer.Error{Pkg: "issuer", Code: issuer.CodeUnauthenticated, Msg: "a valid bearer token is required"}
	case errors.Is(err, auth.ErrForbidden):
		status = http.StatusForbidden
		msg := "the access token does not allow this"
		var fe *forbiddenError
		if errors.As(err, &fe) {
			msg = fe.msg
		}
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="shc-issuer", error="insufficient_scope"`)
		out = &issuer.Error{Pkg: "issuer", Code: issuer.CodeForbidden, Msg: msg}
	case issuer.CodeOf(err) != "":
		status = statusOf(issuer.CodeOf(err))
		if status == http.StatusInternalServerError {
			s.log.Error("request failed", "route", c.Path(), "err", err.Error())
		}
	case echo.StatusCode(err) != 0:
		status = echo.StatusCode(err)
		out = &issuer.Error{Pkg: "issuer", Code: httpStatusCode(status), Msg: http.StatusText(status)}
		if status == http.StatusNotFound {
			out = &issuer.Error{Pkg: "issuer", Code: issuer.CodeNotFound, Msg: "no such endpoint"}
		}
	default:
		status = http.StatusInternalServerError
		s.log.Error("request failed", "route", c.Path(), "err", err.Error())
	}
	s.metrics.errors.Add(string(issuer.CodeOf(out)), 1)
	b := issuer.MarshalOutcome(out)
	if issuer.CodeOf(out) == "unauthenticated" || issuer.CodeOf(out) == "forbidden" {
		o := issuer.Outcome(out)
		o.Issue[0].Code = map[int]string{401: "login", 403: "forbidden"}[status]
		o.Issue[0].Details.Text = out.(*issuer.Error).Msg
		b, _ = json.Marshal(o)
	}
	_ = c.Blob(status, "application/fhir+json", b)
}

type forbiddenError struct{ msg string }

func (f *forbiddenError) Error() string        { return "forbidden: " + f.msg }
func (f *forbiddenError) Is(target error) bool { return target == auth.ErrForbidden }

func forbidden(msg string) error { return &forbiddenError{msg: msg} }

// denied is the error answer of a denied authorization decision.
func denied(d *authz.Decision) error {
	if issuer.CodeOf(d.Err) == issuer.CodeForbidden {
		return forbidden(d.Reason)
	}
	if d.Err == nil {
		return forbidden("not allowed")
	}
	return d.Err
}

// principal authenticates the request.
func (s *server) principal(c *echo.Context) (*auth.Principal, error) {
	return s.auth.Authenticate(c.Request().Context(), c.Request().Header.Get("Authorization"))
}

// requireScope authenticates a lab-system request and checks one scope.
func (s *server) requireScope(c *echo.Context, scope string) (*auth.Principal, error) {
	p, err := s.principal(c)
	if err != nil {
		return nil, err
	}
	if !p.Has(scope) {
		return nil, forbidden("this endpoint needs the scope " + scope)
	}
	return p, nil
}

// readBody reads the request body up to limit bytes.
func (s *server) readBody(c *echo.Context, limit int64) ([]byte, error) {
	r := http.MaxBytesReader(c.Response(), c.Request().Body, limit)
	b, err := io.ReadAll(r)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &issuer.Error{Code: issuer.CodeTooLarge, Msg: "request body exceeds the size limit"}
	}
	if err != nil {
		return nil, &issuer.Error{Code: issuer.CodeInvalidBundle, Msg: "cannot read the request body"}
	}
	return b, nil
}

func nonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func (s *server) healthz(c *echo.Context) error {
	if _, err := s.is.Store().CRLVersion(c.Request().Context()); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "store unavailable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func cors(c *echo.Context) {
	c.Response().Header().Set("Access-Control-Allow-Origin", "*")
}

// jwks serves the published keys, each with crlVersion (KEY-3, KEY-11, REV-7).
func (s *server) jwks(c *echo.Context) error {
	set, err := s.is.JWKS(c.Request().Context())
	if err != nil {
		return err
	}
	cors(c)
	return s.serveCacheable(c, set)
}

// crl serves /.well-known/crl/{kid}.json (REV-4, REV-6).
func (s *server) crl(c *echo.Context) error {
	kid, ok := strings.CutSuffix(c.Param("file"), ".json")
	if !ok {
		return issuer.ErrNotFound
	}
	l, err := s.is.CRL(c.Request().Context(), kid)
	if err != nil {
		return err
	}
	cors(c)
	return s.serveCacheable(c, l)
}

// did serves the did:web document of a did:web issuer (KEY-12 extension).
func (s *server) did(c *echo.Context) error {
	set, err := s.is.JWKS(c.Request().Context())
	if err != nil {
		return err
	}
	cors(c)
	return s.serveCacheable(c, did.NewDocument(s.is.Iss(), set.Keys))
}
