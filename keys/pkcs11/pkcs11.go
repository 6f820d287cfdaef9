package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"

	"github.com/ThalesGroup/crypto11"

	"github.com/healthcards/healthcards/keys"
)

// Config selects a token. Exactly one of TokenLabel and Slot must be set.
type Config struct {
	// Module is the path of the PKCS#11 module, for example
	// /usr/lib/softhsm/libsofthsm2.so. Required.
	Module string
	// TokenLabel selects the token by label.
	TokenLabel string
	// Slot selects the token by slot number.
	Slot *int
	// PIN is the user PIN. Required. It is never printed (see String).
	PIN string
}

// String describes the configuration without the PIN.
func (c Config) String() string {
	slot := "<none>"
	if c.Slot != nil {
		slot = fmt.Sprint(*c.Slot)
	}
	return fmt.Sprintf("pkcs11.Config{Module:%q TokenLabel:%q Slot:%s PIN:<redacted>}", c.Module, c.TokenLabel, slot)
}

// GoString is String, so %#v does not print the PIN either.
func (c Config) GoString() string { return c.String() }

// LogValue logs the configuration without the PIN.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("module", c.Module), slog.String("token_label", c.TokenLabel))
}

// Token is an open PKCS#11 session pool on one token. Close it when done.
type Token struct {
	ctx *crypto11.Context
}

func tokenErr(msg string, err error) error {
	return &keys.Error{Code: keys.CodeToken, Msg: msg, Err: err}
}

// Open logs in to the token described by cfg.
func Open(cfg Config) (*Token, error) {
	if cfg.Module == "" {
		return nil, tokenErr("no PKCS#11 module path", nil)
	}
	if (cfg.TokenLabel == "") == (cfg.Slot == nil) {
		return nil, tokenErr("set exactly one of TokenLabel and Slot", nil)
	}
	if cfg.PIN == "" {
		return nil, tokenErr("no PIN", nil)
	}
	ctx, err := crypto11.Configure(&crypto11.Config{
		Path:       cfg.Module,
		TokenLabel: cfg.TokenLabel,
		SlotNumber: cfg.Slot,
		Pin:        cfg.PIN,
	})
	if err != nil {
		// crypto11 errors name the module and token, never the PIN.
		return nil, tokenErr("opening token", err)
	}
	return &Token{ctx: ctx}, nil
}

// Close releases the token.
func (t *Token) Close() error {
	if err := t.ctx.Close(); err != nil {
		return tokenErr("closing token", err)
	}
	return nil
}

// FindKey returns the Signer for the key pair labelled label. It fails with
// keys.ErrKeyNotFound when there is none, keys.ErrAmbiguousKey when several
// key pairs share the label, and keys.ErrUnsupportedKey for anything but
// ECDSA P-256 (KEY-1).
func (t *Token) FindKey(label string) (*Signer, error) {
	if label == "" {
		return nil, &keys.Error{Code: keys.CodeKeyNotFound, Msg: "empty key label"}
	}
	found, err := t.ctx.FindKeyPairs(nil, []byte(label))
	if err != nil {
		return nil, tokenErr("searching key pairs", err)
	}
	switch len(found) {
	case 0:
		return nil, &keys.Error{Code: keys.CodeKeyNotFound, Msg: fmt.Sprintf("no key pair labelled %q on the token", label)}
	case 1:
		return newSigner(found[0])
	default:
		return nil, &keys.Error{Code: keys.CodeAmbiguousKey, Msg: fmt.Sprintf("%d key pairs are labelled %q", len(found), label)}
	}
}

// FindOrGenerateKey returns the key pair labelled label, generating a new
// non-extractable P-256 pair on the token when there is none. created
// reports whether a key was generated.
func (t *Token) FindOrGenerateKey(label string) (s *Signer, created bool, err error) {
	s, err = t.FindKey(label)
	if keys.CodeOf(err) != keys.CodeKeyNotFound || label == "" {
		return s, false, err
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, false, tokenErr("random key id", err)
	}
	k, err := t.ctx.GenerateECDSAKeyPairWithLabel(id, []byte(label), elliptic.P256())
	if err != nil {
		return nil, false, tokenErr("generating P-256 key pair", err)
	}
	s, err = newSigner(k)
	return s, err == nil, err
}

// Signer is a key held by the token. It implements keys.Signer; signing
// happens on the token and the private key never leaves it.
type Signer struct {
	s   crypto11.Signer
	pub *ecdsa.PublicKey
	kid string
}

var _ keys.Signer = (*Signer)(nil)

func newSigner(s crypto11.Signer) (*Signer, error) {
	pub, ok := s.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, &keys.Error{Code: keys.CodeUnsupportedKey, Msg: "token key is not ECDSA P-256 (KEY-1)"}
	}
	kid, err := keys.Thumbprint(pub)
	if err != nil {
		return nil, &keys.Error{Code: keys.CodeUnsupportedKey, Err: err}
	}
	return &Signer{s: s, pub: pub, kid: kid}, nil
}

// KeyID returns the RFC 7638 thumbprint of the public key.
func (s *Signer) KeyID() string { return s.kid }

// Public returns the *ecdsa.PublicKey.
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Sign signs a SHA-256 digest on the token and returns an ASN.1 DER ECDSA
// signature (crypto.Signer contract). Other hashes are refused.
func (s *Signer) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if err := keys.CheckES256Digest(digest, opts); err != nil {
		return nil, err
	}
	sig, err := s.s.Sign(rand, digest, opts)
	if err != nil {
		return nil, tokenErr("signing", err)
	}
	return sig, nil
}

// String names the key by kid.
func (s *Signer) String() string { return "pkcs11.Signer{kid:" + s.kid + "}" }

// LogValue logs the kid only.
func (s *Signer) LogValue() slog.Value { return slog.GroupValue(slog.String("kid", s.kid)) }
