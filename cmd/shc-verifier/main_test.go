package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/verifier/server"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseOptions(t *testing.T) {
	o, err := parseOptions(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Listen != "127.0.0.1:8080" || !o.AnyIssuer() || o.Revocation != "required" || o.MaxBody != server.DefaultMaxBodyBytes ||
		o.RevocationMaxAge != 5*time.Minute {
		t.Errorf("defaults: %+v", o)
	}

	o, err = parseOptions([]string{"--listen", ":9000", "--trust", "a.json", "--trust", "https://x.example/d.json",
		"--leeway", "1m", "--revocation", "best-effort", "--rate-limit", "-1", "--cors-origin", "https://a.example", "--revocation-max-age", "90s"},
		env(map[string]string{"SHC_VERIFIER_TRUST": "env.json", "SHC_VERIFIER_OFFLINE": "false", "SHC_VERIFIER_MAX_BODY": "1000", "SHC_VERIFIER_REVOCATION_MAX_AGE": "1h"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Listen != ":9000" || strings.Join(o.Trust, ",") != "a.json,https://x.example/d.json" || o.Leeway != time.Minute ||
		o.Revocation != "best-effort" || o.RateLimit != -1 || o.MaxBody != 1000 || o.AnyIssuer() || len(o.CORSOrigins) != 1 ||
		o.RevocationMaxAge != 90*time.Second {
		t.Errorf("flags over env: %+v", o)
	}

	o, err = parseOptions(nil, env(map[string]string{"SHC_VERIFIER_TRUST": "a.json, b.json", "SHC_VERIFIER_OFFLINE": "true",
		"SHC_VERIFIER_REFRESH": "1h", "SHC_VERIFIER_TLS_CERT": "c.pem", "SHC_VERIFIER_TLS_KEY": "k.pem", "SHC_VERIFIER_REVOCATION_MAX_AGE": "2s"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.Trust, ",") != "a.json,b.json" || !o.Offline || o.Refresh != time.Hour || o.TLSCert != "c.pem" || o.RevocationMaxAge != 2*time.Second {
		t.Errorf("env: %+v", o)
	}
}

func TestParseOptionsRefusals(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"offline-without-trust", []string{"--offline"}, nil, "--offline needs a trust source"},
		{"offline-any-issuer", []string{"--offline", "--any-issuer-unsafe", "--trust", "a.json"}, nil, "cannot be combined"},
		{"bad-revocation", []string{"--revocation", "maybe"}, nil, "--revocation"},
		{"entry-rules-missing", []string{"--entry-rules", "/nonexistent/rules.json"}, nil, "--entry-rules"},
		{"entry-rules-bad", []string{"--entry-rules", "main_test.go"}, nil, "--entry-rules main_test.go: entry rules"},
		{"revocation-max-age-too-short", []string{"--revocation-max-age", "500ms"}, nil, "--revocation-max-age"},
		{"revocation-max-age-too-long", nil, map[string]string{"SHC_VERIFIER_REVOCATION_MAX_AGE": "48h"}, "--revocation-max-age"},
		{"tls-half", []string{"--tls-cert", "c.pem"}, nil, "go together"},
		{"bad-max-body", []string{"--max-body", "0"}, nil, "--max-body"},
		{"bad-keys", []string{"--keys", "nofile"}, nil, "ISS=FILE"},
		{"bad-proxy", []string{"--trusted-proxy", "10.0.0.1"}, nil, "--trusted-proxy"},
		{"bad-env-duration", nil, map[string]string{"SHC_VERIFIER_LEEWAY": "soon"}, "SHC_VERIFIER_LEEWAY"},
		{"bad-env-bool", nil, map[string]string{"SHC_VERIFIER_OFFLINE": "perhaps"}, "SHC_VERIFIER_OFFLINE"},
		{"stray-argument", []string{"extra"}, nil, "unexpected argument"},
		{"bad-log-level", []string{"--log-level", "loud"}, nil, "--log-level"},
		{"unknown-flag", []string{"--nope"}, nil, "-nope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseOptions(c.args, env(c.env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			var out, errOut bytes.Buffer
			if code := run(context.Background(), c.args, env(c.env), &out, &errOut); code != 2 || out.Len() != 0 {
				t.Fatalf("exit %d (want 2), stdout %q", code, out.String())
			}
		})
	}
}

// -h and --help print the usage on stdout and exit 0 without starting.
func TestHelpExitsZero(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "-help"} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{arg}, env(nil), &out, &errOut); code != 0 {
			t.Fatalf("%s: exit %d, stderr %s", arg, code, errOut.String())
		}
		if !strings.Contains(out.String(), "Usage:\n  shc-verifier [flags]") || errOut.Len() != 0 {
			t.Fatalf("%s: stdout %q stderr %q", arg, out.String(), errOut.String())
		}
	}
}

// A busy --listen address stops the command with exit 1 and an error that
// names the flag.
func TestBusyListenNamesFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var errOut bytes.Buffer
	code := run(context.Background(), []string{"--listen", ln.Addr().String()}, env(nil), io.Discard, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "--listen "+ln.Addr().String()) {
		t.Fatalf("exit %d, stderr %s", code, errOut.String())
	}
}

// TestEntryRulesOption: --entry-rules (or SHC_VERIFIER_ENTRY_RULES) names a
// rule file that is read and checked before the service starts.
func TestEntryRulesOption(t *testing.T) {
	o, err := parseOptions(nil, env(map[string]string{"SHC_VERIFIER_ENTRY_RULES": "../../examples/entry-rules.json"}), io.Discard)
	if err != nil || o.EntryRules != "../../examples/entry-rules.json" {
		t.Fatalf("%v %+v", err, o)
	}
}
