package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/internal/safefetch"
	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/keys/pkcs11"
	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/shl/sqlstore"
	vserver "github.com/healthcards/healthcards/verifier/server"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flagSet("serve")
	listen := fs.String("listen", "127.0.0.1:8443", "")
	iss := fs.String("iss", "", "")
	baseURL := fs.String("base-url", "", "")
	data := fs.String("data", "./data", "")
	certFile := fs.String("tls-cert", "", "")
	keyFile := fs.String("tls-key", "", "")
	behindProxy := fs.Bool("behind-tls-proxy", false, "")
	production := fs.Bool("production", false, "")
	authIssuer := fs.String("auth-issuer", "", "")
	authAudience := fs.String("auth-audience", "", "")
	authJWKS := fs.String("auth-jwks-url", "", "")
	authAuthorize := fs.String("auth-authorize-url", "", "")
	authToken := fs.String("auth-token-url", "", "")
	storeKind := fs.String("store", "sqlite", "")
	dsn := fs.String("postgres-dsn", "", "")
	p11Module := fs.String("pkcs11-module", "", "")
	p11Token := fs.String("pkcs11-token", "", "")
	p11PinFile := fs.String("pkcs11-pin-file", "", "")
	p11Label := fs.String("pkcs11-key-label", "shc-issuer", "")
	upstream := fs.String("upstream-fhir", "", "")
	issuerName := fs.String("issuer-name", "", "")
	qrLevel := fs.String("qr-level", "L", "")
	verifierListen := fs.String("verifier-listen", "", "")
	noSample := fs.Bool("no-sample", false, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected argument " + fs.Arg(0)}
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	d := dataDir(*data)
	useTLS := *certFile != "" || *keyFile != ""
	if useTLS && (*certFile == "" || *keyFile == "") {
		return usageError{"--tls-cert and --tls-key go together"}
	}
	if *production {
		if !useTLS && !*behindProxy {
			return usageError{"--production needs --tls-cert/--tls-key or --behind-tls-proxy (KEY-3: TLS 1.2+)"}
		}
		if *iss == "" {
			return usageError{"--production needs --iss"}
		}
	} else if *behindProxy {
		return usageError{"--behind-tls-proxy is for --production"}
	}
	_, port, err := net.SplitHostPort(*listen)
	if err != nil {
		return usageError{"--listen: " + err.Error()}
	}
	if *iss == "" {
		*iss = "https://localhost:" + port
	}
	if err := issuer.CheckIss(*iss); err != nil {
		return usageError{err.Error()}
	}
	if *baseURL == "" {
		if !strings.HasPrefix(*iss, "https://") {
			return usageError{"a DID issuer needs --base-url (the https base where this service is reached)"}
		}
		*baseURL = *iss
	}
	var level qr.Level
	switch strings.ToUpper(*qrLevel) {
	case "L":
		level = qr.L
	case "M":
		level = qr.M
	case "Q":
		level = qr.Q
	case "H":
		level = qr.H
	default:
		return usageError{"--qr-level must be L, M, Q or H"}
	}

	st, err := openStore(ctx, d, *storeKind, *dsn)
	if err != nil {
		return err
	}
	defer st.Close()

	var ks issuer.KeySet
	if *p11Module != "" {
		if *p11Token == "" || *p11PinFile == "" {
			return usageError{"--pkcs11-module needs --pkcs11-token and --pkcs11-pin-file"}
		}
		pin, err := os.ReadFile(*p11PinFile)
		if err != nil {
			return fmt.Errorf("reading the PKCS#11 PIN file: %w", err)
		}
		tok, err := pkcs11.Open(pkcs11.Config{Module: *p11Module, TokenLabel: *p11Token, PIN: strings.TrimSpace(string(pin))})
		if err != nil {
			return err
		}
		defer tok.Close()
		signer, created, err := tok.FindOrGenerateKey(*p11Label)
		if err != nil {
			return err
		}
		if created {
			log.Info("generated a signing key in the HSM", "kid", signer.KeyID())
		}
		ks = issuer.StaticKeys{Signer: signer}
	} else {
		// The served ring follows `shc-issuer keys ...` run while the
		// service runs (issuer.WatchedRing; SIGHUP forces a reread).
		watched, err := openWatchedRing(d)
		if err != nil {
			return err
		}
		ring, err := watched.Ring()
		if err != nil {
			return err
		}
		if _, err := ring.Active(); keys.CodeOf(err) == keys.CodeNoActiveKey {
			if *production && len(ring.List()) > 0 {
				return errors.New("the key ring has no active key (compromised?); run 'shc-issuer keys rotate'")
			}
			k, err := ring.Rotate()
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "generated signing key %s (encrypted in %s)\n", k.KeyID(), d.path("keys"))
		}
		ks = watched
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for range hup {
				if err := watched.Reload(); err != nil {
					log.Error("SIGHUP: reloading the key ring failed; signing is refused until it loads", "err", err.Error())
				} else {
					log.Info("SIGHUP: key ring reloaded")
				}
			}
		}()
	}
	ridSecret, _, err := secretFile(d.path("rid-secret"))
	if err != nil {
		return err
	}
	is, err := issuer.New(issuer.Config{Iss: *iss, Keys: ks, Store: st, RIDSecret: ridSecret, QRLevel: level, Logger: log})
	if err != nil {
		return err
	}

	acfg := auth.Config{Store: st}
	if *authIssuer != "" {
		aud := *authAudience
		if aud == "" {
			aud = *baseURL + "/fhir"
		}
		acfg.JWT = &auth.JWTConfig{Issuer: *authIssuer, Audience: aud, JWKSURL: *authJWKS,
			Fetch: safefetch.New(safefetch.Config{AllowPrivateNetwork: true})} // admin-configured, may be on the intranet
	}
	tokensNow, err := st.Tokens(ctx)
	if err != nil {
		return err
	}
	if *production && len(tokensNow) == 0 && acfg.JWT == nil {
		return usageError{"--production needs authentication: create API tokens with 'shc-issuer tokens create' or set --auth-issuer"}
	}
	if !*production && len(tokensNow) == 0 {
		secret, tok, err := auth.NewToken(auth.AllLabScopes, "development", time.Now())
		if err != nil {
			return err
		}
		if err := st.PutToken(ctx, tok); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "development API token (all scopes; for development only; shown once):\n  %s\n", secret)
	}
	a, err := auth.New(acfg)
	if err != nil {
		return err
	}
	var src issuer.Source
	if *upstream != "" {
		src = &issuer.FHIRSource{BaseURL: *upstream}
	}
	// SMART Health Links: in the PostgreSQL database with --store postgres,
	// else in DIR/links.db; location URLs signed with a persistent secret.
	var linkStore *sqlstore.Store
	if *storeKind == "postgres" {
		linkStore, err = sqlstore.OpenPostgres(ctx, *dsn)
	} else {
		linkStore, err = sqlstore.OpenSQLite(ctx, d.path("links.db"))
	}
	if err != nil {
		return err
	}
	defer linkStore.Close()
	locSecret, _, err := secretFile(d.path("shl-location-secret"))
	if err != nil {
		return err
	}
	links, err := httpapi.NewLinks(httpapi.LinksConfig{Issuer: is, Auth: a, Source: src, BaseURL: *baseURL, Store: linkStore, LocationSecret: []byte(locSecret)})
	if err != nil {
		return err
	}
	api, err := httpapi.New(httpapi.Config{
		Issuer: is, Auth: a, Source: src, BaseURL: *baseURL, IssuerName: *issuerName, DevPage: !*production,
		SMART:  httpapi.SMARTConfig{Issuer: *authIssuer, AuthorizationEndpoint: *authAuthorize, TokenEndpoint: *authToken},
		Logger: log, HSTS: useTLS || *behindProxy || !*production, Mount: links.Mount,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr: *listen, Handler: api,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
		IdleTimeout: 120 * time.Second, MaxHeaderBytes: 32 << 10,
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12},
		ErrorLog:  slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if !*production && !useTLS {
		*certFile, *keyFile, err = devCertificate(d)
		if err != nil {
			return err
		}
		useTLS = true
		fmt.Fprintf(stdout, "development TLS certificate (self-signed): %s\n", *certFile)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "shc-issuer: iss %s\n  issuing page: %s/\n  key set:      %s/.well-known/jwks.json\n  FHIR base:    %s/fhir\n",
		*iss, *baseURL, *baseURL, *baseURL)
	if !*production && !*noSample {
		if printURL, err := loadSample(ctx, is); err != nil {
			log.Warn("could not load the sample lab result", "err", err.Error())
		} else {
			fmt.Fprintf(stdout, "  sample card:  %s (printable; sample lab results for patient %s loaded)\n", *baseURL+printURL, samplePatient)
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	if !*production && *verifierListen == "" {
		*verifierListen = "127.0.0.1:8080"
	}
	if *verifierListen != "off" && *verifierListen != "" {
		// The verifying service beside the issuer (development and demos):
		// it trusts exactly this issuer, reached over loopback with the
		// development certificate.
		vargs := []string{"--listen", *verifierListen, "--trusted-issuer", *iss, "--allow-private-network"}
		if !*production {
			vargs = append(vargs, "--ca-cert", *certFile)
		}
		vo, err := vserver.ParseOptions(vargs, func(string) string { return "" }, stderr)
		if err != nil {
			return fmt.Errorf("--verifier-listen: %w", err)
		}
		go func() {
			// The issuer keeps serving if its companion cannot (a busy port).
			err := vserver.Run(ctx, vo, log.With("service", "shc-verifier"), func(a net.Addr) {
				fmt.Fprintf(stdout, "  scanning page: http://%s/ (the verifier, trusting this issuer)\n", a)
			})
			if err != nil && ctx.Err() == nil {
				log.Warn("the verifier beside the issuer stopped; use --verifier-listen ADDR to move it, or off", "err", err.Error())
			}
		}()
	}
	go func() {
		if useTLS {
			errc <- srv.ServeTLS(ln, *certFile, *keyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}

// devCertificate returns a self-signed certificate for localhost and
// 127.0.0.1 kept in DIR/tls (key 0600), creating it on first use.
func devCertificate(d dataDir) (certFile, keyFile string, err error) {
	certFile, keyFile = d.path("tls", "cert.pem"), d.path("tls", "key.pem")
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil {
		return certFile, keyFile, nil
	}
	if err := os.MkdirAll(d.path("tls"), 0o700); err != nil {
		return "", "", err
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "shc-issuer development"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return "", "", err
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// samplePatient is the patient of examples/bundles/lab-covid-pcr.json.
const samplePatient = "pt-1001"

// loadSample stores the sample lab result (first start only), issues a card
// from it and returns the path of its printable page, so a newcomer sees a
// card at once.
func loadSample(ctx context.Context, is *issuer.Issuer) (string, error) {
	if _, err := is.Store().Patient(ctx, samplePatient); errors.Is(err, store.ErrNotFound) {
		if _, _, err := is.PutResults(ctx, bundles.LabCovidPCR, "sample"); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	cards, err := is.IssueBundle(ctx, bundles.LabCovidPCR, issuer.IssueOptions{Actor: "sample"})
	if err != nil {
		return "", err
	}
	if len(cards) == 0 {
		return "", errors.New("the sample bundle gave no card")
	}
	return "/cards/" + cards[0].ID + "/print", nil
}
