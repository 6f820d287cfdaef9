package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/service"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/keys"
)

const usage = `shc-issuer: a SMART Health Cards issuer service for labs.

Usage:
  shc-issuer serve [flags]                       run the service
  shc-issuer tokens create --data DIR --scopes S  print a new API token (shown once)
  shc-issuer tokens list --data DIR
  shc-issuer tokens revoke ID --data DIR          revoke an API token at once
  shc-issuer keys rotate|list --data DIR          make a new signing key / list keys
  shc-issuer keys retire|compromised KID --data DIR
  shc-issuer keys ... --store postgres --postgres-dsn DSN --kek-file F
                                                 the same on the key ring in the database
                                                 (or --kek-pkcs11-* instead of --kek-file)
  shc-issuer keys init-kek --kek-file F | --kek-pkcs11-module F --kek-pkcs11-token T
                         --kek-pkcs11-key L      make the KEK: a new 0600 file, or an
                                                 AES-256 key generated on the token
                                                 (never extractable; kept if present)
  shc-issuer migrate-keys --data DIR --kek-file F [--store postgres --postgres-dsn DSN]
                                                 move DIR's key ring, rid secret and link
                                                 location secret into the database
  shc-issuer bulk issue --in DIR|ZIP --out DIR   issue cards for a whole registry
                                                 (see 'shc-issuer bulk -h')
  shc-issuer bulk generate --out DIR --patients N  synthetic bulk input
  shc-issuer staff add NAME --role R --data DIR    desk staff account + one-time invitation code
  shc-issuer staff list|code ID|disable ID --data DIR
  shc-issuer clients add --redirect-uri URI [--confidential] [--name N] --data DIR
                                                 register a SMART app (wallet) with the
                                                 built-in authorization server
  shc-issuer clients list|remove ID --data DIR
  shc-issuer patients enrol --patient ID --evidence KIND [--ial IAL2] --data DIR
                                                 desk enrolment from the command line: a one-time
                                                 sign-up code and URL (see 'shc-issuer patients -h')
  shc-issuer patients list|disable ACCOUNT-ID --data DIR
  shc-issuer policy validate DIR                 check Cedar policies against the schema
  shc-issuer policy check --principal P --action A --patient ID [--token JWT]
                                                 print the decision and the deciding policies
  shc-issuer COMMAND -h                           this help

policy check: --principal Patient/ID, RelatedPerson/ID, Practitioner/ID, LabSystem/ID,
SystemClient/ID or CapabilityHolder, with --scopes "S S" (default: all reads or lab
scopes); or --token JWT (claims read without verifying the signature: a dry run); or
Staff/ID --role desk|supervisor|admin (desk staff; --patient optional).
--action issue|share|download|print|revoke|view|correct|audit|manageStaff|manageTokens
(default issue), --card ID for download, print and revoke; relations are read from the store (--data, --store, --postgres-dsn);
--policy DIR tests policies before deploying them (default: the embedded set);
--age-of-majority N. Nothing is written to the audit trail.

tokens also takes --store and --postgres-dsn, and keys takes
--key-passphrase-file (or SHC_ISSUER_KEY_PASSPHRASE), or --store,
--postgres-dsn and --kek-file, as serve does.

serve flags (each also from the environment: --listen is SHC_ISSUER_LISTEN, ...):
  --listen ADDR          listen address (default 127.0.0.1:8443)
  --iss URL              issuer: https URL without trailing slash, did:web or did:key
                         (default in development: https://localhost:PORT)
  --base-url URL         public https base of this service for links (default: --iss if https)
  --data DIR             data directory: keys, rid secret, SQLite store (default ./data)
  --tls-cert F --tls-key F   TLS certificate and key (PEM)
  --behind-tls-proxy     plain HTTP behind a TLS-terminating proxy (production only)
  --trusted-proxy CIDR[,CIDR]  the reverse proxies whose X-Forwarded-For names the
                         client (repeatable; SHC_ISSUER_TRUSTED_PROXY takes a comma list):
                         sign-up and invitation code attempts are limited per client by
                         the rightmost address that is not one of them. Without it the
                         peer is the client, so behind HAProxy all share one limit
  --production           refuse to start without configured auth, TLS and a key
                         passphrase kept away from the keys
  --auth-issuer URL      authorization server issuing JWT access tokens (SMART on
                         FHIR); https only with --production
  --auth-audience AUD    expected token audience (default: BASE/fhir)
  --auth-jwks-url URL    its JWKS (default: AUTH-ISSUER/.well-known/jwks.json)
  --auth-authorize-url URL, --auth-token-url URL   advertised in smart-configuration
  --no-oauth             no built-in authorization server (it runs unless --auth-issuer
                         names an external one): SMART App Launch for wallets at
                         BASE/oauth/*, consent at BASE/oauth/consent, connected apps
                         at BASE/account/apps (docs/oauth.md)
  --auth-system-client SUB=SCOPE[,SCOPE]   a lab system authenticating with JWTs from
                         --auth-issuer (subject SUB) and the lab scopes it may use;
                         repeatable. Lab scopes of other JWTs, and of any token with
                         a patient claim, are ignored
  --store sqlite|postgres    persistence (default sqlite under DIR/store)
  --postgres-dsn DSN     PostgreSQL connection string (SHC_ISSUER_POSTGRES_DSN); for
                         several replicas add --kek-file, so keys and secrets are in the
                         database too (docs/deploy.md)
  --key-passphrase-file F  passphrase of the key ring (at least 16 characters);
                         or the SHC_ISSUER_KEY_PASSPHRASE environment variable.
                         Without either, development keeps a generated one in
                         DIR/keys.passphrase; --production refuses that and a
                         file inside DIR (it would sit beside the keys)
  --kek-file F           keep the key ring, the rid secret and the link location
                         secret in the database (PostgreSQL with --store postgres,
                         else DIR/keyring.db), each sealed under the key-encryption
                         key in F (32 random bytes, base64, mode 0600; make one with
                         umask 077; head -c 32 /dev/urandom | base64 > F). Replicas
                         on one PostgreSQL then share only F; key changes reach every
                         replica within 2 s (LISTEN/NOTIFY, else polling).
                         --production refuses F inside DIR
  --kek-pkcs11-module F --kek-pkcs11-token LABEL --kek-pkcs11-key LABEL
                         the KEK is instead an AES-256 key in a PKCS#11 token (made
                         with 'keys init-kek'); data keys are encrypted and decrypted
                         on the token (AES-GCM), the KEK never leaves it. PIN from
                         SHC_ISSUER_KEK_PKCS11_PIN or --kek-pkcs11-pin-file F
  --pkcs11-module F --pkcs11-token LABEL --pkcs11-pin-file F [--pkcs11-key-label L]
                         sign with a key held in an HSM instead of the key ring
  --upstream-fhir URL    read $health-cards-issue data from this FHIR server
  --policy DIR           Cedar authorization policies (*.cedar) replacing the embedded
                         default set (docs/authorization.md); validated at start, an
                         invalid policy stops the service
  --age-of-majority N    a parent's access to a minor's cards ends at N (default 18)
  --sensitive-code SYSTEM|CODE=CATEGORY   a sensitive value set entry: results with this
                         code need the patient's Consent for CATEGORY (e.g. HIV), like
                         results labelled sensitive; repeatable
  --issuer-name NAME     name printed on cards
  --qr-level L|M|Q|H     QR error correction (default L: 1195-character cards)
  --link-expiry DUR      lifetime of a SMART Health Link created without an expiry (default 720h)
  --batch-lease DUR      how long a replica's claim on a registry batch lasts unless renewed
                         (default 30s); a replica killed mid-batch holds it that long
  --enrolment-code-ttl DUR  how long a patient's sign-up code from a desk enrolment
                         works (default 24h; single use, stored hashed)
  --verifier-listen ADDR also run the verifying service and its scanning page,
                         trusting this issuer (default in development:
                         127.0.0.1:8080; "off" disables)
  --no-sample            do not load the sample lab result in development mode

A busy address fails with an error naming --listen (or, for the verifier
beside the issuer, --verifier-listen).

Key changes made with 'shc-issuer keys' take effect in a running service at
its next request: it watches DIR/keys/ring.json (SIGHUP forces a reread).
With --kek-file every replica follows them within 2 s (LISTEN/NOTIFY on
PostgreSQL, else polling). A
compromised key leaves /.well-known/jwks.json at once (KEY-10).

Development mode (no --production) serves TLS with a self-signed certificate
kept in DIR/tls, because SMART Health Card issuers must be https URLs
(KEY-4); on first start it generates an encrypted signing key and a
development API token with every scope, kept in DIR/development-token (0600)
and printed at every development start until it is revoked (--production
refuses a data directory that still holds that file). It also loads a sample lab result,
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
	var err error
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr)
	case "tokens":
		err = tokens(ctx, args[1:], stdout)
	case "keys":
		err = keysCmd(ctx, args[1:], stdout)
	case "bulk":
		err = bulkCmd(ctx, args[1:], stdout, stderr)
	case "staff":
		err = staff(ctx, args[1:], stdout)
	case "clients":
		err = clients(ctx, args[1:], stdout)
	case "patients":
		err = patients(ctx, args[1:], stdout)
	case "migrate-keys":
		err = migrateKeys(ctx, args[1:], stdout)
	case "policy":
		err = policyCmd(ctx, args[1:], stdout)
	default:
		return usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return err
}

// errHelpShown reports that -h printed the usage: exit 0.
var errHelpShown = errors.New("help shown")

// passphraseEnv holds the key ring passphrase (never a flag: flags show in
// the process list).
const passphraseEnv = "SHC_ISSUER_KEY_PASSPHRASE"

// ringOptions are passed to every key ring the command opens. Only tests
// set them (keys.WithTestWorkFactor, in TestMain); the shipped binary
// never does, so its rings use and require the real PBKDF2 work factor.
var ringOptions []keys.RingOption

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// flagSet makes a FlagSet whose defaults can come from SHC_ISSUER_* variables.
func flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.VisitAll(func(f *flag.Flag) {
		env := "SHC_ISSUER_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			_ = f.Value.Set(v)
		}
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return errHelpShown
		}
		return usageError{err.Error()}
	}
	return nil
}

// openRing opens DIR/keys with the passphrase from the environment,
// --key-passphrase-file or (development) DIR/keys.passphrase.
func openRing(dir, passFile string) (*keys.Ring, error) {
	pass, err := service.Passphrase(dir, []byte(os.Getenv(passphraseEnv)), passFile)
	if err != nil {
		return nil, cliErr(err)
	}
	defer clear(pass)
	return service.OpenRing(dir, pass, ringOptions...)
}

// cliErr turns a service configuration error into a usage error (exit 2).
func cliErr(err error) error {
	var ce *service.ConfigError
	if errors.As(err, &ce) {
		return usageError{ce.Msg}
	}
	return err
}

func tokens(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if len(args) == 0 || (args[0] != "create" && args[0] != "list" && args[0] != "revoke") {
		return usageError{"tokens needs create, list or revoke ID"}
	}
	op, rest := args[0], args[1:]
	id := ""
	if op == "revoke" {
		// A token id is base64url and may begin with "-", like a kid.
		if len(rest) == 0 || isTokensFlag(rest[0]) {
			if len(rest) > 0 && isHelp(rest[0]) {
				fmt.Fprint(stdout, usage)
				return nil
			}
			return usageError{"tokens revoke needs a token ID (see 'shc-issuer tokens list')"}
		}
		id, rest = rest[0], rest[1:]
	}
	fs := flagSet("tokens")
	data := fs.String("data", "./data", "")
	scopes := fs.String("scopes", "", "")
	label := fs.String("label", "", "")
	storeKind := fs.String("store", "sqlite", "")
	dsn := fs.String("postgres-dsn", "", "")
	if err := parse(fs, rest, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected argument " + fs.Arg(0)}
	}
	st, err := service.OpenStore(ctx, *data, *storeKind, *dsn)
	if err != nil {
		return cliErr(err)
	}
	defer st.Close()
	if op == "revoke" {
		err := st.RevokeToken(ctx, id, time.Now())
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no token with id %q (see 'shc-issuer tokens list')", id)
		}
		if err != nil {
			return err
		}
		_ = st.Audit(ctx, store.Event{Time: time.Now(), Actor: "cli", Action: "token.revoke", Detail: id})
		fmt.Fprintf(stdout, "token %s revoked: it is refused from its next request\n", id)
		return nil
	}
	if op == "list" {
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
// (-data, --data=DIR, --key-passphrase-file, -h, --help) rather than a kid.
func isKeysFlag(arg string) bool {
	return isFlag(arg, "data", "key-passphrase-file", "store", "postgres-dsn", "kek-file",
		"kek-pkcs11-module", "kek-pkcs11-token", "kek-pkcs11-key", "kek-pkcs11-pin-file", "h", "help")
}

// isTokensFlag is isKeysFlag for the tokens command.
func isTokensFlag(arg string) bool {
	return isFlag(arg, "data", "store", "postgres-dsn", "scopes", "label", "h", "help")
}

func isFlag(arg string, names ...string) bool {
	if !strings.HasPrefix(arg, "-") {
		return false
	}
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	return slices.Contains(names, name)
}

func keysCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if len(args) == 0 {
		return usageError{"keys needs rotate, list, retire KID, compromised KID or init-kek"}
	}
	op := args[0]
	rest := args[1:]
	kid := ""
	if op == "retire" || op == "compromised" {
		// A kid is base64url and may itself begin with "-": only the
		// command's own flags count as flags here.
		if len(rest) > 0 && isHelp(rest[0]) {
			fmt.Fprint(stdout, usage)
			return nil
		}
		if len(rest) == 0 || isKeysFlag(rest[0]) {
			return usageError{"keys " + op + " needs a KID"}
		}
		kid, rest = rest[0], rest[1:]
	}
	fs := flagSet("keys")
	data := fs.String("data", "./data", "")
	passFile := fs.String("key-passphrase-file", "", "")
	storeKind := fs.String("store", "sqlite", "")
	dsn := fs.String("postgres-dsn", "", "")
	kekFile := fs.String("kek-file", "", "")
	var kt service.KEKToken
	kekTokenFlags(fs, &kt)
	if err := parse(fs, rest, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected argument " + fs.Arg(0)}
	}
	kekPIN(&kt)
	src := service.KEKSource{File: *kekFile, Token: kt}
	if op == "init-kek" {
		return initKEK(src, stdout)
	}
	if src.Set() {
		return keysDB(ctx, op, kid, *data, *storeKind, *dsn, src, stdout)
	}
	ring, err := openRing(*data, *passFile)
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
