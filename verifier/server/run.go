package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/internal/clientip"
)

// Service is the verifier service built from Options: its trust sources
// loaded, its handler built and its address bound, ready to Run. It is the
// same shape as the issuer's (issuer/service): the command fills the
// configuration from flags and environment, NewService checks and builds,
// Run serves.
type Service struct {
	o      *Options
	log    *slog.Logger
	trust  *Trust
	srv    *Server
	ln     net.Listener
	scheme string
}

// NewService checks o, loads the trust sources, builds the verifier and the
// HTTP handler and binds o.Listen (a busy or bad address is a
// *ListenError naming --listen). Nothing is served until Run.
func NewService(ctx context.Context, o *Options, log *slog.Logger) (*Service, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	vopts, cert, err := o.verifierOptions()
	if err != nil {
		return nil, err
	}
	if o.AnyIssuer() {
		log.Warn("NO ISSUER TRUST SOURCE CONFIGURED: cards from any issuer are checked (signature, dates, revocation) " +
			"but can never be shown as verified, only as \"issuer not trusted\". Give --trust, --trusted-issuer or --keys for green verdicts.")
	}
	metrics := NewMetrics()
	// vopts carry the fetch settings (--ca-cert, --allow-private); the
	// verifier fetches trust sources with them.
	trust, err := NewTrust(ctx, TrustConfig{
		Sources:         o.Trust,
		DirectoryCert:   cert,
		RefreshInterval: o.Refresh,
		MaxAge:          o.MaxAge,
		Options:         vopts,
		Logger:          log,
		Metrics:         metrics,
	})
	if err != nil {
		return nil, err
	}
	cfg := Config{
		Verifier:      trust,
		Ready:         trust.Ready,
		Logger:        log,
		Metrics:       metrics,
		MaxBodyBytes:  o.MaxBody,
		RateLimit:     o.RateLimit,
		RateBurst:     o.RateBurst,
		CORSOrigins:   o.CORSOrigins,
		VerifyTimeout: o.VerifyTimeout,
		TLS:           o.TLSCert != "",

		FetchesPerClientPerMinute: o.FetchesPerClient,
		LargeBodyBytes:            o.LargeBody,
		MaxConcurrentLarge:        o.MaxConcurrentLarge,
	}
	if len(o.TrustedProxies) > 0 {
		// Only the named ranges are proxies (echo's extractor would also
		// trust every private and loopback peer's header).
		proxies, err := clientip.Parse(o.TrustedProxies...)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxy: %v", err)
		}
		cfg.IPExtractor = proxies.ClientIP
	}
	srv, err := New(cfg)
	if err != nil {
		return nil, err
	}
	metrics.AddGauge("shc_verifier_ready", "1 when the trust sources are loaded and fresh.", func() float64 {
		if trust.Ready() == nil {
			return 1
		}
		return 0
	})

	var tlsConfig *tls.Config
	s := &Service{o: o, log: log, trust: trust, srv: srv, scheme: "http"}
	if o.TLSCert != "" {
		pair, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		s.scheme = "https"
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", o.Listen)
	if err != nil {
		return nil, &ListenError{Addr: o.Listen, Err: err}
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	s.ln = ln
	return s, nil
}

// Addr is the bound address.
func (s *Service) Addr() net.Addr { return s.ln.Addr() }

// Close releases the bound address of a Service that will not Run.
func (s *Service) Close() error { return s.ln.Close() }

// Run serves until ctx is done, reloading the trust sources on their
// schedule, then shuts down gracefully.
func (s *Service) Run(ctx context.Context) error {
	o, log := s.o, s.log
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.trust.Run(runCtx)

	base := s.scheme + "://" + displayAddr(s.ln.Addr())
	log.Info("shc-verifier listening",
		"page", base+"/",
		"api", base+"/v1/verify",
		"health", base+"/healthz",
		"ready", base+"/readyz",
		"metrics", base+"/metrics",
		"openapi", base+"/openapi.json",
		"trust_sources", len(o.Trust), "offline", o.Offline, "any_issuer", o.AnyIssuer(),
		"revocation", o.Revocation, "revocation_max_age", o.RevocationMaxAge.String())
	if s.scheme == "http" && !isLoopback(s.ln.Addr()) {
		log.Warn("serving plain HTTP on a non-loopback address: phone browsers open the camera only over HTTPS; use --tls-cert/--tls-key")
	}
	sc := echo.StartConfig{
		Listener:        s.ln,
		HideBanner:      true,
		HidePort:        true,
		GracefulTimeout: 10 * time.Second,
		BeforeServeFunc: func(hs *http.Server) error {
			hs.ReadHeaderTimeout = 10 * time.Second
			hs.ReadTimeout = o.VerifyTimeout + 10*time.Second
			hs.WriteTimeout = o.VerifyTimeout + 10*time.Second
			hs.IdleTimeout = 120 * time.Second
			hs.MaxHeaderBytes = 64 << 10
			hs.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
			return nil
		},
	}
	err := sc.Start(runCtx, s.srv.Handler())
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Run is NewService then Service.Run. onListen, when not nil, is called
// with the bound address before serving.
func Run(ctx context.Context, o *Options, log *slog.Logger, onListen func(net.Addr)) error {
	s, err := NewService(ctx, o, log)
	if err != nil {
		return err
	}
	if onListen != nil {
		onListen(s.Addr())
	}
	return s.Run(ctx)
}

// ListenError is NewService's failure to bind Options.Listen (--listen).
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string { return fmt.Sprintf("--listen %s: %v", e.Addr, e.Err) }

func (e *ListenError) Unwrap() error { return e.Err }

func displayAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + port
}

func isLoopback(addr net.Addr) bool {
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
