package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/verifier"
)

// trustFlags are the flags that say whom a verifying command trusts and how
// it may fetch, shared by "shc verify" and "shc link show".
type trustFlags struct {
	trust, trustList, jwks multiFlag
	anyIssuer, private     *bool
	caCert                 *string
}

func addTrustFlags(fs *flag.FlagSet) *trustFlags {
	t := &trustFlags{}
	fs.Var(&t.trust, "trust", "trust directory `FILE|URL` in the VCI directory shape (repeatable)")
	fs.Var(&t.trustList, "trust-list", "VCI trust list (vci-issuers.json) `FILE|URL`: listed issuers are trusted, keys fetched live (repeatable)")
	fs.Var(&t.jwks, "jwks", "trust issuer ISS with exactly the keys in `ISS=FILE` (repeatable)")
	t.anyIssuer = fs.Bool("any-issuer", false, "UNSAFE: fetch keys of any issuer and report cards from unlisted issuers as untrusted")
	t.private = fs.Bool("allow-private-network", false, "allow fetching from loopback and private addresses (testing, intranets)")
	t.caCert = fs.String("ca-cert", "", "also trust TLS certificates from `PEM` for fetches (development servers)")
	return t
}

// given reports whether any trust source (or --any-issuer) was named.
func (t *trustFlags) given() bool {
	return len(t.trust)+len(t.trustList)+len(t.jwks) > 0 || *t.anyIssuer
}

// options turns the flags into verifier options.
func (t *trustFlags) options() ([]verifier.Option, error) {
	var opts []verifier.Option
	for _, s := range t.trust {
		opts = append(opts, verifier.WithTrustDirectory(s))
	}
	for _, s := range t.trustList {
		opts = append(opts, verifier.WithTrustList(s))
	}
	for _, j := range t.jwks {
		iss, file, ok := strings.Cut(j, "=")
		if !ok || iss == "" || file == "" {
			return nil, usagef("--jwks wants ISS=FILE, got %q", j)
		}
		data, err := readInput(file, 1<<20)
		if err != nil {
			return nil, fmt.Errorf("--jwks %s: %w", iss, err)
		}
		opts = append(opts, verifier.WithStaticKeys(iss, data))
	}
	opts = append(opts, verifier.WithImageDecoder(qr.DecodeImage)) // the CLI reads QR images
	if *t.anyIssuer {
		opts = append(opts, verifier.WithoutIssuerTrustUnsafe())
	}
	if *t.private {
		opts = append(opts, verifier.WithAllowPrivateNetwork())
	}
	pool, err := certPool(*t.caCert)
	if err != nil {
		return nil, err
	}
	if pool != nil {
		opts = append(opts, verifier.WithRootCAs(pool))
	}
	return opts, nil
}
