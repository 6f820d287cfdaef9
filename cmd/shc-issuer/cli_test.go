package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/keys"
)

// Every command and subcommand prints the usage on stdout with -h and
// succeeds (exit 0), without touching a data directory.
func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"serve", "-h"}, {"serve", "--help"},
		{"serve", "--production", "-h"}, {"tokens", "-h"}, {"tokens", "create", "-h"}, {"tokens", "revoke", "-h"},
		{"keys", "-h"}, {"keys", "rotate", "--help"}, {"keys", "retire", "-h"}, {"migrate-keys", "-h"}, {"keys", "rotate", "--kek-file", "k", "-h"}} {
		dir := t.TempDir()
		t.Chdir(dir)
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if !strings.Contains(out.String(), "Usage:\n  shc-issuer serve [flags]") || errOut.Len() != 0 {
			t.Fatalf("%q: stdout %q, stderr %q", args, out.String(), errOut.String())
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("%q created %v", args, entries)
		}
	}
}

// tokens revoke: the revoked token is refused by a running service at its
// next request, list shows it revoked, and unknown ids are an error.
func TestTokensRevoke(t *testing.T) {
	dir := t.TempDir()
	c := startServe(t, dir, "--no-sample")
	if code, b, err := c.do("POST", "/v1/revocations", []byte(`{"rid":"AAAAAAAAAAA","reason":"test"}`)); err != nil || code != http.StatusOK {
		t.Fatalf("with the development token: %d %v %s", code, err, b)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"tokens", "list", "--data", dir}, &out, &out); err != nil {
		t.Fatal(err)
	}
	id, _, _ := strings.Cut(out.String(), "\t")
	if id == "" || !strings.Contains(out.String(), "\tactive\tdevelopment") {
		t.Fatalf("tokens list: %q", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"tokens", "revoke", id, "--data", dir}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if code, _, err := c.do("POST", "/v1/revocations", []byte(`{"rid":"AAAAAAAAAAA","reason":"test"}`)); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d %v, want 401", code, err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"tokens", "list", "--data", dir}, &out, &out); err != nil || !strings.Contains(out.String(), id+"\t") || !strings.Contains(out.String(), "\trevoked\t") {
		t.Fatalf("tokens list after revoke: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"tokens", "revoke", "nosuchtoken", "--data", dir}, &out, &out); err == nil || !strings.Contains(err.Error(), "no token") {
		t.Fatalf("unknown id: %v", err)
	}
	var ue usageError
	if err := run(context.Background(), []string{"tokens", "revoke", "--data", dir}, &out, &out); !errors.As(err, &ue) {
		t.Fatalf("revoke without an id: %v", err)
	}
}

// A busy --listen fails with an error naming the flag and generates
// nothing; the development token is kept in DIR/development-token (0600)
// and printed again at every development start while it is active.
func TestDevelopmentTokenSurvivesFailedStart(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var out bytes.Buffer
	err = run(context.Background(), []string{"serve", "--data", dir, "--listen", busy.Addr().String(), "--verifier-listen", "off"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "--listen "+busy.Addr().String()) {
		t.Fatalf("busy port: %v", err)
	}

	first := startServe(t, dir, "--no-sample")
	tok := first.token
	st, err := os.Stat(filepath.Join(dir, "development-token"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("development-token: %v %v", st, err)
	}
	second := startServe(t, dir, "--no-sample") // same data directory, another port
	if second.token != tok {
		t.Fatalf("second start printed %q, want the kept token %q", second.token, tok)
	}
	if code, _, err := second.do("GET", "/v1/cards/nosuchcard.jws", nil); err != nil || code == http.StatusUnauthorized {
		t.Fatalf("kept token refused: %d %v", code, err)
	}
}

// The companion verifier's busy address is named by its flag; the issuer
// keeps serving.
func TestBusyVerifierListenNamesFlag(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir, port := t.TempDir(), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data", dir, "--no-sample", "--listen", "127.0.0.1:" + port, "--verifier-listen", busy.Addr().String()}, &out, &logs)
	}()
	defer func() { cancel(); <-done }()
	end := time.Now().Add(startBound)
	for !strings.Contains(logs.String(), "--verifier-listen "+busy.Addr().String()) {
		select {
		case err := <-done:
			t.Fatalf("serve returned %v; logs %s", err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(end) {
			t.Fatalf("no warning naming --verifier-listen: %s", logs.String())
		}
	}
	newClient(t, dir, port, "").waitReady(startBound, nil)
}

// --production refusals: an http:// --auth-issuer, no key passphrase, a
// passphrase file inside --data, and a development token left in the data
// directory. A passphrase file elsewhere starts.
func TestProductionRefusals(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(outside, []byte("a long enough passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	inside := filepath.Join(dir, "pass")
	if err := os.WriteFile(inside, []byte("a long enough passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"tokens", "create", "--data", dir, "--scopes", "cards:issue"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	prod := []string{"serve", "--production", "--behind-tls-proxy", "--iss", "https://lab.example", "--data", dir, "--listen", "127.0.0.1:0", "--verifier-listen", "off"}
	for _, c := range []struct {
		name  string
		extra []string
		want  string
	}{
		{"http-auth-issuer", []string{"--key-passphrase-file", outside, "--auth-issuer", "http://auth.example"}, "https:// --auth-issuer"},
		{"no-passphrase", nil, "--key-passphrase-file"},
		{"passphrase-beside-keys", []string{"--key-passphrase-file", inside}, "inside --data"},
		{"passphrase-beside-keys-relative", []string{"--key-passphrase-file", filepath.Join(dir, "..", filepath.Base(dir), "pass")}, "inside --data"},
		{"trusted-proxy-not-cidr", []string{"--key-passphrase-file", outside, "--trusted-proxy", "10.0.0.10/32", "--trusted-proxy", "10.0.0.11"}, `--trusted-proxy: "10.0.0.11" is not a CIDR`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := run(context.Background(), append(append([]string{}, prod...), c.extra...), &out, &out)
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want a usage error with %q", err, c.want)
			}
		})
	}
	t.Run("trusted-proxy-environment", func(t *testing.T) {
		t.Setenv("SHC_ISSUER_TRUSTED_PROXY", "10.0.0.10/32, proxy.internal")
		err := run(context.Background(), append(append([]string{}, prod...), "--key-passphrase-file", outside), &out, &out)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), `"proxy.internal" is not a CIDR`) {
			t.Fatalf("err = %v, want a usage error naming the bad CIDR of SHC_ISSUER_TRUSTED_PROXY", err)
		}
	})
	t.Run("environment-passphrase-starts", func(t *testing.T) {
		t.Setenv(passphraseEnv, "a long enough passphrase")
		ctx, cancel := context.WithCancel(context.Background())
		var sout syncBuffer
		done := make(chan error, 1)
		go func() { done <- run(ctx, prod, &sout, &sout) }()
		end := time.Now().Add(startBound)
		for !strings.Contains(sout.String(), "shc-issuer: iss https://lab.example") {
			select {
			case err := <-done:
				cancel()
				t.Fatalf("production with SHC_ISSUER_KEY_PASSPHRASE: %v\n%s", err, sout.String())
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(end) {
				t.Fatalf("did not start: %s", sout.String())
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	})
	t.Run("development-token-left", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "development-token"), []byte("shcit_x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		err := run(context.Background(), append(append([]string{}, prod...), "--key-passphrase-file", outside), &out, &out)
		if err == nil || !strings.Contains(err.Error(), "development token") {
			t.Fatalf("err = %v", err)
		}
	})
}

// One run on the real work factor: a ring the command writes without the
// test hook uses keys.DefaultPBES2Count, and a ring written with the test
// work factor is refused by the shipped configuration.
func TestRealWorkFactor(t *testing.T) {
	saved := ringOptions
	defer func() { ringOptions = saved }()
	dir := t.TempDir()
	ringOptions = nil
	var out bytes.Buffer
	if err := run(context.Background(), []string{"keys", "rotate", "--data", dir}, &out, &out); err != nil {
		t.Fatal(err)
	}
	kid := strings.TrimSpace(out.String())
	data, err := os.ReadFile(filepath.Join(dir, "keys", kid+".jwk"))
	if err != nil {
		t.Fatal(err)
	}
	if p2c := jweP2C(t, data); p2c != keys.DefaultPBES2Count {
		t.Fatalf("p2c %d, want %d", p2c, keys.DefaultPBES2Count)
	}
	out.Reset()
	if err := run(context.Background(), []string{"keys", "list", "--data", dir}, &out, &out); err != nil || !strings.Contains(out.String(), kid+"\tactive") {
		t.Fatalf("read back at the real count: %v %q", err, out.String())
	}

	low := t.TempDir()
	ringOptions = saved
	if err := run(context.Background(), []string{"keys", "rotate", "--data", low}, &out, &out); err != nil {
		t.Fatal(err)
	}
	ringOptions = nil
	if err := run(context.Background(), []string{"keys", "list", "--data", low}, &out, &out); keys.CodeOf(err) != keys.CodeBadPBES2Count {
		t.Fatalf("a test-work-factor ring opened by the shipped configuration: %v, want %s", err, keys.CodeBadPBES2Count)
	}
}

func jweP2C(t *testing.T, jwe []byte) int {
	t.Helper()
	hdr, _, _ := strings.Cut(string(jwe), ".")
	b, err := base64.RawURLEncoding.DecodeString(hdr)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		P2C int `json:"p2c"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.P2C
}
