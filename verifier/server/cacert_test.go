package server_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/verifier/server"
	"github.com/healthcards/healthcards/verifier/server/servertest"
)

// --ca-cert lets the service fetch keys from an issuer whose TLS
// certificate is not in the system roots (a development issuer); without
// it the same card cannot be verified.
func TestCACertTrustsDevelopmentIssuer(t *testing.T) {
	is := servertest.NewIssuer(t, "Dev Lab")
	card := is.Card(t, nil, "")
	certFile := filepath.Join(t.TempDir(), "issuer.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: is.Server.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	verdict := func(extra ...string) string {
		t.Helper()
		o := server.DefaultOptions()
		o.Listen, o.TrustedIssuers, o.AllowPrivate, o.RateLimit, o.CACerts = "127.0.0.1:0", []string{is.URL}, true, -1, extra
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		addr := make(chan net.Addr, 1)
		done := make(chan error, 1)
		go func() {
			done <- server.Run(ctx, o, slog.New(slog.NewTextHandler(io.Discard, nil)), func(a net.Addr) { addr <- a })
		}()
		var base string
		select {
		case a := <-addr:
			base = "http://" + a.String()
		case err := <-done:
			t.Fatalf("Run: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("service did not start")
		}
		body, _ := json.Marshal(map[string]string{"input": card})
		resp, err := http.Post(base+"/v1/verify", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Verdict string `json:"verdict"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out.Verdict
	}
	if v := verdict(certFile); v != "verified" {
		t.Errorf("with --ca-cert: verdict %q, want verified", v)
	}
	if v := verdict(); v == "verified" {
		t.Errorf("without --ca-cert the issuer's self-signed certificate must not be trusted, got %q", v)
	}
	o := server.DefaultOptions()
	o.CACerts, o.Listen = []string{"/dev/null"}, "127.0.0.1:0"
	if err := o.Validate(); err != nil {
		t.Fatalf("Validate should accept the option and Run fail at start: %v", err)
	}
	if err := server.Run(context.Background(), o, slog.New(slog.NewTextHandler(io.Discard, nil)), nil); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("empty --ca-cert file: err = %v", err)
	}
}
