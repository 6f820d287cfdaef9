// Package softhsmtest gives tests a fresh SoftHSM2 token (Debian package
// softhsm2) to exercise PKCS#11 signing without hardware.
package softhsmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Token is an initialised SoftHSM2 token.
type Token struct {
	Module string // path of libsofthsm2.so
	Label  string
	PIN    string
}

// Label and PIN of every token this package makes.
const (
	TokenLabel = "healthcards-test"
	TokenPIN   = "1234"
)

// modules are the usual install paths of the SoftHSM2 module;
// SOFTHSM2_MODULE overrides them.
var modules = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
	"/opt/homebrew/lib/softhsm/libsofthsm2.so",
}

// New initialises a fresh token in a temporary directory and points
// SOFTHSM2_CONF at it (SoftHSM reads it once per process, when the module
// is first loaded: use one token per test process). It skips when SoftHSM2
// is not installed, unless CI=true, where a missing SoftHSM2 fails.
func New(t testing.TB) Token {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		msg := "SoftHSM2 not available (" + what + "); install it with: apt-get install -y softhsm2"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: this test must run)")
		}
		t.Skip(msg)
	}
	candidates := modules
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
	out, err := exec.Command(util, "--init-token", "--free", "--label", TokenLabel, "--pin", TokenPIN, "--so-pin", "5678").CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	return Token{Module: module, Label: TokenLabel, PIN: TokenPIN}
}
