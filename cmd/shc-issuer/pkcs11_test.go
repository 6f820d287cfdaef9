package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/issuer/keydb"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/keys/pkcs11/softhsmtest"
	"github.com/healthcards/healthcards/shc"
)

// serve with a PKCS#11 token (SoftHSM2): the signing key is generated in
// the token on first start and found again on the next; cards verify with
// the one key the service publishes; the key never leaves the token.
func TestServePKCS11(t *testing.T) {
	tok := softhsmtest.New(t)
	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte(tok.PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--pkcs11-module", tok.Module, "--pkcs11-token", tok.Label, "--pkcs11-pin-file", pinFile}
	kidOf := func(dir string) string {
		c := startServe(t, dir, args...)
		kid := c.issueKid()
		var set struct {
			Keys []keys.JWK `json:"keys"`
		}
		c.get("/.well-known/jwks.json", &set)
		if len(set.Keys) != 1 || set.Keys[0].Kid != kid {
			t.Fatalf("JWKS %v, want exactly the HSM key %s", set.Keys, kid)
		}
		pub, err := set.Keys[0].CheckSigning()
		if err != nil {
			t.Fatal(err)
		}
		code, jws, err := c.do("POST", "/v1/cards?format=jws", bundles.LabCovidPCR)
		if err != nil || code != 201 {
			t.Fatalf("issue: %d %v %s", code, err, jws)
		}
		card, err := shc.Parse(string(jws))
		if err != nil {
			t.Fatal(err)
		}
		if err := card.VerifySignature(pub); err != nil {
			t.Fatalf("card signed in the HSM does not verify with the published key: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "keys")); err == nil {
			entries, _ := os.ReadDir(filepath.Join(dir, "keys"))
			if len(entries) > 0 {
				t.Errorf("a key ring was written to %s/keys although the key lives in the HSM", dir)
			}
		}
		return kid
	}
	first := kidOf(t.TempDir())
	if again := kidOf(t.TempDir()); again != first {
		t.Fatalf("second start used key %s, want the token's existing key %s", again, first)
	}
}

// The KEK in a token: `keys init-kek` makes it once, serve and keys use
// it, another token key is wrong_kek.
func TestKEKInToken(t *testing.T) {
	tok := softhsmtest.New(t)
	ctx := context.Background()
	t.Setenv("SHC_ISSUER_KEK_PKCS11_PIN", tok.PIN)
	dir := t.TempDir()
	flags := func(key string) []string {
		return []string{"--kek-pkcs11-module", tok.Module, "--kek-pkcs11-token", tok.Label, "--kek-pkcs11-key", key}
	}
	var out bytes.Buffer
	// Before init-kek the token has no such key: a clear error, nothing made.
	err := run(ctx, append([]string{"keys", "list", "--data", dir}, flags("shc-kek")...), &out, &out)
	if err == nil || !strings.Contains(err.Error(), "init-kek") {
		t.Fatalf("keys list before init-kek: %v", err)
	}
	if err := run(ctx, append([]string{"keys", "init-kek"}, flags("shc-kek")...), &out, &out); err != nil || !strings.Contains(out.String(), "generated AES-256 KEK") {
		t.Fatalf("init-kek: %v %s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, append([]string{"keys", "init-kek"}, flags("shc-kek")...), &out, &out); err != nil || !strings.Contains(out.String(), "already holds") {
		t.Fatalf("init-kek again: %v %s", err, out.String())
	}
	if err := run(ctx, append([]string{"keys", "init-kek"}, flags("shc-kek-other")...), &out, &out); err != nil {
		t.Fatal(err)
	}
	// A PIN given as a flag does not exist.
	if err := run(ctx, append([]string{"keys", "list", "--data", dir, "--kek-pkcs11-pin", tok.PIN}, flags("shc-kek")...), &out, &out); err == nil {
		t.Fatal("--kek-pkcs11-pin accepted")
	}
	c := startServe(t, dir, append(flags("shc-kek"), "--no-sample")...)
	kid := c.issueKid()
	out.Reset()
	if err := run(ctx, append([]string{"keys", "rotate", "--data", dir}, flags("shc-kek")...), &out, &out); err != nil {
		t.Fatal(err)
	}
	rotated := strings.TrimSpace(out.String())
	out.Reset()
	if err := run(ctx, append([]string{"keys", "list", "--data", dir}, flags("shc-kek")...), &out, &out); err != nil ||
		!strings.Contains(out.String(), kid+"\tpublished") || !strings.Contains(out.String(), rotated+"\tactive") {
		t.Fatalf("keys list: %v\n%s", err, out.String())
	}
	// Another token key is refused before it could seal anything.
	err = run(ctx, append([]string{"keys", "rotate", "--data", dir}, flags("shc-kek-other")...), &out, &out)
	if !errors.Is(err, keydb.ErrWrongKEK) && !strings.Contains(fmt.Sprint(err), "wrong_kek") {
		t.Fatalf("another token key: %v, want wrong_kek", err)
	}
	// The token KEK and a KEK file are two places for one key.
	if err := run(ctx, append([]string{"keys", "list", "--data", dir, "--kek-file", filepath.Join(dir, "x")}, flags("shc-kek")...), &out, &out); err == nil || !strings.Contains(err.Error(), "choose one") {
		t.Fatalf("--kek-file with --kek-pkcs11-module: %v", err)
	}
}
