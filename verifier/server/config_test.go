package server

import (
	"io"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Listen != "127.0.0.1:8080" || !o.anyIssuer() || o.Revocation != "required" || o.MaxBody != DefaultMaxBodyBytes {
		t.Errorf("defaults: %+v", o)
	}

	o, err = ParseOptions([]string{"--listen", ":9000", "--trust", "a.json", "--trust", "https://x.example/d.json",
		"--leeway", "1m", "--revocation", "best-effort", "--rate-limit", "-1", "--cors-origin", "https://a.example"},
		env(map[string]string{"SHC_VERIFIER_TRUST": "env.json", "SHC_VERIFIER_OFFLINE": "false", "SHC_VERIFIER_MAX_BODY": "1000"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Listen != ":9000" || strings.Join(o.Trust, ",") != "a.json,https://x.example/d.json" || o.Leeway != time.Minute ||
		o.Revocation != "best-effort" || o.RateLimit != -1 || o.MaxBody != 1000 || o.anyIssuer() || len(o.CORSOrigins) != 1 {
		t.Errorf("flags over env: %+v", o)
	}

	o, err = ParseOptions(nil, env(map[string]string{"SHC_VERIFIER_TRUST": "a.json, b.json", "SHC_VERIFIER_OFFLINE": "true",
		"SHC_VERIFIER_REFRESH": "1h", "SHC_VERIFIER_TLS_CERT": "c.pem", "SHC_VERIFIER_TLS_KEY": "k.pem"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.Trust, ",") != "a.json,b.json" || !o.Offline || o.Refresh != time.Hour || o.TLSCert != "c.pem" {
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
		{"tls-half", []string{"--tls-cert", "c.pem"}, nil, "go together"},
		{"bad-max-body", []string{"--max-body", "0"}, nil, "--max-body"},
		{"bad-keys", []string{"--keys", "nofile"}, nil, "ISS=FILE"},
		{"bad-proxy", []string{"--trusted-proxy", "10.0.0.1"}, nil, "--trusted-proxy"},
		{"bad-env-duration", nil, map[string]string{"SHC_VERIFIER_LEEWAY": "soon"}, "SHC_VERIFIER_LEEWAY"},
		{"bad-env-bool", nil, map[string]string{"SHC_VERIFIER_OFFLINE": "perhaps"}, "SHC_VERIFIER_OFFLINE"},
		{"stray-argument", []string{"extra"}, nil, "unexpected argument"},
		{"bad-log-level", []string{"--log-level", "loud"}, nil, "--log-level"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseOptions(c.args, env(c.env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestIPLimiterBounded(t *testing.T) {
	l := newIPLimiter(1, 1)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	for i := 0; i < maxLimiterClients+50; i++ {
		l.allow("10.0." + string(rune('a'+i%26)) + "." + time.Duration(i).String())
	}
	if n := l.size(); n > maxLimiterClients {
		t.Fatalf("limiter holds %d clients, bound %d", n, maxLimiterClients)
	}
	if ok, _ := l.allow("192.0.2.1"); !ok {
		t.Fatal("first request refused")
	}
	if ok, wait := l.allow("192.0.2.1"); ok || wait <= 0 {
		t.Fatalf("second immediate request: ok=%v wait=%v", ok, wait)
	}
	now = now.Add(2 * time.Second)
	if ok, _ := l.allow("192.0.2.1"); !ok {
		t.Fatal("request after refill refused")
	}
}

func TestMetricsLabelBound(t *testing.T) {
	m := NewMetrics()
	for i := 0; i < maxLabelValues+10; i++ {
		m.ObserveVerification("invalid", "code"+time.Duration(i).String())
	}
	if m.codes.get("other") != 10 {
		t.Fatalf("other = %d, want 10", m.codes.get("other"))
	}
}

func TestPlainReasonsNameNoOne(t *testing.T) {
	for code, s := range plainReasons {
		if s == "" || !strings.HasSuffix(s, ".") {
			t.Errorf("%s: %q is not a sentence", code, s)
		}
	}
	if !strings.Contains(plainReason("revoked"), "revoked by its issuer") {
		t.Error("revoked reason changed")
	}
}
