// Command shc-verifier serves the SMART Health Cards verifier: an HTTP API
// (POST /v1/verify) and a scanning page for venues. Run shc-verifier --help
// for the flags; see package verifier/server for the service. This command
// owns the flags and environment variables; the library takes
// server.Options, builds the service with server.NewService and serves
// it with Service.Run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/healthcards/healthcards/verifier/server"
)

// envPrefix prefixes the environment variables that configure the service.
const envPrefix = "SHC_VERIFIER_"

// usage is the help text of the shc-verifier command.
const usage = `shc-verifier: verify SMART Health Cards over HTTP, with a scanning page for venues.

Usage:
  shc-verifier [flags]

Trust (which issuers give a green "verified"):
  --trust FILE|URL          trust directory (VCI snapshot shape) or trust list
                            (vci-issuers.json shape); repeatable
  --trusted-issuer ISS      trust this issuer, keys fetched live; repeatable
  --keys ISS=FILE           trust ISS with exactly the JWKS in FILE; repeatable
  --directory-cert FILE     PEM certificate; directories must carry a detached
                            signature SOURCE.sig that verifies with it
  --refresh DURATION        reload trust sources this often (default 6h)
  --max-age DURATION        a source older than this is stale and /readyz
                            fails (default 168h)
  --offline                 never use the network: keys and revocation lists
                            come only from --trust directories and --keys
  --any-issuer-unsafe       verify cards from any issuer (amber at best); the
                            default when no trust source is given
  --allow-private-network   let live fetches reach private addresses (intranets)
  --allow-private-origin ORIGIN
                            let key sets, DID documents and revocation lists
                            of this origin (https://host:port) come from a
                            private address; links never; repeatable
  --ca-cert FILE            also trust the PEM CA certificate(s) in FILE when
                            fetching keys, revocation lists and directories
                            (e.g. a development issuer's self-signed
                            certificate); repeatable

Checks:
  --leeway DURATION         allowed clock skew for nbf (default 5m)
  --revocation POLICY       required (default: fail when a revocation list
                            cannot be had) or best-effort
  --revocation-max-age DURATION  how stale revocation status may be (default
                            5m, 1s to 24h): a running service reports a card
                            revoked at its issuer within this time. Issuer
                            key sets and lists are revalidated in the
                            background (conditional requests, cheap 304s) by
                            half of it; past it, an unreachable issuer's
                            cards are unable_to_check under required (the
                            message says how old the last good list is), or
                            verified with a warning under best-effort.
                            Smaller: revocations seen sooner, issuers asked
                            more often, outages felt sooner.
  --entry-rules FILE        the venue's entry rule (JSON; e.g. a negative test
                            within 72h or 2 vaccine doses): each verified card
                            says whether it meets it (see verifier.EntryRules)

Serving:
  --listen ADDR             address to listen on (default 127.0.0.1:8080)
  --tls-cert FILE, --tls-key FILE   serve HTTPS (browsers need HTTPS, or
                            localhost, to open the camera)
  --cors-origin ORIGIN      allow browser calls to the API from ORIGIN; repeatable
  --trusted-proxy CIDR      read the client IP from X-Forwarded-For when the
                            peer is in CIDR; repeatable
  --max-body BYTES          request size limit (default 10485760)
  --rate-limit N            requests per second per client IP (default 10;
                            negative: off)
  --rate-burst N            burst per client IP (default 30)
  --verify-timeout DURATION per-request limit (default 20s)
  --fetches-per-client-per-minute N   issuer key-set and revocation-list
                            fetches one client IP may cause per minute
                            (default 30; negative: off)
  --large-body BYTES        bodies over this, images and uploads are "large"
                            (default 65536)
  --max-concurrent-large N  large requests read and verified at once, so
                            they cannot starve small ones (default: half the
                            CPUs, at least 1)
  --log-format text|json    (default text)
  --log-level debug|info|warn|error (default info)

Every flag can also be set as SHC_VERIFIER_<NAME> (e.g. SHC_VERIFIER_TRUST,
comma-separated for repeatable flags); flags win.

Example:
  shc-verifier --listen :8443 --tls-cert cert.pem --tls-key key.pem \
    --trust https://example.org/directory.json --revocation required
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command with args (without the program name) until ctx is
// done, and returns the process exit code: 0, 1 (the service failed) or 2
// (bad usage).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "shc-verifier: error: %v\nshc-verifier: hint: run shc-verifier --help\n", err)
		return 2
	}
	log := o.NewLogger(stderr)
	svc, err := server.NewService(ctx, o, log)
	if err != nil {
		log.Error("shc-verifier did not start", "error", err.Error())
		return 1
	}
	if err := svc.Run(ctx); err != nil {
		log.Error("shc-verifier stopped", "error", err.Error())
		return 1
	}
	return 0
}

// listFlag is a repeatable flag whose first command-line use replaces the
// value taken from the environment.
type listFlag struct {
	vals    *[]string
	fromEnv bool
}

func (l *listFlag) String() string {
	if l.vals == nil {
		return ""
	}
	return strings.Join(*l.vals, ",")
}

func (l *listFlag) Set(s string) error {
	if l.fromEnv {
		*l.vals = nil
		l.fromEnv = false
	}
	*l.vals = append(*l.vals, s)
	return nil
}

// parseOptions reads the configuration from args (without the program
// name) and the environment (getenv, e.g. os.Getenv). Every flag --name has
// an environment variable SHC_VERIFIER_NAME (dashes become underscores;
// repeatable flags take a comma-separated list); flags win. -h and --help
// print the usage to stdout and return flag.ErrHelp.
func parseOptions(args []string, getenv func(string) string, stdout io.Writer) (*server.Options, error) {
	o := server.DefaultOptions()
	fs := flag.NewFlagSet("shc-verifier", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by run
	fs.Usage = func() {}

	var envErr error
	env := func(name string) (string, bool) {
		v := getenv(envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_")))
		return v, v != ""
	}
	str := func(p *string, name string) {
		if v, ok := env(name); ok {
			*p = v
		}
		fs.StringVar(p, name, *p, "")
	}
	list := func(p *[]string, name string) {
		lf := &listFlag{vals: p}
		if v, ok := env(name); ok {
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					*p = append(*p, s)
				}
			}
			lf.fromEnv = true
		}
		fs.Var(lf, name, "")
	}
	dur := func(p *time.Duration, name string) {
		if v, ok := env(name); ok {
			d, err := time.ParseDuration(v)
			if err != nil && envErr == nil {
				envErr = fmt.Errorf("%s%s: %v", envPrefix, strings.ToUpper(strings.ReplaceAll(name, "-", "_")), err)
			}
			*p = d
		}
		fs.DurationVar(p, name, *p, "")
	}
	boolean := func(p *bool, name string) {
		if v, ok := env(name); ok {
			b, err := strconv.ParseBool(v)
			if err != nil && envErr == nil {
				envErr = fmt.Errorf("%s%s: %v", envPrefix, strings.ToUpper(strings.ReplaceAll(name, "-", "_")), err)
			}
			*p = b
		}
		fs.BoolVar(p, name, *p, "")
	}
	num := func(name string, set func(string) error, flagVar func()) {
		if v, ok := env(name); ok {
			if err := set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s%s: %v", envPrefix, strings.ToUpper(strings.ReplaceAll(name, "-", "_")), err)
			}
		}
		flagVar()
	}

	str(&o.Listen, "listen")
	list(&o.Trust, "trust")
	list(&o.TrustedIssuers, "trusted-issuer")
	list(&o.KeySets, "keys")
	str(&o.DirectoryCert, "directory-cert")
	list(&o.CACerts, "ca-cert")
	dur(&o.Refresh, "refresh")
	dur(&o.MaxAge, "max-age")
	boolean(&o.Offline, "offline")
	boolean(&o.AnyIssuerUnsafe, "any-issuer-unsafe")
	dur(&o.Leeway, "leeway")
	str(&o.Revocation, "revocation")
	dur(&o.RevocationMaxAge, "revocation-max-age")
	str(&o.EntryRules, "entry-rules")
	boolean(&o.AllowPrivate, "allow-private-network")
	list(&o.PrivateOrigins, "allow-private-origin")
	str(&o.TLSCert, "tls-cert")
	str(&o.TLSKey, "tls-key")
	list(&o.CORSOrigins, "cors-origin")
	list(&o.TrustedProxies, "trusted-proxy")
	num("max-body", func(v string) (err error) { o.MaxBody, err = strconv.ParseInt(v, 10, 64); return },
		func() { fs.Int64Var(&o.MaxBody, "max-body", o.MaxBody, "") })
	num("rate-limit", func(v string) (err error) { o.RateLimit, err = strconv.ParseFloat(v, 64); return },
		func() { fs.Float64Var(&o.RateLimit, "rate-limit", o.RateLimit, "") })
	num("rate-burst", func(v string) (err error) { o.RateBurst, err = strconv.Atoi(v); return },
		func() { fs.IntVar(&o.RateBurst, "rate-burst", o.RateBurst, "") })
	dur(&o.VerifyTimeout, "verify-timeout")
	num("fetches-per-client-per-minute", func(v string) (err error) { o.FetchesPerClient, err = strconv.Atoi(v); return },
		func() { fs.IntVar(&o.FetchesPerClient, "fetches-per-client-per-minute", o.FetchesPerClient, "") })
	num("large-body", func(v string) (err error) { o.LargeBody, err = strconv.ParseInt(v, 10, 64); return },
		func() { fs.Int64Var(&o.LargeBody, "large-body", o.LargeBody, "") })
	num("max-concurrent-large", func(v string) (err error) { o.MaxConcurrentLarge, err = strconv.Atoi(v); return },
		func() { fs.IntVar(&o.MaxConcurrentLarge, "max-concurrent-large", o.MaxConcurrentLarge, "") })
	str(&o.LogFormat, "log-format")
	str(&o.LogLevel, "log-level")

	if envErr != nil {
		return nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	return o, o.Validate()
}
