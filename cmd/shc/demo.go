package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/verifier"
)

// runDemo is the README's first command while the services are young: it
// makes a development key, issues a card from the sample lab-result bundle,
// renders and re-reads its QR image, and verifies it offline.
func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "[--out-dir DIR]", stderr)
	outDir := fs.String("out-dir", "shc-demo", "write the demo key, card and QR images to `DIR`")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	const iss = "https://lab.example.org"
	if err := os.MkdirAll(*outDir, 0o700); err != nil {
		return err
	}
	raw, err := keys.Generate()
	if err != nil {
		return err
	}
	key, err := keys.NewPrivateKey(raw)
	if err != nil {
		return err
	}
	keyPath := filepath.Join(*outDir, "dev-issuer.jwk")
	if err := keys.WritePrivateFile(keyPath, key, nil); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "1. generated development key %s (%s; unencrypted, for the demo only)\n", key.KeyID(), keyPath)

	bundle, err := shc.Minify(bundles.LabCovidPCR)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "2. minified the sample lab bundle: %d → %d bytes\n", len(bundles.LabCovidPCR), len(bundle))

	jws, err := shc.Sign(key, shc.NewPayload(iss, time.Now(), bundle))
	if err != nil {
		return err
	}
	files, err := writeCard(*outDir, "lab-covid-pcr", jws, qr.L, false)
	if err != nil {
		return err
	}
	code, err := qr.Encode(mustQRText(jws))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "3. signed a %d-character card, QR version %d at level L: %v in %s\n", len(jws), code.Version(), files, *outDir)

	png, err := os.ReadFile(filepath.Join(*outDir, "lab-covid-pcr.qr.png"))
	if err != nil {
		return err
	}
	text, err := qr.DecodeBytes(png)
	if err != nil {
		return fmt.Errorf("reading the QR image back: %w", err)
	}
	fmt.Fprintf(stdout, "4. read the QR image back: %d digits\n", len(text)-len(shc.QRScheme))

	jwks, err := jsonMarshal(keys.JWKS{Keys: []keys.JWK{key.PublicJWK()}})
	if err != nil {
		return err
	}
	v, err := verifier.New(verifier.WithStaticKeys(iss, jwks), verifier.WithOffline())
	if err != nil {
		return err
	}
	results, err := v.Verify(context.Background(), []byte(text))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "5. verified it offline against the issuer's key set:")
	for _, r := range results {
		printEntry(stdout, verifyEntry{Input: "lab-covid-pcr.qr.png", Valid: r.Valid, Verdict: r.Verdict, Iss: r.Issuer,
			IssuerName: r.IssuerName, Kid: r.KeyID, Nbf: r.NotBefore, Exp: r.Expires, Errors: r.Errors, Warnings: r.Warnings, Summary: r.Summary})
		if !r.Valid {
			return errInvalid
		}
	}
	fmt.Fprintf(stdout, "\nNext: shc verify --jwks %s=<(shc jwks --key %s) %s\n", iss, keyPath, filepath.Join(*outDir, "lab-covid-pcr.qr.png"))
	return nil
}

func mustQRText(jws string) string {
	t, err := shc.EncodeQRText(jws)
	if err != nil {
		panic(err) // a JWS from shc.Sign is always encodable
	}
	return t
}
