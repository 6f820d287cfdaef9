package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/verifier"
	"github.com/healthcards/healthcards/verifier/server"
	"github.com/healthcards/healthcards/verifier/server/servertest"
)

// addressLike: an IPv4 address, a bracketed IPv6 address, or host:port.
var addressLike = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b|\[[0-9a-fA-F:]+\]|\b[A-Za-z][A-Za-z0-9.-]*:\d{2,5}\b`)

// TestVerifyAnswer_FetchFailureNamesNoAddress (issue 10): when the
// issuer's key set cannot be fetched — its address is private, or nothing
// answers — the answer to the unauthenticated caller says so in plain words
// and names no IP address or host:port (no internal address, resolver or
// DNS answer); the cause goes to the server log.
func TestVerifyAnswer_FetchFailureNamesNoAddress(t *testing.T) {
	is := servertest.NewIssuer(t, "Test Lab")
	card := is.Card(t, nil, "")
	down := servertest.NewIssuer(t, "Gone Lab")
	downCard := down.Card(t, nil, "")
	down.Server.Close() // connection refused from now on

	for name, tc := range map[string]struct {
		card string
		opts []verifier.Option
	}{
		// The default guard refuses the loopback issuer.
		"private address": {card, []verifier.Option{verifier.WithTrustedIssuers(is.URL)}},
		// Allowed to reach loopback, but nothing listens any more.
		"unreachable": {downCard, []verifier.Option{verifier.WithTrustedIssuers(down.URL), verifier.WithPrivateOrigins(down.URL)}},
	} {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			trust, err := server.NewTrust(context.Background(), server.TrustConfig{Options: tc.opts, Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			srv, err := server.New(server.Config{Verifier: trust, Ready: trust.Ready, Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			url := serve(t, srv)
			body, _ := json.Marshal(map[string]string{"input": tc.card})
			resp, err := http.Post(url+"/v1/verify", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Contains(raw, []byte(`"issuer_unreachable"`)) || !bytes.Contains(raw, []byte("the issuer's key set could not be fetched")) {
				t.Fatalf("answer %d: %s", resp.StatusCode, raw)
			}
			if m := addressLike.Find(raw); m != nil {
				t.Fatalf("answer names an address (%s): %s", m, raw)
			}
			if !strings.Contains(logs.String(), `"msg":"fetch failed"`) || !strings.Contains(logs.String(), "/.well-known/jwks.json: ") {
				t.Fatalf("the cause was not logged: %s", logs.String())
			}
		})
	}
}
