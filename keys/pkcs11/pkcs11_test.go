package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/keys"
)

const (
	testPIN   = "1234"
	testToken = "healthcards-test"
)

// softHSMModules are the usual install paths of the SoftHSM2 module;
// SOFTHSM2_MODULE overrides them.
var softHSMModules = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
	"/opt/homebrew/lib/softhsm/libsofthsm2.so",
}

// softHSM initialises a fresh SoftHSM2 token in a temporary directory and
// returns its Config. It skips when SoftHSM2 is not installed, unless
// CI=true, where a missing SoftHSM2 fails the test.
func softHSM(t *testing.T) Config {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		msg := "SoftHSM2 not available (" + what + "); install it with: apt-get install -y softhsm2"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: this test must run)")
		}
		t.Skip(msg)
	}
	candidates := softHSMModules
	if env := os.Getenv("SOFTHSM2_MODULE"); env != "" {
		candidates = []string{env}
	}
	module := ""
	for _, m := range candidates {
		if _, err := os.Stat(m); err == nil {
			module = m
			break
		}
	}
	if module == "" {
		missing("libsofthsm2.so not found")
	}
	util, err := exec.LookPath("softhsm2-util")
	if err != nil {
		missing("softhsm2-util not in PATH")
	}

	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	out, err := exec.Command(util, "--init-token", "--free", "--label", testToken, "--pin", testPIN, "--so-pin", "5678").CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	return Config{Module: module, TokenLabel: testToken, PIN: testPIN}
}

func open(t *testing.T, cfg Config) *Token {
	t.Helper()
	tok, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func verifies(t *testing.T, s crypto.Signer) {
	t.Helper()
	digest := sha256.Sum256([]byte("shc"))
	sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), digest[:], sig) {
		t.Fatal("token signature does not verify with the public key")
	}
}

// One test function: SoftHSM reads SOFTHSM2_CONF once per module load, so
// the subtests share one token.
func TestSoftHSM(t *testing.T) {
	cfg := softHSM(t)
	tok := open(t, cfg)

	s, created, err := tok.FindOrGenerateKey("shc-issuer-1")
	if err != nil || !created {
		t.Fatalf("FindOrGenerateKey: created=%v err=%v", created, err)
	}
	pub := s.Public().(*ecdsa.PublicKey)
	if pub.Curve != elliptic.P256() {
		t.Fatal("generated key is not P-256 (KEY-1)")
	}
	kid, _ := keys.Thumbprint(pub)
	if s.KeyID() != kid {
		t.Fatalf("KeyID %s, want thumbprint %s", s.KeyID(), kid)
	}
	verifies(t, s)

	t.Run("find again", func(t *testing.T) {
		again, created, err := tok.FindOrGenerateKey("shc-issuer-1")
		if err != nil || created || again.KeyID() != kid {
			t.Fatalf("second call: %v created=%v err=%v", again, created, err)
		}
	})
	t.Run("missing label", func(t *testing.T) {
		_, err := tok.FindKey("nope")
		if !errors.Is(err, keys.ErrKeyNotFound) {
			t.Fatalf("got %v, want key_not_found", err)
		}
	})
	t.Run("ambiguous label", func(t *testing.T) {
		for _, id := range []string{"a", "b"} {
			if _, err := tok.ctx.GenerateECDSAKeyPairWithLabel([]byte(id), []byte("dup"), elliptic.P256()); err != nil {
				t.Fatal(err)
			}
		}
		_, err := tok.FindKey("dup")
		if !errors.Is(err, keys.ErrAmbiguousKey) {
			t.Fatalf("got %v, want ambiguous_key", err)
		}
	})
	t.Run("P-384 refused KEY-1", func(t *testing.T) {
		if _, err := tok.ctx.GenerateECDSAKeyPairWithLabel([]byte("c"), []byte("p384"), elliptic.P384()); err != nil {
			t.Fatal(err)
		}
		_, err := tok.FindKey("p384")
		if !errors.Is(err, keys.ErrUnsupportedKey) {
			t.Fatalf("got %v, want unsupported_key", err)
		}
	})
	t.Run("SHA-384 refused", func(t *testing.T) {
		_, err := s.Sign(rand.Reader, make([]byte, 48), crypto.SHA384)
		if !errors.Is(err, keys.ErrSign) {
			t.Fatalf("got %v, want sign_failed", err)
		}
	})
	t.Run("no PIN in output", func(t *testing.T) {
		c := cfg
		c.PIN = "s3cr3t-pin"
		for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
			if out := fmt.Sprintf(f, c); strings.Contains(out, c.PIN) {
				t.Fatalf("%s prints the PIN: %s", f, out)
			}
		}
	})

	if err := tok.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("persists across reopen", func(t *testing.T) {
		tok := open(t, cfg)
		defer tok.Close()
		s2, err := tok.FindKey("shc-issuer-1")
		if err != nil || s2.KeyID() != kid {
			t.Fatalf("after reopen: %v %v", s2, err)
		}
		verifies(t, s2)
	})
	t.Run("wrong PIN", func(t *testing.T) {
		c := cfg
		c.PIN = "0000"
		tok, err := Open(c)
		if err == nil {
			tok.Close()
			t.Fatal("wrong PIN accepted")
		}
		if !errors.Is(err, keys.ErrToken) || strings.Contains(err.Error(), "0000") {
			t.Fatalf("wrong PIN error: %v", err)
		}
	})
	t.Run("bad config", func(t *testing.T) {
		for _, c := range []Config{{}, {Module: cfg.Module, PIN: "1"}, {Module: cfg.Module, TokenLabel: "x"}} {
			if _, err := Open(c); !errors.Is(err, keys.ErrToken) {
				t.Fatalf("Open(%v) = %v, want token_error", c, err)
			}
		}
	})
}
