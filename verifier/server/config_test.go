package server

import (
	"strings"
	"testing"
	"time"
)

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
	if m.codes.Get("other") != 10 {
		t.Fatalf("other = %d, want 10", m.codes.Get("other"))
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
