package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/healthcards/healthcards/issuer/oauth"
)

// The built-in authorization server's signing key: in DIR (0600) for one
// process, the same at every start; with a KEK sealed in the database
// (created once, read back by every replica) and never in DIR.
func TestOAuthKeyPlaces(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := &Service{dir: DataDir(dir)}
	k1, err := s.oauthKey(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, oauth.KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	k2, err := s.oauthKey(ctx, nil)
	if err != nil || !k1.Equal(k2) {
		t.Fatalf("a second start got another key (%v)", err)
	}
	if err := os.Chmod(filepath.Join(dir, oauth.KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.oauthKey(ctx, nil); err == nil {
		t.Fatal("a key file readable by others was accepted")
	}

	kdir := t.TempDir()
	kek := filepath.Join(t.TempDir(), "kek")
	b := make([]byte, 32)
	rand.Read(b)
	if err := os.WriteFile(kek, []byte(base64.StdEncoding.EncodeToString(b)), 0o600); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for range 2 { // two replicas (here: two opens of one key database)
		kdb, err := OpenKeyDBWith(ctx, kdir, "sqlite", "", KEKSource{File: kek})
		if err != nil {
			t.Fatal(err)
		}
		s := &Service{dir: DataDir(kdir)}
		k, err := s.oauthKey(ctx, kdb)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := oauth.KeyID(k)
		keys = append(keys, id)
		if ok, err := kdb.HasSecret(ctx, oauth.SecretName); !ok || err != nil {
			t.Fatalf("the key is not sealed in the database: %v %v", ok, err)
		}
		kdb.Close()
	}
	if keys[0] != keys[1] {
		t.Fatalf("replicas got different keys: %v", keys)
	}
	if _, err := os.Stat(filepath.Join(kdir, oauth.KeyFile)); !os.IsNotExist(err) {
		t.Fatalf("with a KEK the key must not be in DIR: %v", err)
	}
}
