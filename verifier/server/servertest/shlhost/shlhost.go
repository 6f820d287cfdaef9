// Package shlhost starts a test issuer that hosts SMART Health Links (the
// issuer service of package issuer/httpapi with httpapi.Links mounted, on an
// httptest TLS server, in-memory store) for the tests of verifier/server and
// verifier/web. It is a separate package so that the other verifier service
// tests do not depend on the issuer service.
package shlhost

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/verifier/server/servertest"
)

// Name is the issuer name the trust list gives the host.
const Name = "Test Lab"

// Host is a running issuer service hosting links.
type Host struct {
	*httpapitest.Server
	Links *httpapi.Links
}

// Start runs the issuer service with links mounted until the test ends.
func Start(t testing.TB) *Host {
	t.Helper()
	h := &Host{}
	h.Server = httpapitest.Start(t, httpapitest.Options{ConfigAPI: func(c *httpapi.Config) {
		l, err := httpapi.NewLinks(httpapi.LinksConfig{Issuer: c.Issuer, Auth: c.Auth, BaseURL: c.BaseURL})
		if err != nil {
			t.Fatal(err)
		}
		h.Links = l
		c.Mount = l.Mount
	}})
	return h
}

// Trusted is the host as an issuer a verifier service trusts (see
// servertest.StartTrusting).
func (h *Host) Trusted() servertest.TrustedIssuer {
	return servertest.TrustedIssuer{URL: h.URL, Name: Name, Cert: h.Certificate()}
}

// LabBundle is servertest.LabBundle with the Patient id the issuer service
// requires to sign a bundle (it keys storage and revocation).
func LabBundle() json.RawMessage {
	return json.RawMessage(bytes.Replace(servertest.LabBundle, []byte(`{"resourceType":"Patient",`), []byte(`{"resourceType":"Patient","id":"p-anna",`), 1))
}

// Link is a created link.
type Link struct {
	ID     string `json:"id"`
	ShLink string `json:"shlink"`
	QR     string `json:"qr"` // URL of its QR image (needs the API token)
	Cards  int    `json:"cards"`
}

// LinkRequest is the body of POST /v1/links.
type LinkRequest struct {
	Bundle   json.RawMessage `json:"bundle,omitempty"`
	Sign     bool            `json:"sign,omitempty"`
	Passcode string          `json:"passcode,omitempty"`
	Label    string          `json:"label,omitempty"`
	Exp      int64           `json:"exp,omitempty"`
	Viewer   string          `json:"viewer,omitempty"`
}

// Create makes a link with the issuer's management API.
func (h *Host) Create(t testing.TB, req LinkRequest) Link {
	t.Helper()
	code, b := h.call(t, http.MethodPost, h.URL+"/v1/links", req)
	if code != http.StatusCreated {
		t.Fatalf("POST /v1/links: %d %s", code, b)
	}
	var l Link
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// Revoke revokes a link.
func (h *Host) Revoke(t testing.TB, l Link) {
	t.Helper()
	if code, b := h.call(t, http.MethodDelete, h.URL+"/v1/links/"+l.ID, nil); code != http.StatusOK {
		t.Fatalf("revoke: %d %s", code, b)
	}
}

// QRPNG returns the issuer's QR image of the link (PNG, level M).
func (h *Host) QRPNG(t testing.TB, l Link) []byte {
	t.Helper()
	code, b := h.call(t, http.MethodGet, l.QR, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d", l.QR, code)
	}
	return b
}

func (h *Host) call(t testing.TB, method, url string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
