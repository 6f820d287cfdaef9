package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/healthcards/healthcards/examples/bundles"
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
