package service

import (
	"context"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/keydb"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/postgres"
	"github.com/healthcards/healthcards/issuer/store/sqlite"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/keys/pkcs11"
)

// DataDir is the service's data directory: keys/ (the ring), store/ (SQLite),
// links.db, rid-secret, shl-location-secret, tls/ and, in development,
// keys.passphrase and development-token.
type DataDir string

// Path joins p to the directory.
func (d DataDir) Path(p ...string) string { return filepath.Join(append([]string{string(d)}, p...)...) }

// OpenStore opens the issuer store: SQLite under DIR/store, or PostgreSQL
// at dsn when kind is "postgres".
func OpenStore(ctx context.Context, dir, kind, dsn string) (store.Store, error) {
	switch kind {
	case "", "sqlite":
		return sqlite.Open(ctx, DataDir(dir).Path("store"))
	case "postgres":
		if dsn == "" {
			return nil, configErr("--store postgres needs --postgres-dsn")
		}
		return postgres.Open(ctx, dsn)
	}
	return nil, configErr("--store must be sqlite or postgres")
}

// OpenKeyDB opens the key ring kept in the database (package issuer/keydb)
// under the KEK in kekFile: in PostgreSQL at dsn when kind is "postgres",
// else in DIR/keyring.db.
func OpenKeyDB(ctx context.Context, dir, kind, dsn, kekFile string) (*keydb.Store, error) {
	return OpenKeyDBWith(ctx, dir, kind, dsn, KEKSource{File: kekFile})
}

// KEKToken names an AES-256 key in a PKCS#11 token that is the KEK
// (--kek-pkcs11-module, --kek-pkcs11-token, --kek-pkcs11-key). The PIN
// comes from SHC_ISSUER_KEK_PKCS11_PIN (PIN) or a file (PINFile), never a
// flag.
type KEKToken struct {
	Module, Token, Key string
	PIN                []byte
	PINFile            string
}

// KEKSource says where the KEK is: a file, or a key in a token.
type KEKSource struct {
	File  string
	Token KEKToken
}

// Set reports whether a KEK was given.
func (k KEKSource) Set() bool { return k.File != "" || k.Token.Module != "" }

// Check refuses an incomplete or ambiguous KEK source.
func (k KEKSource) Check() error {
	t := k.Token
	if t.Module == "" {
		if t.Token != "" || t.Key != "" || t.PINFile != "" {
			return configErr("--kek-pkcs11-token, --kek-pkcs11-key and --kek-pkcs11-pin-file need --kek-pkcs11-module")
		}
		return nil
	}
	if k.File != "" {
		return configErr("--kek-file and --kek-pkcs11-module are two places for the KEK: choose one")
	}
	if t.Token == "" || t.Key == "" {
		return configErr("--kek-pkcs11-module needs --kek-pkcs11-token and --kek-pkcs11-key")
	}
	if len(t.PIN) == 0 && t.PINFile == "" {
		return configErr("--kek-pkcs11-module needs the PIN in SHC_ISSUER_KEK_PKCS11_PIN or --kek-pkcs11-pin-file")
	}
	return nil
}

// maxPINFile bounds a PIN file read.
const maxPINFile = 1024

func (t KEKToken) pin() (string, error) {
	if len(t.PIN) > 0 {
		return strings.TrimSpace(string(t.PIN)), nil
	}
	f, err := os.Open(t.PINFile)
	if err != nil {
		return "", fmt.Errorf("reading --kek-pkcs11-pin-file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPINFile+1))
	defer clear(b)
	if err != nil || len(b) > maxPINFile {
		return "", configErr("--kek-pkcs11-pin-file %s is unreadable or too large", t.PINFile)
	}
	return strings.TrimSpace(string(b)), nil
}

// OpenKEK opens the KEK. With a token, generate (keys init-kek) makes the
// AES-256 key on the token when it has none; created says it did. The
// returned close releases the token session (a no-op for a file); call it
// once the KEK is no longer used.
func OpenKEK(src KEKSource, generate bool) (kek *keydb.KEK, closeFn func() error, created bool, err error) {
	if err := src.Check(); err != nil {
		return nil, nil, false, err
	}
	if src.Token.Module == "" {
		if src.File == "" {
			return nil, nil, false, configErr("no KEK: set --kek-file or --kek-pkcs11-module")
		}
		kek, err := keydb.LoadKEKFile(src.File)
		return kek, func() error { return nil }, false, err
	}
	pin, err := src.Token.pin()
	if err != nil {
		return nil, nil, false, err
	}
	tok, err := pkcs11.Open(pkcs11.Config{Module: src.Token.Module, TokenLabel: src.Token.Token, PIN: pin})
	if err != nil {
		return nil, nil, false, err
	}
	var once sync.Once
	closeFn = func() error {
		var err error
		once.Do(func() { err = tok.Close() })
		return err
	}
	var k *pkcs11.AESKey
	if generate {
		k, created, err = tok.FindOrGenerateAESKey(src.Token.Key)
	} else {
		k, err = tok.FindAESKey(src.Token.Key)
		if keys.CodeOf(err) == keys.CodeKeyNotFound {
			err = configErr("the token has no AES key labelled %q: make it with 'shc-issuer keys init-kek' (same --kek-pkcs11-* flags)", src.Token.Key)
		}
	}
	if err == nil {
		var a cipher.AEAD
		if a, err = k.AEAD(); err == nil {
			kek, err = keydb.NewTokenKEK(a)
		}
	}
	if err != nil {
		closeFn()
		return nil, nil, false, err
	}
	return kek, closeFn, created, nil
}

// OpenKeyDBWith is OpenKeyDB with the KEK from a file or a token; closing
// the Store closes the token session.
func OpenKeyDBWith(ctx context.Context, dir, kind, dsn string, src KEKSource) (*keydb.Store, error) {
	switch kind {
	case "", "sqlite", "postgres":
	default:
		return nil, configErr("--store must be sqlite or postgres")
	}
	if kind == "postgres" && dsn == "" {
		return nil, configErr("--store postgres needs --postgres-dsn")
	}
	kek, closeKEK, _, err := OpenKEK(src, false)
	if err != nil {
		return nil, err
	}
	var kdb *keydb.Store
	if kind == "postgres" {
		kdb, err = keydb.OpenPostgres(ctx, dsn, kek, keydb.WithOnClose(closeKEK))
	} else {
		kdb, err = keydb.OpenSQLite(ctx, dir, kek, keydb.WithOnClose(closeKEK))
	}
	if err != nil {
		closeKEK()
		return nil, err
	}
	return kdb, nil
}

// Passphrase returns the key ring passphrase: pass when set, else the
// content of file when set, else (development) DIR/keys.passphrase,
// generated (0600) on first use. The caller clears the result.
func Passphrase(dir string, pass []byte, file string) ([]byte, error) {
	if len(pass) > 0 {
		if len(pass) < minPassphrase {
			return nil, configErr("SHC_ISSUER_KEY_PASSPHRASE is shorter than %d characters", minPassphrase)
		}
		return append([]byte(nil), pass...), nil
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--key-passphrase-file: %w", err)
		}
		p := []byte(strings.TrimSpace(string(b)))
		clear(b)
		if len(p) < minPassphrase {
			return nil, configErr("--key-passphrase-file %s: the passphrase is shorter than %d characters", file, minPassphrase)
		}
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s, err := secretFile(DataDir(dir).Path("keys.passphrase"))
	return []byte(s), err
}

// minPassphrase is the shortest key passphrase accepted from an operator.
const minPassphrase = 16

// OpenRing opens the key ring DIR/keys, for the key commands.
func OpenRing(dir string, pass []byte, opts ...keys.RingOption) (*keys.Ring, error) {
	return keys.OpenRing(DataDir(dir).Path("keys"), pass, opts...)
}

// secretFile reads a generated secret file, creating it (0600) if absent.
func secretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if len(s) < 32 {
			return "", fmt.Errorf("%s is too short", path)
		}
		return s, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	s, err := issuer.NewRIDSecret() // 32 random bytes, base64url
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	return s, f.Close()
}

// writeSecret replaces path with secret (0600), atomically.
func writeSecret(path, secret string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(secret + "\n"); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// devCertificate returns a self-signed certificate for localhost and
// 127.0.0.1 kept in DIR/tls (key 0600), creating it on first use.
func devCertificate(d DataDir) (certFile, keyFile string, err error) {
	certFile, keyFile = d.Path("tls", "cert.pem"), d.Path("tls", "key.pem")
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil {
		return certFile, keyFile, nil
	}
	if err := os.MkdirAll(d.Path("tls"), 0o700); err != nil {
		return "", "", err
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "shc-issuer development"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return "", "", err
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}
