package service

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/keydb"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/postgres"
	"github.com/healthcards/healthcards/issuer/store/sqlite"
	"github.com/healthcards/healthcards/keys"
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
	kek, err := keydb.LoadKEKFile(kekFile)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "", "sqlite":
		return keydb.OpenSQLite(ctx, dir, kek)
	case "postgres":
		if dsn == "" {
			return nil, configErr("--store postgres needs --postgres-dsn")
		}
		return keydb.OpenPostgres(ctx, dsn, kek)
	}
	return nil, configErr("--store must be sqlite or postgres")
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
