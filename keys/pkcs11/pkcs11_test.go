package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ThalesGroup/crypto11"

	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/keys/pkcs11/softhsmtest"
)

const (
	testPIN   = softhsmtest.TokenPIN
	testToken = softhsmtest.TokenLabel
)

// softHSM returns the Config of a fresh SoftHSM2 token.
func softHSM(t *testing.T) Config {
	t.Helper()
	tok := softhsmtest.New(t)
	return Config{Module: tok.Module, TokenLabel: tok.Label, PIN: tok.PIN}
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

	t.Run("AES KEK", func(t *testing.T) {
		if _, err := tok.FindAESKey("kek"); !errors.Is(err, keys.ErrKeyNotFound) {
			t.Fatalf("missing AES key: %v, want key_not_found", err)
		}
		k, created, err := tok.FindOrGenerateAESKey("kek")
		if err != nil || !created {
			t.Fatalf("FindOrGenerateAESKey: created=%v err=%v", created, err)
		}
		g, err := k.AEAD()
		if err != nil {
			t.Fatal(err)
		}
		nonce := make([]byte, 12)
		rand.Read(nonce)
		ct := g.Seal(nil, nonce, []byte("data key"), []byte("aad"))
		if pt, err := g.Open(nil, nonce, ct, []byte("aad")); err != nil || string(pt) != "data key" {
			t.Fatalf("Open = %q, %v", pt, err)
		}
		if _, err := g.Open(nil, nonce, ct, []byte("other")); err == nil {
			t.Fatal("token GCM opened with the wrong aad")
		}
		again, created, err := tok.FindOrGenerateAESKey("kek")
		if err != nil || created {
			t.Fatalf("second call: created=%v err=%v", created, err)
		}
		g2, _ := again.AEAD()
		if pt, err := g2.Open(nil, nonce, ct, []byte("aad")); err != nil || string(pt) != "data key" {
			t.Fatalf("found again: Open = %q, %v", pt, err)
		}
		// An extractable key is refused: a KEK never leaves the token.
		tmpl, _ := crypto11.NewAttributeSetWithIDAndLabel([]byte("x"), []byte("leaky"))
		tmpl.Set(crypto11.CkaExtractable, true)
		tmpl.Set(crypto11.CkaSensitive, false)
		if _, err := tok.ctx.GenerateSecretKeyWithAttributes(tmpl, 256, crypto11.CipherAES); err != nil {
			t.Fatal(err)
		}
		if _, err := tok.FindAESKey("leaky"); !errors.Is(err, keys.ErrUnsupportedKey) {
			t.Fatalf("extractable key: %v, want unsupported_key", err)
		}
		if _, err := tok.ctx.GenerateSecretKeyWithLabel([]byte("y"), []byte("aes128"), 128, crypto11.CipherAES); err != nil {
			t.Fatal(err)
		}
		if _, err := tok.FindAESKey("aes128"); !errors.Is(err, keys.ErrUnsupportedKey) {
			t.Fatalf("AES-128 key: %v, want unsupported_key", err)
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
