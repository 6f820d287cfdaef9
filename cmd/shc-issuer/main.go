package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/postgres"
	"github.com/healthcards/healthcards/issuer/store/sqlite"
	"github.com/healthcards/healthcards/keys"
)

const usage = `shc-issuer: a SMART Health Cards issuer service for labs.

Usage:
  shc-issuer serve [flags]                       run the service
  shc-issuer tokens create --data DIR --scopes S  print a new API token (shown once)
  shc-issuer tokens list --data DIR
  shc-issuer keys rotate|list --data DIR          make a new signing key / list keys
  shc-issuer keys retire|compromised KID --data DIR

serve flags (each also from the environment: --listen is SHC_ISSUER_LISTEN, ...):
  --listen ADDR          listen address (default 127.0.0.1:8443)
  --iss URL              issuer: https URL without trailing slash, did:web or did:key
                         (default in development: https://localhost:PORT)
  --base-url URL         public https base of this service for links (default: --iss if https)
  --data DIR             data directory: keys, rid secret, SQLite store (default ./data)
  --tls-cert F --tls-key F   TLS certificate and key (PEM)
  --behind-tls-proxy     plain HTTP behind a TLS-terminating proxy (production only)
  --production           refuse to start without configured auth and TLS
  --auth-issuer URL      authorization server issuing JWT access tokens (SMART on FHIR)
  --auth-audience AUD    expected token audience (default: BASE/fhir)
  --auth-jwks-url URL    its JWKS (default: AUTH-ISSUER/.well-known/jwks.json)
  --auth-authorize-url URL, --auth-token-url URL   advertised in smart-configuration
  --store sqlite|postgres    persistence (default sqlite under DIR/store)
  --postgres-dsn DSN     PostgreSQL connection string (SHC_ISSUER_POSTGRES_DSN); for
                         several replicas: each keeps its own --data (keys, rid secret,
                         TLS) identical, the database is shared
  --pkcs11-module F --pkcs11-token LABEL --pkcs11-pin-file F [--pkcs11-key-label L]
                         sign with a key held in an HSM instead of the key ring
  --upstream-fhir URL    read $health-cards-issue data from this FHIR server
  --issuer-name NAME     name printed on cards
  --qr-level L|M|Q|H     QR error correction (default L: 1195-character cards)
  --verifier-listen ADDR also run the verifying service and its scanning page,
                         trusting this issuer (default in development:
                         127.0.0.1:8080; "off" disables)
  --no-sample            do not load the sample lab result in development mode

Key changes made with 'shc-issuer keys' take effect in a running service at
its next request: it watches DIR/keys/ring.json (SIGHUP forces a reread). A
compromised key leaves /.well-known/jwks.json at once (KEY-10).

Development mode (no --production) serves TLS with a self-signed certificate
kept in DIR/tls, because SMART Health Card issuers must be https URLs
(KEY-4); on first start it generates an encrypted signing key and prints a
development API token with every scope. It also loads a sample lab result,
issues a card from it, and starts the verifier beside the issuer, so that

  go run ./cmd/shc-issuer serve

shows a card issued (printable page) and verified (scanning page) at once.

Example:
  shc-issuer serve --data ./data
  # open the printed https://localhost:8443/ page, paste a bundle and the token
  shc-issuer tokens create --data ./data --scopes results:write,cards:issue
`

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	var ue usageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "shc-issuer: error: %s\nRun 'shc-issuer help' for usage.\n", ue.msg)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "shc-issuer: error: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"no command"}
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "tokens":
		return tokens(ctx, args[1:], stdout)
	case "keys":
		return keysCmd(args[1:], stdout)
	}
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

// flagSet makes a FlagSet whose defaults can come from SHC_ISSUER_* variables.
func flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	fs.VisitAll(func(f *flag.Flag) {
		env := "SHC_ISSUER_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			_ = f.Value.Set(v)
		}
	})
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	return nil
}

// dataDir holds the service's durable state.
type dataDir string

func (d dataDir) path(p ...string) string { return filepath.Join(append([]string{string(d)}, p...)...) }

// secretFile reads a generated secret file, creating it (0600) if absent.
func secretFile(path string) (string, bool, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if len(s) < 32 {
			return "", false, fmt.Errorf("%s is too short", path)
		}
		return s, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", false, err
	}
	s, err := issuer.NewRIDSecret() // 32 random bytes, base64url
	if err != nil {
		return "", false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", false, err
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return "", false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", false, err
	}
	return s, true, f.Close()
}

// openRing opens DIR/keys, encrypted with the passphrase in DIR/keys.passphrase.
func openRing(d dataDir) (*keys.Ring, error) {
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return nil, err
	}
	pass, _, err := secretFile(d.path("keys.passphrase"))
	if err != nil {
		return nil, err
	}
	return keys.OpenRing(d.path("keys"), []byte(pass))
}

// openWatchedRing opens DIR/keys like openRing, for the running service.
func openWatchedRing(d dataDir) (*issuer.WatchedRing, error) {
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return nil, err
	}
	pass, _, err := secretFile(d.path("keys.passphrase"))
	if err != nil {
		return nil, err
	}
	return issuer.OpenWatchedRing(d.path("keys"), []byte(pass))
}

func openStore(ctx context.Context, d dataDir, kind, dsn string) (store.Store, error) {
	switch kind {
	case "", "sqlite":
		return sqlite.Open(ctx, d.path("store"))
	case "postgres":
		if dsn == "" {
			return nil, usageError{"--store postgres needs --postgres-dsn"}
		}
		return postgres.Open(ctx, dsn)
	}
	return nil, usageError{"--store must be sqlite or postgres"}
}

func tokens(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list") {
		return usageError{"tokens needs create or list"}
	}
	fs := flagSet("tokens")
	data := fs.String("data", "./data", "")
	scopes := fs.String("scopes", "", "")
	label := fs.String("label", "", "")
	storeKind := fs.String("store", "sqlite", "")
	dsn := fs.String("postgres-dsn", "", "")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	st, err := openStore(ctx, dataDir(*data), *storeKind, *dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	if args[0] == "list" {
		ts, err := st.Tokens(ctx)
		if err != nil {
			return err
		}
		for _, t := range ts {
			state := "active"
			if t.RevokedAt != nil {
				state = "revoked"
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\t%s\n", t.ID, strings.Join(t.Scopes, ","), t.CreatedAt.Format(time.RFC3339), state, t.Label)
		}
		return nil
	}
	if *scopes == "" {
		return usageError{"--scopes is required, e.g. --scopes " + strings.Join(auth.AllLabScopes, ",")}
	}
	secret, tok, err := auth.NewToken(strings.Split(*scopes, ","), *label, time.Now())
	if err != nil {
		return usageError{err.Error()}
	}
	if err := st.PutToken(ctx, tok); err != nil {
		return err
	}
	_ = st.Audit(ctx, store.Event{Time: time.Now(), Actor: "cli", Action: "token.create", Detail: tok.ID})
	fmt.Fprintln(stdout, secret)
	return nil
}

// isKeysFlag reports whether arg is one of the keys command's flags
// (-data, --data=DIR, -h, --help) rather than a kid.
func isKeysFlag(arg string) bool {
	if !strings.HasPrefix(arg, "-") {
		return false
	}
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	return name == "data" || name == "h" || name == "help"
}

func keysCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{"keys needs rotate, list, retire KID or compromised KID"}
	}
	op := args[0]
	rest := args[1:]
	kid := ""
	if op == "retire" || op == "compromised" {
		// A kid is base64url and may itself begin with "-": only the
		// command's own flags count as flags here.
		if len(rest) == 0 || isKeysFlag(rest[0]) {
			return usageError{"keys " + op + " needs a KID"}
		}
		kid, rest = rest[0], rest[1:]
	}
	fs := flagSet("keys")
	data := fs.String("data", "./data", "")
	if err := parse(fs, rest); err != nil {
		return err
	}
	ring, err := openRing(dataDir(*data))
	if err != nil {
		return err
	}
	switch op {
	case "rotate":
		k, err := ring.Rotate()
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, k.KeyID())
	case "list":
		for _, e := range ring.List() {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", e.Kid, e.Status, e.Created.Format(time.RFC3339))
		}
	case "retire":
		return ring.Retire(kid)
	case "compromised":
		if err := ring.Compromised(kid); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "removed from the JWKS and destroyed; run 'shc-issuer keys rotate' if it was the active key, and revoke any certificates bound to it (KEY-10)")
	default:
		return usageError{fmt.Sprintf("unknown keys command %q", op)}
	}
	return nil
}
