package service

import (
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/internal/clientip"
	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/account"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/authz"
	"github.com/healthcards/healthcards/issuer/bulk"
	"github.com/healthcards/healthcards/issuer/desk"
	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/identity"
	"github.com/healthcards/healthcards/issuer/keydb"
	"github.com/healthcards/healthcards/issuer/oauth"
	"github.com/healthcards/healthcards/issuer/store"
	issuersql "github.com/healthcards/healthcards/issuer/store/sqlstore"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/keys/pkcs11"
	"github.com/healthcards/healthcards/safehttp"
	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/shl/sqlstore"
)

// DefaultListen is the address the service listens on when Config.Listen
// is empty.
const DefaultListen = "127.0.0.1:8443"

// Config configures the issuer service. Each field is set by the
// `shc-issuer serve` flag named in its comment; error messages name those
// flags.
type Config struct {
	Listen         string // --listen (default DefaultListen)
	Iss            string // --iss (default in development: https://localhost:PORT)
	BaseURL        string // --base-url (default: Iss when it is https)
	DataDir        string // --data (default ./data)
	TLSCert        string // --tls-cert
	TLSKey         string // --tls-key
	BehindTLSProxy bool   // --behind-tls-proxy
	Production     bool   // --production
	// TrustedProxies are the reverse proxies (CIDRs, --trusted-proxy,
	// repeatable or comma-separated) whose X-Forwarded-For names the
	// client: the enrolment-code limit counts per client by the rightmost
	// hop that is not one of them (internal/clientip). Without them the
	// connection's peer is the client, so behind a proxy every patient
	// would share the proxy's limit.
	TrustedProxies []string

	AuthIssuer       string // --auth-issuer (https)
	AuthAudience     string // --auth-audience (default BaseURL/fhir)
	AuthJWKSURL      string // --auth-jwks-url
	AuthAuthorizeURL string // --auth-authorize-url
	AuthTokenURL     string // --auth-token-url
	// AuthSystemClients registers lab systems that authenticate with JWTs
	// (--auth-system-client SUB=SCOPE[,SCOPE], repeatable): a JWT's lab
	// scopes count only for these subjects (auth.JWTConfig.SystemClients).
	AuthSystemClients []string
	// NoOAuth turns the built-in authorization server off (--no-oauth).
	// It is on unless --auth-issuer names an external one: SMART App
	// Launch for wallets (issuer/oauth; clients registered with
	// `shc-issuer clients add`).
	NoOAuth bool

	Store       string // --store sqlite|postgres (default sqlite)
	PostgresDSN string // --postgres-dsn

	// KeyPassphrase (the SHC_ISSUER_KEY_PASSPHRASE environment variable) or
	// KeyPassphraseFile (--key-passphrase-file) encrypts the key ring. With
	// neither, development keeps a generated one in DIR/keys.passphrase;
	// production refuses that, and a file inside DIR (see Security
	// considerations in the package documentation).
	KeyPassphrase     []byte
	KeyPassphraseFile string

	// KEKFile (--kek-file, SHC_ISSUER_KEK_FILE) keeps the key ring, the rid
	// secret and the link location secret in the database (package
	// issuer/keydb: the PostgreSQL database with --store postgres, else
	// DIR/keyring.db), sealed under this key-encryption key. Replicas then
	// share nothing but this file. A data directory with a file key ring is
	// moved in with `shc-issuer migrate-keys`.
	KEKFile string
	// KEKToken keeps that KEK in a PKCS#11 token instead of KEKFile
	// (--kek-pkcs11-module, --kek-pkcs11-token, --kek-pkcs11-key; PIN from
	// SHC_ISSUER_KEK_PKCS11_PIN or --kek-pkcs11-pin-file): an AES-256 key
	// that never leaves the token, made by `shc-issuer keys init-kek`.
	KEKToken KEKToken
	// KeyPoll bounds how late a replica sees a key change made elsewhere
	// when no notification arrives (default keydb.DefaultPoll).
	KeyPoll time.Duration

	PKCS11Module   string // --pkcs11-module
	PKCS11Token    string // --pkcs11-token
	PKCS11PINFile  string // --pkcs11-pin-file
	PKCS11KeyLabel string // --pkcs11-key-label (default shc-issuer)

	UpstreamFHIR string // --upstream-fhir
	IssuerName   string // --issuer-name
	QRLevel      string // --qr-level L|M|Q|H (default L)
	NoSample     bool   // --no-sample

	// PolicyDir holds Cedar authorization policies that replace the
	// embedded default set (--policy DIR); they are validated against the
	// schema at start, and the service refuses to start on an invalid one
	// (issue 12, docs/authorization.md).
	PolicyDir string
	// AgeOfMajority ends a parent's access to a minor's cards
	// (--age-of-majority, default 18).
	AgeOfMajority int
	// SensitiveCodes is the configured sensitive value set
	// (--sensitive-code SYSTEM|CODE=CATEGORY, repeatable): results with
	// such a code are released only with the patient's Consent for
	// CATEGORY (e.g. HIV), like those labelled sensitive.
	SensitiveCodes []string

	// LinkExpiry is the lifetime of a SMART Health Link created without
	// "exp" (--link-expiry; 0 means httpapi.DefaultLinkExpiry, 30 days).
	LinkExpiry time.Duration
	// BatchLease is how long a replica's claim on a registry batch lasts
	// unless renewed (--batch-lease; 0 means bulk.DefaultLease, 30 s): a
	// replica killed mid-batch holds it that long before another resumes.
	BatchLease time.Duration
	// EnrolmentCodeTTL is how long a patient's sign-up code from a desk
	// enrolment works (--enrolment-code-ttl; 0 means 24 h).
	EnrolmentCodeTTL time.Duration

	// Logger receives the service's logs (default: JSON to os.Stderr).
	Logger *slog.Logger
	// Stdout receives what the operator must see: the URLs, a generated key,
	// the development token (default os.Stdout).
	Stdout io.Writer
	// RingOptions are passed to keys.OpenRing (tests lower the work factor
	// with keys.WithTestWorkFactor; the command never sets them).
	RingOptions []keys.RingOption
}

// ConfigError is a Config that cannot work; its message names the flag.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }

func configErr(format string, a ...any) error { return &ConfigError{Msg: fmt.Sprintf(format, a...)} }

// ListenError is a failure to bind Config.Listen (--listen).
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("--listen %s: %v (choose another address with --listen)", e.Addr, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

// Service is a configured issuer service with its listener bound.
type Service struct {
	cfg      Config
	log      *slog.Logger
	out      io.Writer
	dir      DataDir
	iss      string
	baseURL  string
	certFile string
	keyFile  string
	useTLS   bool
	ln       net.Listener
	srv      *http.Server
	proxies  *clientip.Proxies // --trusted-proxy
	is       *issuer.Issuer
	watched  *issuer.WatchedRing
	dbRing   *keydb.Ring
	closers  []func() error
	offline  *offline // OpenIssuer
}

// New checks cfg, opens the data directory, the store and the signing key,
// builds the API and binds the listener. Close it, or Run it.
func New(ctx context.Context, cfg Config) (_ *Service, err error) {
	s, level, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	cfg = s.cfg
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	// Bind first: a busy port fails before anything is generated.
	s.ln, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, &ListenError{Addr: cfg.Listen, Err: err}
	}
	s.closers = append(s.closers, s.ln.Close)
	if cfg.Iss == "" { // development default, on the port actually bound (":0" picks one)
		s.iss = "https://localhost:" + strconv.Itoa(s.ln.Addr().(*net.TCPAddr).Port)
		if cfg.BaseURL == "" {
			s.baseURL = s.iss
		}
	}

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, cfg.DataDir, cfg.Store, cfg.PostgresDSN)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, st.Close)
	ks, ridSecret, kdb, err := s.openSigning(ctx)
	if err != nil {
		return nil, err
	}
	s.is, err = issuer.New(issuer.Config{Iss: s.iss, Keys: ks, Store: st, RIDSecret: ridSecret, QRLevel: level, Logger: s.log})
	if err != nil {
		return nil, err
	}
	var oaStore *oauth.Store
	var oaKey *ecdsa.PrivateKey
	var local *auth.LocalJWT
	if cfg.AuthIssuer == "" && !cfg.NoOAuth {
		if oaStore, oaKey, local, err = s.openOAuth(ctx, kdb); err != nil {
			return nil, err
		}
	}
	a, err := s.auth(ctx, st, auditKey(ridSecret), local)
	if err != nil {
		return nil, err
	}
	var src issuer.Source
	if cfg.UpstreamFHIR != "" {
		src = &issuer.FHIRSource{BaseURL: cfg.UpstreamFHIR}
	}
	azSrc := src
	if azSrc == nil {
		azSrc = issuer.StoreSource{Store: st, BaseURL: s.baseURL + "/fhir"}
	}
	sensitive := map[string]string{}
	for _, v := range cfg.SensitiveCodes {
		code, cat, ok := strings.Cut(v, "=")
		if !ok || cat == "" || !strings.Contains(code, "|") {
			return nil, configErr("--sensitive-code %q: want SYSTEM|CODE=CATEGORY", v)
		}
		sensitive[code] = cat
	}
	az, err := authz.New(authz.Config{PolicyDir: cfg.PolicyDir, Source: azSrc, Audit: st, AgeOfMajority: cfg.AgeOfMajority,
		SensitiveCodes: sensitive, AuditKey: auditKey(ridSecret)})
	if err != nil {
		return nil, &ConfigError{Msg: "--policy, --age-of-majority or --sensitive-code: " + err.Error()}
	}
	// SMART Health Links: in the PostgreSQL database with --store postgres,
	// else in DIR/links.db; location URLs signed with a persistent secret.
	var linkStore *sqlstore.Store
	if cfg.Store == "postgres" {
		linkStore, err = sqlstore.OpenPostgres(ctx, cfg.PostgresDSN)
	} else {
		linkStore, err = sqlstore.OpenSQLite(ctx, s.dir.Path("links.db"))
	}
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, linkStore.Close)
	locSecret, err := s.secret(ctx, kdb, keydb.SecretLinkLocation)
	if err != nil {
		return nil, err
	}
	if cfg.LinkExpiry < 0 {
		return nil, configErr("--link-expiry %s: must not be negative", cfg.LinkExpiry)
	}
	if cfg.BatchLease != 0 && (cfg.BatchLease < time.Second || cfg.BatchLease > time.Hour) {
		return nil, configErr("--batch-lease %s: between 1s and 1h", cfg.BatchLease)
	}
	metrics := httpapi.NewMetrics()
	links, err := httpapi.NewLinks(httpapi.LinksConfig{Issuer: s.is, Auth: a, Source: src, BaseURL: s.baseURL, Store: linkStore, LocationSecret: []byte(locSecret), DefaultExpiry: cfg.LinkExpiry, Metrics: metrics, Authz: az})
	if err != nil {
		return nil, err
	}
	// Registry-scale issuing (POST /v1/batches): batches in the store's
	// database (shared by replicas on PostgreSQL), run by whichever replica
	// claims them; DIR/batch-work is scratch space (issuer/bulk). Batches of
	// earlier releases in DIR/batches are left as they are.
	bdb, ok := st.(*issuersql.Store)
	if !ok {
		return nil, fmt.Errorf("service: the store keeps no batches")
	}
	batchMgr, err := bulk.NewManager(bulk.ManagerConfig{DB: bdb, Dir: s.dir.Path("batch-work"), Issuer: s.is, Logger: s.log, Linker: links, IssuerName: cfg.IssuerName, Lease: cfg.BatchLease})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, batchMgr.Close)
	batches, err := httpapi.NewBatches(httpapi.BatchesConfig{Manager: batchMgr, Auth: a})
	if err != nil {
		return nil, err
	}
	// The front desk (issue 14): staff passkeys in DIR/identity.db, or in
	// PostgreSQL with --store postgres (shared by replicas), the same in
	// development and --production. WebAuthn needs a host name.
	rp, origin := "", ""
	if u, err := url.Parse(s.baseURL); err == nil && net.ParseIP(u.Hostname()) == nil {
		rp, origin = u.Hostname(), u.Scheme+"://"+u.Host
	} else {
		s.log.Warn("the front desk needs a host name in --base-url for passkeys; staff cannot sign in", "flag", "--base-url")
	}
	idCfg := identity.Config{RPID: rp, Origin: origin, RPName: cfg.IssuerName, EnrolmentCodeTTL: cfg.EnrolmentCodeTTL, ClientIP: s.proxies.ClientIP}
	if oaStore != nil {
		// An account cut off (disabled, a passkey revoked, a lost phone
		// re-enrolled) loses its apps' grants in the same step.
		idCfg.OnCutOff = oaStore.WithdrawAccount
	}
	ids, err := OpenIdentity(ctx, cfg.DataDir, cfg.Store, cfg.PostgresDSN, idCfg, s.log)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, ids.Close)
	frontDesk, err := desk.New(desk.Config{Issuer: s.is, Identity: ids, Links: links, Authz: az, BaseURL: s.baseURL, LabName: cfg.IssuerName, Logger: s.log})
	if err != nil {
		return nil, err
	}
	// Patients (issue 13): enrolled at the desk or through /v1/enrolments,
	// their own pages under /account/ (the same identity store).
	enrolments, err := httpapi.NewEnrolments(httpapi.EnrolmentsConfig{Issuer: s.is, Auth: a, Identity: ids, Authz: az, BaseURL: s.baseURL})
	if err != nil {
		return nil, err
	}
	accountPages, err := account.New(account.Config{Identity: ids, Issuer: s.is, BaseURL: s.baseURL, SiteName: cfg.IssuerName, Logger: s.log})
	if err != nil {
		return nil, err
	}
	smart := httpapi.SMARTConfig{Issuer: cfg.AuthIssuer, AuthorizationEndpoint: cfg.AuthAuthorizeURL, TokenEndpoint: cfg.AuthTokenURL}
	var oa *oauth.Server
	if oaStore != nil {
		oa, err = oauth.New(oauth.Config{Store: oaStore, BaseURL: s.baseURL, Key: oaKey, People: oauth.IdentityPeople{Identity: ids}, ClientIP: s.proxies.ClientIP,
			Name: cfg.IssuerName, Logger: s.log})
		if err != nil {
			return nil, err
		}
		m := oa.Metadata()
		smart = httpapi.SMARTConfig{Builtin: &m}
	}
	mount := func(e *echo.Echo) {
		links.Mount(e)
		batches.Mount(e)
		frontDesk.Mount(e)
		enrolments.Mount(e)
		accountPages.Mount(e)
		if oa != nil {
			oa.Mount(e)
		}
	}
	api, err := httpapi.New(httpapi.Config{
		Issuer: s.is, Auth: a, Source: src, Authz: az, BaseURL: s.baseURL, IssuerName: cfg.IssuerName, DevPage: !cfg.Production,
		SMART:  smart,
		Logger: s.log, HSTS: s.useTLS || cfg.BehindTLSProxy || !cfg.Production, Mount: mount, Metrics: metrics,
	})
	if err != nil {
		return nil, err
	}
	s.certFile, s.keyFile = cfg.TLSCert, cfg.TLSKey
	if !cfg.Production && !s.useTLS {
		s.certFile, s.keyFile, err = devCertificate(s.dir)
		if err != nil {
			return nil, err
		}
		s.useTLS = true
		fmt.Fprintf(s.out, "development TLS certificate (self-signed): %s\n", s.certFile)
	}
	s.srv = &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
		IdleTimeout: 120 * time.Second, MaxHeaderBytes: 32 << 10,
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12},
		ErrorLog:  slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// prepare fills cfg's defaults (listen address, data directory, logger,
// output) and checks it: what New and OpenIssuer both do before opening
// anything, so nothing needs closing when it fails.
func prepare(cfg Config) (*Service, qr.Level, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "./data"
	}
	s := &Service{cfg: cfg, log: cfg.Logger, out: cfg.Stdout, dir: DataDir(cfg.DataDir)}
	if s.log == nil {
		s.log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if s.out == nil {
		s.out = os.Stdout
	}
	level, err := s.check()
	return s, level, err
}

// check validates the configuration and fills the derived values.
func (s *Service) check() (qr.Level, error) {
	cfg := &s.cfg
	s.useTLS = cfg.TLSCert != "" || cfg.TLSKey != ""
	if cfg.EnrolmentCodeTTL < 0 || cfg.EnrolmentCodeTTL > 30*24*time.Hour {
		return 0, configErr("--enrolment-code-ttl %s: from 1m to 720h (a sign-up code should be short-lived)", cfg.EnrolmentCodeTTL)
	}
	if cfg.EnrolmentCodeTTL > 0 && cfg.EnrolmentCodeTTL < time.Minute {
		return 0, configErr("--enrolment-code-ttl %s: from 1m to 720h", cfg.EnrolmentCodeTTL)
	}
	proxies, err := clientip.Parse(cfg.TrustedProxies...)
	if err != nil {
		return 0, configErr("--trusted-proxy: %v", err)
	}
	s.proxies = proxies
	if s.useTLS && (cfg.TLSCert == "" || cfg.TLSKey == "") {
		return 0, configErr("--tls-cert and --tls-key go together")
	}
	if cfg.Production {
		if !s.useTLS && !cfg.BehindTLSProxy {
			return 0, configErr("--production needs --tls-cert/--tls-key or --behind-tls-proxy (KEY-3: TLS 1.2+)")
		}
		if cfg.Iss == "" {
			return 0, configErr("--production needs --iss")
		}
		if cfg.AuthIssuer != "" && !strings.HasPrefix(cfg.AuthIssuer, "https://") {
			return 0, configErr("--production needs an https:// --auth-issuer (its tokens and keys must not travel in the clear)")
		}
	} else if cfg.BehindTLSProxy {
		return 0, configErr("--behind-tls-proxy is for --production")
	}
	_, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return 0, configErr("--listen: %v", err)
	}
	s.iss = cfg.Iss
	if s.iss == "" {
		s.iss = "https://localhost:" + port
	}
	if err := issuer.CheckIss(s.iss); err != nil {
		return 0, configErr("%v", err)
	}
	s.baseURL = cfg.BaseURL
	if s.baseURL == "" {
		if !strings.HasPrefix(s.iss, "https://") {
			return 0, configErr("a DID issuer needs --base-url (the https base where this service is reached)")
		}
		s.baseURL = s.iss
	}
	if cfg.PKCS11Module != "" && (cfg.PKCS11Token == "" || cfg.PKCS11PINFile == "") {
		return 0, configErr("--pkcs11-module needs --pkcs11-token and --pkcs11-pin-file")
	}
	if err := cfg.kek().Check(); err != nil {
		return 0, err
	}
	if cfg.KEKFile != "" && cfg.PKCS11Module != "" {
		return 0, configErr("--kek-file and --pkcs11-module are two places for the signing key: choose one")
	}
	if cfg.KEKToken.Module != "" && cfg.PKCS11Module != "" {
		return 0, configErr("--kek-pkcs11-module and --pkcs11-module are two places for the signing key: choose one")
	}
	if cfg.Production && cfg.KEKFile != "" {
		inside, err := within(cfg.DataDir, cfg.KEKFile)
		if err != nil {
			return 0, err
		}
		if inside {
			return 0, configErr("--production refuses --kek-file %s: it lies inside --data %s", cfg.KEKFile, cfg.DataDir)
		}
	}
	if cfg.Production && cfg.KEKToken.PINFile != "" {
		inside, err := within(cfg.DataDir, cfg.KEKToken.PINFile)
		if err != nil {
			return 0, err
		}
		if inside {
			return 0, configErr("--production refuses --kek-pkcs11-pin-file %s: it lies inside --data %s", cfg.KEKToken.PINFile, cfg.DataDir)
		}
	}
	if cfg.Production && cfg.PKCS11Module == "" && !cfg.kek().Set() {
		if len(cfg.KeyPassphrase) == 0 && cfg.KeyPassphraseFile == "" {
			return 0, configErr("--production needs the key passphrase from --key-passphrase-file (outside --data) or SHC_ISSUER_KEY_PASSPHRASE, or an HSM key (--pkcs11-module); it is not kept beside the keys")
		}
		if len(cfg.KeyPassphrase) == 0 {
			inside, err := within(cfg.DataDir, cfg.KeyPassphraseFile)
			if err != nil {
				return 0, err
			}
			if inside {
				return 0, configErr("--production refuses --key-passphrase-file %s: it lies inside --data %s, beside the keys it protects", cfg.KeyPassphraseFile, cfg.DataDir)
			}
		}
	}
	switch cfg.Store {
	case "", "sqlite":
	case "postgres":
		if cfg.PostgresDSN == "" {
			return 0, configErr("--store postgres needs --postgres-dsn")
		}
	default:
		return 0, configErr("--store must be sqlite or postgres")
	}
	switch strings.ToUpper(cfg.QRLevel) {
	case "", "L":
		return qr.L, nil
	case "M":
		return qr.M, nil
	case "Q":
		return qr.Q, nil
	case "H":
		return qr.H, nil
	}
	return 0, configErr("--qr-level must be L, M, Q or H")
}

// openKeys opens the HSM key or the watched key ring (generating the first
// key in an empty ring).
func (s *Service) openKeys() (issuer.KeySet, error) {
	cfg := s.cfg
	if cfg.PKCS11Module != "" {
		pin, err := os.ReadFile(cfg.PKCS11PINFile)
		if err != nil {
			return nil, fmt.Errorf("reading the PKCS#11 PIN file: %w", err)
		}
		tok, err := pkcs11.Open(pkcs11.Config{Module: cfg.PKCS11Module, TokenLabel: cfg.PKCS11Token, PIN: strings.TrimSpace(string(pin))})
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() error { tok.Close(); return nil })
		label := cfg.PKCS11KeyLabel
		if label == "" {
			label = "shc-issuer"
		}
		signer, created, err := tok.FindOrGenerateKey(label)
		if err != nil {
			return nil, err
		}
		if created {
			s.log.Info("generated a signing key in the HSM", "kid", signer.KeyID())
		}
		return issuer.StaticKeys{Signer: signer}, nil
	}
	pass, err := Passphrase(cfg.DataDir, cfg.KeyPassphrase, cfg.KeyPassphraseFile)
	if err != nil {
		return nil, err
	}
	// The served ring follows `shc-issuer keys ...` run while the service
	// runs (issuer.WatchedRing; SIGHUP forces a reread in Run).
	watched, err := issuer.OpenWatchedRing(s.dir.Path("keys"), pass, cfg.RingOptions...)
	clear(pass)
	if err != nil {
		return nil, err
	}
	ring, err := watched.Ring()
	if err != nil {
		return nil, err
	}
	if _, err := ring.Active(); keys.CodeOf(err) == keys.CodeNoActiveKey {
		if cfg.Production && len(ring.List()) > 0 {
			return nil, errors.New("the key ring has no active key (compromised?); run 'shc-issuer keys rotate'")
		}
		k, err := ring.Rotate()
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(s.out, "generated signing key %s (encrypted in %s)\n", k.KeyID(), s.dir.Path("keys"))
	}
	s.watched = watched
	return watched, nil
}

// kek is where the KEK is, from the configuration.
func (c *Config) kek() KEKSource { return KEKSource{File: c.KEKFile, Token: c.KEKToken} }

// openSigning opens the signing keys and the rid secret: from the database
// with --kek-file (kdb is then the open key database), else from the HSM or
// the data directory.
func (s *Service) openSigning(ctx context.Context) (ks issuer.KeySet, rid string, kdb *keydb.Store, err error) {
	cfg := s.cfg
	if cfg.kek().Set() {
		kdb, err = OpenKeyDBWith(ctx, cfg.DataDir, cfg.Store, cfg.PostgresDSN, cfg.kek())
		if err != nil {
			return nil, "", nil, err
		}
		s.closers = append(s.closers, kdb.Close)
		ks, err = s.openKeyDB(ctx, kdb)
	} else {
		ks, err = s.openKeys()
	}
	if err != nil {
		return nil, "", nil, err
	}
	rid, err = s.secret(ctx, kdb, keydb.SecretRID)
	return ks, rid, kdb, err
}

// openKeyDB serves the key ring kept in the database, creating its first
// key when the ring is empty (once, whichever replica starts first). A data
// directory that still holds a file key ring must be migrated first, so a
// replica never signs with a key the others do not know.
func (s *Service) openKeyDB(ctx context.Context, kdb *keydb.Store) (issuer.KeySet, error) {
	list, err := kdb.List(ctx)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		if _, err := os.Stat(s.dir.Path("keys", "ring.json")); err == nil {
			return nil, configErr("--kek-file: the database has no key ring but %s has one; move it in first with 'shc-issuer migrate-keys' (same --data, --store, --postgres-dsn, --kek-file, and the ring's passphrase)", s.dir.Path("keys"))
		}
	}
	kid, err := kdb.EnsureActive(ctx, !s.cfg.Production)
	if err != nil {
		return nil, err
	}
	if kid != "" {
		fmt.Fprintf(s.out, "generated signing key %s (sealed under the KEK in the %s database)\n", kid, kdb.Dialect())
	}
	r, err := kdb.Watch(ctx, s.cfg.KeyPoll, s.log)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, r.Close)
	s.dbRing = r
	return r, nil
}

// secret returns a generated secret: from the database with --kek-file
// (created once for every replica; refused while only DIR holds one, which
// 'shc-issuer migrate-keys' moves in), else from its file in DIR.
func (s *Service) secret(ctx context.Context, kdb *keydb.Store, name string) (string, error) {
	if kdb == nil {
		return secretFile(s.dir.Path(name))
	}
	ok, err := kdb.HasSecret(ctx, name)
	if err != nil {
		return "", err
	}
	if !ok {
		if _, err := os.Stat(s.dir.Path(name)); err == nil {
			return "", configErr("--kek-file: %s exists but the database has no %s; move it in first with 'shc-issuer migrate-keys' (a new one would change every rid)", s.dir.Path(name), name)
		}
	}
	return kdb.Secret(ctx, name, issuer.NewRIDSecret)
}

// auditKey derives the key of the audit-actor hashes from the rid secret,
// so that actors stay comparable across restarts and replicas without
// carrying raw patient ids (auth.Config.AuditKey).
func auditKey(ridSecret string) []byte {
	m := hmac.New(sha256.New, []byte(ridSecret))
	m.Write([]byte("healthcards audit actor v1"))
	return m.Sum(nil)
}

// systemClients parses --auth-system-client SUB=SCOPE[,SCOPE] values.
func systemClients(vals []string) (map[string][]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	out := map[string][]string{}
	for _, v := range vals {
		sub, scopes, ok := strings.Cut(v, "=")
		if !ok || sub == "" || scopes == "" {
			return nil, configErr("--auth-system-client %q: want SUB=SCOPE[,SCOPE]", v)
		}
		for _, sc := range strings.Split(scopes, ",") {
			if !slices.Contains(auth.AllLabScopes, sc) {
				return nil, configErr("--auth-system-client %q: unknown scope %q (want %s)", v, sc, strings.Join(auth.AllLabScopes, ", "))
			}
			out[sub] = append(out[sub], sc)
		}
	}
	return out, nil
}

// devTokenFile holds the development token's secret (development only).
const devTokenFile = "development-token"

// auth builds the authenticator. In development, a store without tokens
// gets an all-scope token whose secret is kept in DIR/development-token
// (0600) and printed at every development start while it stays active.
func (s *Service) auth(ctx context.Context, st store.Store, audit []byte, local *auth.LocalJWT) (*auth.Authenticator, error) {
	cfg := s.cfg
	acfg := auth.Config{Store: st, AuditKey: audit, Local: local}
	if cfg.AuthIssuer != "" {
		aud := cfg.AuthAudience
		if aud == "" {
			aud = s.baseURL + "/fhir"
		}
		acfg.JWT = &auth.JWTConfig{Issuer: cfg.AuthIssuer, Audience: aud, JWKSURL: cfg.AuthJWKSURL,
			Fetch: safehttp.MustNew(safehttp.Config{AllowPrivateNetwork: true})} // admin-configured, may be on the intranet
		clients, err := systemClients(cfg.AuthSystemClients)
		if err != nil {
			return nil, err
		}
		acfg.JWT.SystemClients = clients
	} else if len(cfg.AuthSystemClients) > 0 {
		return nil, configErr("--auth-system-client needs --auth-issuer")
	}
	toks, err := st.Tokens(ctx)
	if err != nil {
		return nil, err
	}
	active := 0
	for _, t := range toks {
		if t.RevokedAt == nil {
			active++
		}
	}
	devPath := s.dir.Path(devTokenFile)
	if cfg.Production {
		if _, err := os.Stat(devPath); err == nil {
			return nil, configErr("--production refuses a data directory with a development token (%s): revoke it with 'shc-issuer tokens revoke ID' and delete the file", devPath)
		}
		if active == 0 && acfg.JWT == nil {
			return nil, configErr("--production needs authentication: create API tokens with 'shc-issuer tokens create' or set --auth-issuer")
		}
		return auth.New(acfg)
	}
	if sec, ok := activeDevToken(ctx, st, devPath); ok {
		fmt.Fprintf(s.out, "development API token (all scopes; for development only; kept in %s):\n  %s\n", devPath, sec)
	} else if active == 0 {
		secret, tok, err := auth.NewToken(auth.AllLabScopes, "development", time.Now())
		if err != nil {
			return nil, err
		}
		// Written before it is stored: a token in the store whose secret
		// was lost would be a token nobody can use.
		if err := writeSecret(devPath, secret); err != nil {
			return nil, err
		}
		if err := st.PutToken(ctx, tok); err != nil {
			return nil, err
		}
		fmt.Fprintf(s.out, "development API token (all scopes; for development only; kept in %s):\n  %s\n", devPath, secret)
	}
	return auth.New(acfg)
}

// activeDevToken returns the secret kept in path when the store holds it
// as an active token.
func activeDevToken(ctx context.Context, st store.Store, path string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	sec := strings.TrimSpace(string(b))
	h := sha256.Sum256([]byte(sec))
	t, err := st.TokenByHash(ctx, h[:])
	return sec, err == nil && t.RevokedAt == nil
}

// Iss returns the issuer URL (or DID) the service signs as.
func (s *Service) Iss() string { return s.iss }

// BaseURL returns the public base URL of the service.
func (s *Service) BaseURL() string { return s.baseURL }

// Addr returns the bound address.
func (s *Service) Addr() net.Addr { return s.ln.Addr() }

// CertFile returns the TLS certificate file served (in development, the
// generated self-signed one), or "" behind a TLS proxy.
func (s *Service) CertFile() string { return s.certFile }

// Issuer returns the issuing core.
func (s *Service) Issuer() *issuer.Issuer { return s.is }

// Close releases what New opened. Run closes on return; Close is for a
// Service that is not run.
func (s *Service) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	return errors.Join(errs...)
}

// Run serves until ctx is done (then shuts down gracefully, at most 10 s)
// or the server fails, and closes the service. SIGHUP rereads the key ring.
func (s *Service) Run(ctx context.Context) error {
	defer s.Close()
	if s.dbRing != nil {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for range hup {
				if err := s.dbRing.Reload(context.Background()); err != nil {
					s.log.Error("SIGHUP: reloading the key ring from the database failed", "err", err.Error())
				} else {
					s.log.Info("SIGHUP: key ring reloaded from the database")
				}
			}
		}()
	}
	if s.watched != nil {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for range hup {
				if err := s.watched.Reload(); err != nil {
					s.log.Error("SIGHUP: reloading the key ring failed; signing is refused until it loads", "err", err.Error())
				} else {
					s.log.Info("SIGHUP: key ring reloaded")
				}
			}
		}()
	}
	errc := make(chan error, 1)
	go func() {
		if s.useTLS {
			errc <- s.srv.ServeTLS(s.ln, s.certFile, s.keyFile)
		} else {
			errc <- s.srv.Serve(s.ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return s.srv.Shutdown(sctx)
	}
}

// LoadSample stores the sample lab result (first start only), issues a
// card from it and returns the path of its printable page, so a newcomer
// sees a card at once.
func (s *Service) LoadSample(ctx context.Context) (string, error) {
	if _, err := s.is.Store().Patient(ctx, SamplePatient); errors.Is(err, store.ErrNotFound) {
		if _, _, err := s.is.PutResults(ctx, bundles.LabCovidPCR, "sample"); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	cards, err := s.is.IssueBundle(ctx, bundles.LabCovidPCR, issuer.IssueOptions{Actor: "sample"})
	if err != nil {
		return "", err
	}
	if len(cards) == 0 {
		return "", errors.New("the sample bundle gave no card")
	}
	return "/cards/" + cards[0].ID + "/print", nil
}

// SamplePatient is the patient of examples/bundles/lab-covid-pcr.json.
const SamplePatient = "pt-1001"

// within reports whether path lies inside dir (after resolving symbolic
// links of both, as far as they exist).
func within(dir, path string) (bool, error) {
	resolve := func(p string) (string, error) {
		a, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if r, err := filepath.EvalSymlinks(a); err == nil {
			return r, nil
		}
		// Not there yet: resolve the parent.
		if r, err := filepath.EvalSymlinks(filepath.Dir(a)); err == nil {
			return filepath.Join(r, filepath.Base(a)), nil
		}
		return a, nil
	}
	d, err := resolve(dir)
	if err != nil {
		return false, err
	}
	p, err := resolve(path)
	if err != nil {
		return false, err
	}
	rel, err := filepath.Rel(d, p)
	if err != nil {
		return false, nil
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))), nil
}
