package verifier

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/shl"
	"github.com/healthcards/healthcards/shl/host"
	"github.com/healthcards/healthcards/shl/shlqr"
)

const (
	linkIss = "https://issuer.example.org"
	// specLinkKey is the key of the HL7 encryption example and the
	// seanno demo files.
	specLinkKey = "rxTgYlOaKJPFtcEd0qcceN8wEU4p94SqAwIWQe6uX7Q"
)

// linkEnv is an host.Host on a local TLS server and a verifier trusting
// linkIss with a fresh key.
type linkEnv struct {
	host *host.Host
	srv  *httptest.Server
	v    *Verifier
	key  []byte // the signing key's JWKS
	card func() string
}

func newLinkEnv(t *testing.T, opts ...Option) *linkEnv {
	t.Helper()
	e := &linkEnv{}
	e.srv = httptest.NewUnstartedServer(nil)
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	h, err := host.New(host.Config{BaseURL: e.srv.URL + "/shl", Store: host.NewMemoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	e.host = h
	e.srv.Config.Handler = h
	k := newKey(t)
	e.card = func() string { return signCard(t, k, linkIss, float64(time.Now().Unix()-60), nil) }
	e.v, err = New(append(append([]Option{WithStaticKeys(linkIss, jwksOf(t, nil, k))}, netOpts(e.srv)...), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *linkEnv) create(t *testing.T, files []host.FileContent, o host.LinkOptions) *host.Link {
	t.Helper()
	l, err := e.host.CreateLink(context.Background(), files, o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func cardFile(t *testing.T, jws ...string) host.FileContent {
	t.Helper()
	b, err := shc.MarshalFile(jws...)
	if err != nil {
		t.Fatal(err)
	}
	return host.FileContent{ContentType: shl.ContentTypeSHC, Data: b}
}

func wantLinkCode(t *testing.T, err error, code Code) {
	t.Helper()
	if CodeOf(err) != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
	var e *Error
	if !errors.As(err, &e) || e.Step != StepLink {
		t.Fatalf("error %#v is not a link-step *Error", err)
	}
}

// SHL-9/10: a P link. Verify without a passcode says passcode_required and
// sends nothing; a wrong passcode gives passcode_wrong with the server's
// remainingAttempts; the right one gives both cards verified and the FHIR
// file as unverified data, also behind a viewer URL.
func TestVerifyLink_PasscodeCardsAndUnverifiedFHIR(t *testing.T) {
	e := newLinkEnv(t)
	ctx := context.Background()
	bundle := []byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p1"}}]}`)
	l := e.create(t, []host.FileContent{
		cardFile(t, e.card(), e.card()),
		{ContentType: shl.ContentTypeFHIR, Data: bundle, FHIRVersion: "4.0.1"},
	}, host.LinkOptions{Passcode: "1234", Label: "Labs"})
	uri := l.Payload.URI("")

	_, err := e.v.Verify(ctx, []byte(uri))
	wantLinkCode(t, err, CodePasscodeRequired)
	if !errors.Is(err, ErrPasscodeRequired) || !errors.Is(err, shl.ErrPasscodeRequired) {
		t.Fatal("errors.Is does not match the sentinels")
	}
	if r := ErrorResult(err); r.Errors[0].Code != CodePasscodeRequired {
		t.Fatalf("ErrorResult %+v", r.Errors)
	}

	_, err = e.v.VerifyLink(ctx, uri, LinkOptions{Passcode: "0000"})
	wantLinkCode(t, err, CodePasscodeWrong)
	if n := LinkRemainingAttempts(err); n != host.DefaultMaxPasscodeFailures-1 {
		t.Fatalf("remaining %d", n)
	}

	for _, in := range []string{uri, l.Payload.URI("https://viewer.example.org/#")} {
		lr, err := e.v.VerifyLink(ctx, in, LinkOptions{Passcode: "1234", Recipient: "Dr. Test"})
		if err != nil {
			t.Fatal(err)
		}
		if !lr.Valid() || len(lr.Cards) != 2 || lr.Cards[1].Index != 1 || lr.Cards[0].InputKind != "shlink" {
			t.Fatalf("cards %+v", lr.Cards)
		}
		if lr.Cards[0].Summary == nil || lr.Cards[0].Summary.Patient == nil {
			t.Fatal("no summary on a verified card")
		}
		if len(lr.UnverifiedFHIR) != 1 || !bytes.Equal(lr.UnverifiedFHIR[0].UnverifiedData, bundle) || lr.UnverifiedFHIR[0].File != 1 {
			t.Fatalf("unverified %+v", lr.UnverifiedFHIR)
		}
		if len(lr.Files) != 2 || lr.Files[0].Cards != 2 || lr.Files[1].ContentType != shl.ContentTypeFHIR || lr.Label != "Labs" || lr.Flag != "P" {
			t.Fatalf("files %+v", lr)
		}
		b, _ := json.Marshal(lr)
		if !strings.Contains(string(b), `"unverifiedFhir":[{"file":1,"fhirVersion":"4.0.1","lastUpdated":`) || !strings.Contains(string(b), `"unverifiedData":{"resourceType":"Bundle"`) {
			t.Fatalf("JSON form: %s", b)
		}
	}
	log, _ := e.host.AccessLog(ctx, l.ID)
	if len(log) != 3 || log[0].Recipient != DefaultLinkRecipient || log[2].Recipient != "Dr. Test" {
		t.Fatalf("access log %+v", log)
	}
}

// Verify accepts a link as text or as a QR image (SHL-21, level M) when it
// needs no passcode, and returns its cards.
func TestVerify_LinkTextAndQRImage(t *testing.T) {
	e := newLinkEnv(t, WithImageDecoder(qr.DecodeImage))
	l := e.create(t, []host.FileContent{cardFile(t, e.card())}, host.LinkOptions{})
	png, err := shlqr.PNG(l.Payload.URI("https://viewer.example.org#"), 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{"text": []byte("  " + l.Payload.URI("") + "\n"), "png": png} {
		res, err := e.v.Verify(context.Background(), in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(res) != 1 || !res[0].Valid || res[0].InputKind != "shlink" {
			t.Fatalf("%s: %+v", name, res)
		}
	}
}

// Failures of the link itself get their codes, never a hang.
func TestVerifyLink_Errors(t *testing.T) {
	e := newLinkEnv(t, WithFetchTimeout(500*time.Millisecond))
	ctx := context.Background()
	fhirOnly := []host.FileContent{{ContentType: shl.ContentTypeFHIR, Data: []byte(`{"resourceType":"Bundle"}`)}}

	t.Run("malformed", func(t *testing.T) {
		for _, in := range []string{"shlink:/", "shlink:/!!!", "https://viewer.example#shlink:/e30"} {
			_, err := e.v.VerifyLink(ctx, in, LinkOptions{})
			wantLinkCode(t, err, CodeMalformedLink)
		}
	})
	t.Run("unsupported_version", func(t *testing.T) {
		raw := `{"url":"https://x.example/m","key":"` + specLinkKey + `","v":2}`
		_, err := e.v.VerifyLink(ctx, "shlink:/"+base64.RawURLEncoding.EncodeToString([]byte(raw)), LinkOptions{})
		wantLinkCode(t, err, CodeLinkUnsupportedVersion)
	})
	t.Run("expired_without_fetch", func(t *testing.T) {
		l := e.create(t, fhirOnly, host.LinkOptions{Expires: time.Now().Add(time.Hour)})
		late, _ := New(append([]Option{WithClock(func() time.Time { return time.Now().Add(2 * time.Hour) }), WithoutIssuerTrustUnsafe()}, netOpts(e.srv)...)...)
		_, err := late.VerifyLink(ctx, l.Payload.URI(""), LinkOptions{})
		wantLinkCode(t, err, CodeLinkExpired)
		if log, _ := e.host.AccessLog(ctx, l.ID); len(log) != 0 {
			t.Fatal("an expired link was fetched")
		}
	})
	t.Run("revoked_not_found", func(t *testing.T) {
		l := e.create(t, []host.FileContent{cardFile(t, e.card())}, host.LinkOptions{})
		e.host.Revoke(ctx, l.ID)
		_, err := e.v.VerifyLink(ctx, l.Payload.URI(""), LinkOptions{})
		wantLinkCode(t, err, CodeLinkNotFound)
	})
	t.Run("wrong_key_decrypt_failed", func(t *testing.T) {
		l := e.create(t, fhirOnly, host.LinkOptions{})
		p := *l.Payload
		p.Key = strings.Repeat("A", 43)
		_, err := e.v.VerifyLink(ctx, p.URI(""), LinkOptions{})
		wantLinkCode(t, err, CodeDecryptFailed)
	})
	t.Run("fhir_only_via_Verify", func(t *testing.T) {
		l := e.create(t, fhirOnly, host.LinkOptions{})
		_, err := e.v.Verify(ctx, []byte(l.Payload.URI("")))
		wantLinkCode(t, err, CodeLinkWithoutCards)
	})
	t.Run("offline", func(t *testing.T) {
		l := e.create(t, fhirOnly, host.LinkOptions{})
		off, _ := New(WithStaticKeys(linkIss, []byte(`{"keys":[]}`)), WithOffline())
		_, err := off.VerifyLink(ctx, l.Payload.URI(""), LinkOptions{})
		wantLinkCode(t, err, CodeLinkFetchFailed)
	})
	t.Run("private_address_refused", func(t *testing.T) {
		l := e.create(t, fhirOnly, host.LinkOptions{})
		strict, _ := New(WithStaticKeys(linkIss, []byte(`{"keys":[]}`)), netOpts(e.srv)[0]) // trusts the server, but no private addresses
		_, err := strict.VerifyLink(ctx, l.Payload.URI(""), LinkOptions{})
		wantLinkCode(t, err, CodeLinkFetchFailed)
	})
	t.Run("hanging_server_times_out", func(t *testing.T) {
		release := make(chan struct{})
		hang := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		defer hang.Close()
		defer close(release)
		v, _ := New(append([]Option{WithStaticKeys(linkIss, []byte(`{"keys":[]}`)), WithFetchTimeout(300 * time.Millisecond)}, netOpts(hang)...)...)
		p, _ := shl.NewPayload(hang.URL+"/m", shl.WithKey(mustB64(t, specLinkKey)))
		done := make(chan error, 1)
		go func() { _, err := v.VerifyLink(ctx, p.URI(""), LinkOptions{}); done <- err }()
		select {
		case err := <-done:
			wantLinkCode(t, err, CodeLinkFetchFailed)
		case <-time.After(20 * time.Second):
			t.Fatal("VerifyLink did not give up on a hanging server")
		}
	})
}

// SHL-17 + §12: the HL7 encryption example, served inline in a manifest,
// decrypts to example-00's file and its card verifies with the spec key.
func TestVerifyLink_HL7InlineJWEExample00(t *testing.T) {
	jwe := strings.TrimSpace(string(testvectors.Read(t, "derived-from-spec-text/links-specification.encrypt-example.jwe.txt")))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"files": []any{map[string]string{"contentType": shl.ContentTypeSHC, "embedded": jwe}}})
	}))
	defer srv.Close()
	v := exampleVerifier(t, append([]Option{WithStaticKeys(exampleIss, exampleJWKS(t)), WithRevocationPolicy(RevocationBestEffort)}, netOpts(srv)...)...)
	p, err := shl.NewPayload(srv.URL+"/manifest", shl.WithKey(mustB64(t, specLinkKey)))
	if err != nil {
		t.Fatal(err)
	}
	lr, err := v.VerifyLink(context.Background(), p.URI(""), LinkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lr.Cards) != 1 || !lr.Cards[0].Valid || lr.Cards[0].Issuer != exampleIss || lr.Cards[0].KeyID != kidK0 {
		t.Fatalf("%+v", lr.Cards)
	}
}

// The IG's IPS JWE (no cty) behind a U link: sniffed as FHIR and returned
// unverified, byte for byte the IPS bundle, with a warning.
func TestVerifyLink_IPSUnverified(t *testing.T) {
	jwe := testvectors.Read(t, "hl7-ig/input/images/IPS_IG-bundle-01-enc.txt")
	want := testvectors.Read(t, "hl7-ig/input/images/IPS_IG-bundle-01.json")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("recipient") == "" {
			http.Error(w, "recipient required", http.StatusBadRequest)
			return
		}
		w.Write(jwe)
	}))
	defer srv.Close()
	v, _ := New(append([]Option{WithStaticKeys(linkIss, []byte(`{"keys":[]}`))}, netOpts(srv)...)...)
	p, _ := shl.NewPayload(srv.URL+"/ips", shl.WithKey(mustB64(t, specLinkKey)), shl.WithFlags("LU"))
	lr, err := v.VerifyLink(context.Background(), p.URI(""), LinkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lr.Cards) != 0 || len(lr.UnverifiedFHIR) != 1 || !bytes.Equal(lr.UnverifiedFHIR[0].UnverifiedData, want) || len(lr.Warnings) != 1 || lr.Valid() {
		t.Fatalf("%+v", lr)
	}
}

// The third-party CARIN link (flags LU, no cty) resolves against a local
// server serving its file; the card inside verifies against the demo
// issuer's published key set, given as static keys.
func TestVerifyLink_CARINThirdParty(t *testing.T) {
	const dir = "third-party/seanno-shc-demo-data/"
	jwe := testvectors.Read(t, dir+"cards/carin-insurance-example/jws.txt")
	p, err := shl.Parse(string(testvectors.Read(t, dir+"cards/carin-insurance-example/shl.txt")))
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := url.Parse(p.URL)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != orig.Path || r.URL.Query().Get("recipient") == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write(jwe)
	}))
	defer srv.Close()
	local, _ := url.Parse(srv.URL)
	orig.Scheme, orig.Host = local.Scheme, local.Host
	p.URL = orig.String()
	v, err := New(append([]Option{WithStaticKeys(seannoIss, testvectors.Read(t, dir+".well-known/jwks.json"))}, netOpts(srv)...)...)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := v.VerifyLink(context.Background(), p.URI("https://viewer.tcpdev.org/shlink.html#"), LinkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lr.Cards) != 1 || lr.Files[0].ContentType != shl.ContentTypeSHC || lr.Flag != "LU" {
		t.Fatalf("%+v", lr)
	}
	r := lr.Cards[0]
	if !r.Valid || r.Issuer != seannoIss {
		t.Fatalf("verdict %s errors %+v", r.Verdict, r.Errors)
	}
	want := strings.TrimSpace(string(testvectors.Read(t, dir+"cards/carin-insurance-example/jws-raw.txt")))
	if c, _ := shc.Parse(want); c == nil || c.KeyID() != r.KeyID {
		t.Fatal("verified a different card than jws-raw.txt")
	}
}
