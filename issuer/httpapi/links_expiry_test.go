package httpapi_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
)

// Issue 14: a link created without "exp" expires after the configured
// default (SHL-2); one that never expires is asked for with "noExpiry".
func TestLinkDefaultExpiry_SHL2(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var cfg httpapi.Config
	s := httpapitest.Start(t, httpapitest.Options{ConfigAPI: func(c *httpapi.Config) {
		cfg = *c
		l, err := httpapi.NewLinks(httpapi.LinksConfig{Issuer: c.Issuer, Auth: c.Auth, BaseURL: c.BaseURL, Now: clock, DefaultExpiry: 72 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		c.Mount = l.Mount
	}})
	create := func(body string) (int, int64) {
		t.Helper()
		r := do(t, s, "POST", "/v1/links", s.Token, "", []byte(body))
		var out struct {
			Payload struct {
				Exp int64 `json:"exp"`
			} `json:"payload"`
		}
		_ = json.Unmarshal(r.Body, &out)
		return r.Status, out.Payload.Exp
	}
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p1"}}]}`
	if code, exp := create(`{"bundle":` + bundle + `}`); code != 201 || exp != now.Add(72*time.Hour).Unix() {
		t.Fatalf("default: %d exp %d, want %d", code, exp, now.Add(72*time.Hour).Unix())
	}
	if code, exp := create(`{"bundle":` + bundle + `,"exp":` + "1800000000" + `}`); code != 201 || exp != 1800000000 {
		t.Fatalf("explicit exp: %d %d", code, exp)
	}
	if code, exp := create(`{"bundle":` + bundle + `,"noExpiry":true}`); code != 201 || exp != 0 {
		t.Fatalf("noExpiry: %d exp %d", code, exp)
	}
	if code, _ := create(`{"bundle":` + bundle + `,"noExpiry":true,"exp":1800000000}`); code != 400 {
		t.Fatalf("noExpiry with exp: %d", code)
	}
	if _, err := httpapi.NewLinks(httpapi.LinksConfig{Issuer: cfg.Issuer, Auth: cfg.Auth, BaseURL: cfg.BaseURL, DefaultExpiry: -time.Second}); err == nil {
		t.Fatal("negative DefaultExpiry accepted")
	}
}
