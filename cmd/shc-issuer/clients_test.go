package main

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/issuer/service"
)

// shc-issuer clients add|list|remove on a data directory: a public client
// (no secret), a confidential one (a secret shown once, kept hashed), bad
// redirect URIs refused as usage errors, removal.
func TestClientsCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cli := dataCLI(ctx, dir)
	var ue usageError
	for _, bad := range [][]string{
		{"clients", "add"},
		{"clients", "add", "--redirect-uri", "http://wallet.example/cb"},
		{"clients", "add", "--redirect-uri", "https://wallet.example/cb#frag"},
		{"clients", "add", "--redirect-uri", "https://*.example/cb"},
		{"clients", "add", "--redirect-uri", "org.example.wallet:/cb", "--confidential"},
		{"clients", "remove", "shcc_nobody"},
		{"clients", "frobnicate"},
	} {
		if _, err := cli(bad...); !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", bad, err)
		}
	}
	// RFC 8252, section 8.3: loopback by IP literal, never localhost.
	if _, err := cli("clients", "add", "--redirect-uri", "http://localhost:8080/callback"); !errors.As(err, &ue) ||
		!strings.Contains(err.Error(), "http://127.0.0.1") || !strings.Contains(err.Error(), "not localhost") {
		t.Errorf("a localhost redirect URI: %v", err)
	}
	out, err := cli("clients", "add", "--name", "My Wallet", "--redirect-uri", "http://127.0.0.1/callback", "--redirect-uri", "org.example.wallet:/cb")
	pub := regexp.MustCompile(`client_id: (shcc_\S+)`).FindStringSubmatch(out)
	if err != nil || pub == nil || strings.Contains(out, "client_secret") {
		t.Fatalf("add public: %v\n%s", err, out)
	}
	out, err = cli("clients", "add", "--name", "Portal", "--redirect-uri", "https://portal.example/cb", "--confidential")
	conf := regexp.MustCompile(`client_id: (shcc_\S+)`).FindStringSubmatch(out)
	secret := regexp.MustCompile(`client_secret: (shccs_\S+)`).FindStringSubmatch(out)
	if err != nil || conf == nil || secret == nil {
		t.Fatalf("add confidential: %v\n%s", err, out)
	}
	out, _ = cli("clients", "list")
	if !strings.Contains(out, pub[1]+"\tpublic\t") || !strings.Contains(out, conf[1]+"\tconfidential\t") || strings.Contains(out, secret[1]) {
		t.Fatalf("list:\n%s", out)
	}
	st, err := service.OpenOAuth(ctx, dir, "sqlite", "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.Client(ctx, conf[1])
	st.Close()
	if err != nil || !c.Confidential || c.RedirectURIs[0] != "https://portal.example/cb" {
		t.Fatalf("stored client: %+v %v", c, err)
	}
	if out, err := cli("clients", "remove", pub[1]); err != nil || !strings.Contains(out, "removed") {
		t.Fatalf("remove: %v %s", err, out)
	}
	if out, _ := cli("clients", "list"); strings.Contains(out, pub[1]) || !strings.Contains(out, conf[1]) {
		t.Fatalf("list after remove:\n%s", out)
	}
}
