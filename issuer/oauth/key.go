package oauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// NewKeyJWK makes a new token-signing key (P-256, ES256) as a private JWK,
// the form KeyFromJWK reads and keydb seals (SecretName).
func NewKeyJWK() (string, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	jwk := jose.JSONWebKey{Key: k, Algorithm: string(jose.ES256), Use: "sig"}
	b, err := jwk.MarshalJSON()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// SecretName is the keydb secret that holds the token-signing key of
// replicas (issuer/keydb Store.Secret).
const SecretName = "oauth-signing-key"

// KeyFile is the file in a data directory holding the token-signing key
// of a single process (0600).
const KeyFile = "oauth-signing-key.jwk"

// KeyFromJWK reads a private P-256 JWK.
func KeyFromJWK(s string) (*ecdsa.PrivateKey, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON([]byte(strings.TrimSpace(s))); err != nil {
		return nil, errors.New("oauth: the token-signing key is not a JWK")
	}
	k, ok := jwk.Key.(*ecdsa.PrivateKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, errors.New("oauth: the token-signing key is not a private P-256 key")
	}
	return k, nil
}

// KeyFromFile reads the token-signing key from path, creating it (0600,
// in a 0700 directory) when it does not exist. A file readable by group
// or others is refused.
func KeyFromFile(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		s, err := NewKeyJWK()
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return KeyFromFile(path) // another process made it first
		}
		if err != nil {
			return nil, err
		}
		if _, err := f.WriteString(s + "\n"); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		return KeyFromJWK(s)
	}
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("oauth: %s is readable by group or others; chmod 600 it", path)
	}
	return KeyFromJWK(string(b))
}

// signingKey is the server's one key, pinned to ES256.
type signingKey struct {
	priv *ecdsa.PrivateKey
	kid  string
}

func newSigningKey(k *ecdsa.PrivateKey) (signingKey, error) {
	if k.Curve != elliptic.P256() {
		return signingKey{}, errors.New("oauth: the token-signing key must be P-256")
	}
	pub := jose.JSONWebKey{Key: &k.PublicKey}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return signingKey{}, err
	}
	return signingKey{priv: k, kid: base64.RawURLEncoding.EncodeToString(tp)}, nil
}

// KeyID is the RFC 7638 thumbprint of a token-signing key: the kid of
// every token it signs.
func KeyID(k *ecdsa.PrivateKey) (string, error) {
	sk, err := newSigningKey(k)
	return sk.kid, err
}

// PublicJWK is the public part of a token-signing key, as served at
// JWKSPath; issuer/auth verifies the server's tokens with it in process.
func PublicJWK(k *ecdsa.PrivateKey) (jose.JSONWebKey, error) {
	sk, err := newSigningKey(k)
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	return jose.JSONWebKey{Key: &k.PublicKey, KeyID: sk.kid, Algorithm: string(jose.ES256), Use: "sig"}, nil
}

var _ op.SigningKey = signingKey{}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k signingKey) Key() any                                    { return k.priv }
func (k signingKey) ID() string                                  { return k.kid }

// publicKey is the op.Key of the key set.
type publicKey struct{ k signingKey }

func (p publicKey) ID() string                         { return p.k.kid }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.priv.PublicKey }
