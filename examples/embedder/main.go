// Command embedder is what a program outside this module can build: every
// exported configuration that takes the guarded fetcher (verifier options,
// did.Resolver, shl.Client, auth.JWTConfig, server.TrustConfig) built from
// public packages only. It lives in its own module (see go.mod) so that the
// compiler, not a convention, proves that no exported API needs a type from
// internal/; the healthcards module's tests build it offline.
//
// Run it with a compact JWS or shc:/ text on stdin:
//
//	go run . < card.txt
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/healthcards/healthcards/did"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/safehttp"
	"github.com/healthcards/healthcards/shl"
	"github.com/healthcards/healthcards/verifier"
	"github.com/healthcards/healthcards/verifier/server"
)

func main() {
	if err := run(context.Background(), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "embedder:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, in io.Reader, out io.Writer) error {
	// One guarded client: public https addresses only, plus the one
	// intranet origin this deployment trusts for issuer material.
	fetch, err := safehttp.New(safehttp.Config{
		Timeout:        5 * time.Second,
		MaxBytes:       1 << 20,
		UserAgent:      "embedder",
		PrivateOrigins: []string{"https://issuer.intranet.example:8443"},
	})
	if err != nil {
		return err
	}

	// Every exported configuration that takes it.
	v, err := verifier.New(
		verifier.WithTrustedIssuers("https://issuer.intranet.example:8443"),
		verifier.WithFetchClient(fetch),
	)
	if err != nil {
		return err
	}
	resolver := &did.Resolver{Fetch: fetch}
	links := &shl.Client{Fetch: fetch}
	jwt := &auth.JWTConfig{Issuer: "https://auth.example.org", Audience: "https://lab.example.org/fhir", Fetch: fetch}
	trust := server.TrustConfig{
		Sources: []string{"https://trust.example.org/directory.json"},
		Options: []verifier.Option{verifier.WithPrivateOrigins("https://issuer.intranet.example:8443")},
		Fetch:   fetch,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	_, _, _, _ = resolver, links, jwt, trust

	input, err := io.ReadAll(io.LimitReader(in, 1<<20))
	if err != nil {
		return err
	}
	results, err := v.Verify(ctx, input)
	if err != nil {
		return err
	}
	for _, r := range results {
		fmt.Fprintln(out, r.Verdict)
	}
	return nil
}
