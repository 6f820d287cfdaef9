package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
)

// Run builds the trust sources, the verifier and the server from o and
// serves until ctx is done. onListen, when not nil, is called with the
// bound address once the listener is open.
func Run(ctx context.Context, o *Options, log *slog.Logger, onListen func(net.Addr)) error {
	if err := o.Validate(); err != nil {
		return err
	}
	vopts, cert, err := o.verifierOptions()
	if err != nil {
		return err
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
		return err
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
		var opts []echo.TrustOption
		for _, c := range o.TrustedProxies {
			_, n, _ := net.ParseCIDR(c)
			opts = append(opts, echo.TrustIPRange(n))
		}
		cfg.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	}
	srv, err := New(cfg)
	if err != nil {
		return err
	}
	metrics.AddGauge("shc_verifier_ready", "1 when the trust sources are loaded and fresh.", func() float64 {
		if trust.Ready() == nil {
			return 1
		}
		return 0
	})

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go trust.Run(runCtx)

	scheme := "http"
	if o.TLSCert != "" {
		scheme = "https"
	}
	sc := echo.StartConfig{
		Address:         o.Listen,
		HideBanner:      true,
		HidePort:        true,
		GracefulTimeout: 10 * time.Second,
		ListenerAddrFunc: func(addr net.Addr) {
			base := scheme + "://" + displayAddr(addr)
			log.Info("shc-verifier listening",
				"page", base+"/",
				"api", base+"/v1/verify",
				"health", base+"/healthz",
				"ready", base+"/readyz",
				"metrics", base+"/metrics",
				"openapi", base+"/openapi.json",
				"trust_sources", len(o.Trust), "offline", o.Offline, "any_issuer", o.AnyIssuer(),
				"revocation", o.Revocation, "revocation_max_age", o.RevocationMaxAge.String())
			if scheme == "http" && !isLoopback(addr) {
				log.Warn("serving plain HTTP on a non-loopback address: phone browsers open the camera only over HTTPS; use --tls-cert/--tls-key")
			}
			if onListen != nil {
				onListen(addr)
			}
		},
		BeforeServeFunc: func(s *http.Server) error {
			s.ReadHeaderTimeout = 10 * time.Second
			s.ReadTimeout = o.VerifyTimeout + 10*time.Second
			s.WriteTimeout = o.VerifyTimeout + 10*time.Second
			s.IdleTimeout = 120 * time.Second
			s.MaxHeaderBytes = 64 << 10
			s.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
			return nil
		},
	}
	if o.TLSCert != "" {
		err = sc.StartTLS(runCtx, srv.Handler(), o.TLSCert, o.TLSKey)
	} else {
		err = sc.Start(runCtx, srv.Handler())
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "listen" {
		err = &ListenError{Addr: o.Listen, Err: err}
	}
	return err
}

// ListenError is Run's failure to bind Options.Listen (--listen).
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
