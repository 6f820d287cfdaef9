package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/healthcards/healthcards/issuer/service"
	vserver "github.com/healthcards/healthcards/verifier/server"
)

// serve parses the serve flags and environment into a service.Config, then
// runs the issuer (issuer/service) and, in development or with
// --verifier-listen, the verifier beside it (verifier/server).
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flagSet("serve")
	var c service.Config
	fs.StringVar(&c.Listen, "listen", service.DefaultListen, "")
	fs.StringVar(&c.Iss, "iss", "", "")
	fs.StringVar(&c.BaseURL, "base-url", "", "")
	fs.StringVar(&c.DataDir, "data", "./data", "")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "")
	fs.StringVar(&c.TLSKey, "tls-key", "", "")
	fs.BoolVar(&c.BehindTLSProxy, "behind-tls-proxy", false, "")
	fs.BoolVar(&c.Production, "production", false, "")
	fs.Func("trusted-proxy", "", func(v string) error { c.TrustedProxies = append(c.TrustedProxies, v); return nil })
	fs.StringVar(&c.AuthIssuer, "auth-issuer", "", "")
	fs.StringVar(&c.AuthAudience, "auth-audience", "", "")
	fs.StringVar(&c.AuthJWKSURL, "auth-jwks-url", "", "")
	fs.StringVar(&c.AuthAuthorizeURL, "auth-authorize-url", "", "")
	fs.StringVar(&c.AuthTokenURL, "auth-token-url", "", "")
	fs.Func("auth-system-client", "", func(v string) error { c.AuthSystemClients = append(c.AuthSystemClients, v); return nil })
	fs.BoolVar(&c.NoOAuth, "no-oauth", false, "")
	fs.StringVar(&c.Store, "store", "sqlite", "")
	fs.StringVar(&c.PostgresDSN, "postgres-dsn", "", "")
	fs.StringVar(&c.KeyPassphraseFile, "key-passphrase-file", "", "")
	fs.StringVar(&c.KEKFile, "kek-file", "", "")
	kekTokenFlags(fs, &c.KEKToken)
	fs.StringVar(&c.PKCS11Module, "pkcs11-module", "", "")
	fs.StringVar(&c.PKCS11Token, "pkcs11-token", "", "")
	fs.StringVar(&c.PKCS11PINFile, "pkcs11-pin-file", "", "")
	fs.StringVar(&c.PKCS11KeyLabel, "pkcs11-key-label", "shc-issuer", "")
	fs.StringVar(&c.UpstreamFHIR, "upstream-fhir", "", "")
	fs.StringVar(&c.PolicyDir, "policy", "", "")
	fs.IntVar(&c.AgeOfMajority, "age-of-majority", 0, "")
	fs.Func("sensitive-code", "", func(v string) error { c.SensitiveCodes = append(c.SensitiveCodes, v); return nil })
	fs.StringVar(&c.IssuerName, "issuer-name", "", "")
	fs.StringVar(&c.QRLevel, "qr-level", "L", "")
	fs.DurationVar(&c.LinkExpiry, "link-expiry", 0, "")
	fs.DurationVar(&c.BatchLease, "batch-lease", 0, "")
	fs.DurationVar(&c.EnrolmentCodeTTL, "enrolment-code-ttl", 0, "")
	verifierListen := fs.String("verifier-listen", "", "")
	noSample := fs.Bool("no-sample", false, "")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected argument " + fs.Arg(0)}
	}
	c.NoSample = *noSample
	c.KeyPassphrase = []byte(os.Getenv(passphraseEnv))
	kekPIN(&c.KEKToken)
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	slog.SetDefault(log) // libraries that log through slog (the authorization server's op) write the same JSON lines
	c.Logger, c.Stdout, c.RingOptions = log, stdout, ringOptions

	svc, err := service.New(ctx, c)
	clear(c.KeyPassphrase)
	var ce *service.ConfigError
	if errors.As(err, &ce) {
		return usageError{ce.Msg}
	}
	if err != nil {
		return err
	}
	base := svc.BaseURL()
	fmt.Fprintf(stdout, "shc-issuer: iss %s\n  issuing page: %s/\n  key set:      %s/.well-known/jwks.json\n  FHIR base:    %s/fhir\n",
		svc.Iss(), base, base, base)
	fmt.Fprintf(stdout, "  front desk:   %s/desk/ (staff accounts: shc-issuer staff add NAME --role desk)\n", base)
	if c.AuthIssuer == "" && !c.NoOAuth {
		fmt.Fprintf(stdout, "  SMART:        %s/fhir/.well-known/smart-configuration (wallets: shc-issuer clients add --redirect-uri URI)\n", base)
	}
	if !c.Production && !c.NoSample {
		if printURL, err := svc.LoadSample(ctx); err != nil {
			log.Warn("could not load the sample lab result", "err", err.Error())
		} else {
			fmt.Fprintf(stdout, "  sample card:  %s (printable; sample lab results for patient %s loaded)\n", base+printURL, service.SamplePatient)
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !c.Production && *verifierListen == "" {
		*verifierListen = "127.0.0.1:8080"
	}
	if *verifierListen != "off" && *verifierListen != "" {
		// The verifying service beside the issuer (development and demos):
		// it trusts exactly this issuer, reached over loopback with the
		// development certificate.
		vo := vserver.DefaultOptions()
		// Only this issuer's origin (scheme://host:port of its iss) may be on
		// loopback: never link manifests or other issuers (issue 10).
		vo.Listen, vo.TrustedIssuers = *verifierListen, []string{svc.Iss()}
		vo.PrivateOrigins = []string{strings.Join(strings.SplitN(svc.Iss(), "/", 4)[:3], "/")}
		if !c.Production {
			vo.CACerts = []string{svc.CertFile()}
		}
		if err := vo.Validate(); err != nil {
			svc.Close()
			return usageError{"--verifier-listen: " + err.Error()}
		}
		// The issuer keeps serving if its companion cannot start (a busy port).
		vlog := log.With("service", "shc-verifier")
		vsvc, err := vserver.NewService(ctx, vo, vlog)
		var le *vserver.ListenError
		switch {
		case errors.As(err, &le):
			log.Warn("the verifier beside the issuer did not start: --verifier-listen "+le.Addr+": "+le.Err.Error()+"; use --verifier-listen ADDR to move it, or off",
				"flag", "--verifier-listen")
		case err != nil:
			log.Warn("the verifier beside the issuer did not start; use --verifier-listen ADDR to move it, or off", "err", err.Error())
		default:
			fmt.Fprintf(stdout, "  scanning page: http://%s/ (the verifier, trusting this issuer)\n", vsvc.Addr())
			go func() {
				if err := vsvc.Run(ctx); err != nil && ctx.Err() == nil {
					log.Warn("the verifier beside the issuer stopped; use --verifier-listen ADDR to move it, or off", "err", err.Error())
				}
			}()
		}
	}
	return svc.Run(ctx)
}
