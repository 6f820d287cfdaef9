package verifier

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/shc/qr"
)

// today per MANIFEST: both example-03 cards have expired by then.
var today = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC).Unix()

func offlineExamples(t *testing.T, clock int64, crl []byte, opts ...Option) *Verifier {
	t.Helper()
	v, err := New(append([]Option{WithOffline(), WithClock(at(clock)), WithTrustDirectoryJSON("examples", exampleDirectory(t, crl), nil)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// inputs returns the official input forms of one example: d (JWS), e
// (file) and f (QR text, chunks joined in reverse order to test QR-6).
func inputs(t *testing.T, set, name string) map[string]string {
	out := map[string]string{
		"jws":  string(testvectors.Read(t, set+"/"+name+"-d-jws.txt")),
		"file": string(testvectors.Read(t, set+"/"+name+"-e-file.smart-health-card")),
	}
	var chunks []string
	for i := 0; ; i++ {
		rel := fmt.Sprintf("%s/%s-f-qr-code-numeric-value-%d.txt", set, name, i)
		if i > 0 && !exists(t, rel) {
			break
		}
		chunks = append([]string{strings.TrimSpace(string(testvectors.Read(t, rel)))}, chunks...)
	}
	out["qr"] = strings.Join(chunks, "\n")
	return out
}

func exists(t *testing.T, rel string) bool {
	return fileExists(testvectors.Path(t, rel))
}

func TestSpecExamplesValidAtIssueTime(t *testing.T) {
	cases := []struct {
		set   string
		nbf   int64
		names []string
	}{
		{"vci-spec-site/examples", vciNBF, []string{"example-00", "example-01", "example-02"}},
		{"hl7-ig/input/images", hl7NBF, []string{"example-00", "example-01", "example-02", "example-03"}},
	}
	for _, c := range cases {
		v := offlineExamples(t, c.nbf+60, publishedCRL(t))
		for _, name := range c.names {
			for form, in := range inputs(t, c.set, name) {
				t.Run(c.set+"/"+name+"/"+form, func(t *testing.T) {
					r := verifyOne(t, v, in)
					wantCode(t, r, VerdictVerified, "")
					if r.Issuer != exampleIss || r.IssuerName != "SMART Spec Examples" || r.NotBefore == nil || len(r.FHIRBundle) == 0 || r.Summary == nil {
						t.Fatalf("incomplete result %+v", r)
					}
					wantKid := kidK0
					if name == "example-01" {
						wantKid = kidK2
					}
					if r.KeyID != wantKid {
						t.Fatalf("kid %s, want %s", r.KeyID, wantKid)
					}
				})
			}
		}
	}
}

// REV-9: VCI ex-03 is revoked by 0.343 s (nbf …764.657 < …765).
func TestVCIExample03RevokedByFractionOfASecond(t *testing.T) {
	in := inputs(t, "vci-spec-site/examples", "example-03")["jws"]
	r := verifyOne(t, offlineExamples(t, vciNBF+60, publishedCRL(t)), in)
	wantCode(t, r, VerdictInvalid, CodeRevoked)
	if len(r.Errors) != 1 || r.Summary == nil || r.Summary.Patient == nil || r.Summary.Patient.Name != "Johnny Revoked" {
		t.Fatalf("want only revoked, with the summary: %+v %+v", r.Errors, r.Summary)
	}
	// Today it is also expired; both failures are reported.
	r = verifyOne(t, offlineExamples(t, today, publishedCRL(t)), in)
	wantCode(t, r, VerdictInvalid, CodeExpired)
	wantCode(t, r, VerdictInvalid, CodeRevoked)
	if CodeOf(r.Err()) != CodeExpired {
		t.Fatalf("first failure %v", r.Err())
	}
}

// HL7 ex-03 is NOT revoked against the published CRL (its timestamp
// predates the card), and it has expired by today.
func TestHL7Example03NotRevokedButExpired(t *testing.T) {
	in := inputs(t, "hl7-ig/input/images", "example-03")["jws"]
	r := verifyOne(t, offlineExamples(t, today, publishedCRL(t)), in)
	wantCode(t, r, VerdictInvalid, CodeExpired)
	if len(r.Errors) != 1 {
		t.Fatalf("want expired only, got %+v", r.Errors)
	}
}

// The stale main-branch CRL has the same ctr 1 as the published one but an
// older timestamp: against it, VCI ex-03 is not revoked. Which list is used
// is decided by source, never by ctr alone.
func TestStaleCRLWithSameCtr(t *testing.T) {
	in := inputs(t, "vci-spec-site/examples", "example-03")["jws"]
	r := verifyOne(t, offlineExamples(t, vciNBF+60, staleCRL(t)), in)
	wantCode(t, r, VerdictVerified, "")
}

// The official cards through the online path: the example issuer is
// mirrored to a TLS test server serving the published jwks.json and CRL.
func TestSpecExamplesOnline(t *testing.T) {
	dir := testvectors.Path(t, "vci-spec-site/examples/issuer")
	srv := newHost(t, "/examples/issuer", dir, nil)
	v := exampleVerifier(t, append(netOpts(srv.Server),
		WithTrustedIssuers(exampleIss), WithIssuerMirror(exampleIss, srv.URL+"/examples/issuer"))...)
	for i := 0; i < 3; i++ {
		r := verifyOne(t, v, inputs(t, "vci-spec-site/examples", "example-00")["file"])
		wantCode(t, r, VerdictVerified, "")
		r = verifyOne(t, v, inputs(t, "vci-spec-site/examples", "example-03")["qr"])
		wantCode(t, r, VerdictInvalid, CodeRevoked)
		r = verifyOne(t, v, inputs(t, "vci-spec-site/examples", "example-01")["jws"])
		wantCode(t, r, VerdictVerified, "")
	}
	// Warm caches: one key-set fetch, one CRL fetch (REV-8: crlVersion did not move).
	if n := srv.count("/examples/issuer/.well-known/jwks.json"); n != 1 {
		t.Fatalf("jwks fetched %d times", n)
	}
	if n := srv.count("/examples/issuer/.well-known/crl/" + kidK0 + ".json"); n != 1 {
		t.Fatalf("CRL fetched %d times", n)
	}
}

// Third-party CARIN cards: static keys (the CLI's --jwks), CRL fetched from
// a mirror of the demo issuer.
func TestCarinRevokedAndRevocable(t *testing.T) {
	root := testvectors.Path(t, "third-party/seanno-shc-demo-data")
	srv := newHost(t, "/", root, nil)
	jwks := testvectors.Read(t, "third-party/seanno-shc-demo-data/.well-known/jwks.json")
	v, err := New(append(netOpts(srv.Server), WithClock(at(today)), WithStaticKeys(seannoIss, jwks), WithIssuerMirror(seannoIss, srv.URL))...)
	if err != nil {
		t.Fatal(err)
	}
	r := verifyOne(t, v, string(testvectors.Read(t, "third-party/seanno-shc-demo-data/cards/carin-revoked/jws-raw.txt")))
	wantCode(t, r, VerdictInvalid, CodeRevoked)
	r = verifyOne(t, v, string(testvectors.Read(t, "third-party/seanno-shc-demo-data/cards/carin-revocable/jws-raw.txt")))
	wantCode(t, r, VerdictVerified, "")
	if r.RID != "abc" || r.Summary == nil || r.Summary.Other["Coverage"] == 0 {
		t.Fatalf("summary of an insurance card: %+v", r.Summary)
	}
	if n := srv.count("/.well-known/jwks.json"); n != 0 {
		t.Fatalf("static keys must not be fetched (%d)", n)
	}
	// Same cards through the demo's own directory (keys and CRL inside), offline.
	v, err = New(WithOffline(), WithClock(at(today)), WithTrustDirectory(testvectors.Path(t, "third-party/seanno-shc-demo-data/keystore/directory.json")))
	if err != nil {
		t.Fatal(err)
	}
	r = verifyOne(t, v, string(testvectors.Read(t, "third-party/seanno-shc-demo-data/cards/carin-revoked/jws-raw.txt")))
	wantCode(t, r, VerdictInvalid, CodeRevoked)
	if r.IssuerName != "SHC Demo Issuer" {
		t.Fatalf("issuer name %q", r.IssuerName)
	}
	found := false
	for _, w := range r.Warnings {
		found = found || strings.Contains(w, "stale")
	}
	if !found {
		t.Fatalf("a 2023 directory in 2026 must be reported stale: %q", r.Warnings)
	}
}

// QR images go through the decoder the caller wires in (package shc/qr
// here): the official SVG and a PNG. Without one, an image is refused with
// image_unsupported and nothing else is tried.
func TestImageInputs(t *testing.T) {
	svg := testvectors.Read(t, "vci-spec-site/examples/example-00-g-qr-code-0.svg")
	png := testvectors.Read(t, "third-party/seanno-shc-demo-data/cards/example-covid/shc.png")
	textOnly := offlineExamples(t, vciNBF+60, publishedCRL(t))
	for _, in := range [][]byte{svg, png} {
		_, err := textOnly.Verify(context.Background(), in)
		if CodeOf(err) != CodeImageUnsupported || !errors.Is(err, ErrImageUnsupported) {
			t.Fatalf("image without a decoder: %v, want image_unsupported", err)
		}
	}
	// A decoder error without a code is malformed_qr.
	failing := offlineExamples(t, vciNBF+60, publishedCRL(t), WithImageDecoder(func(context.Context, []byte) (string, error) {
		return "", fmt.Errorf("camera says no")
	}))
	if _, err := failing.Verify(context.Background(), png); CodeOf(err) != CodeMalformedQR {
		t.Fatalf("uncoded decoder error: %v, want malformed_qr", err)
	}
	if _, err := New(WithOffline(), WithStaticKeys(seannoIss, []byte("{}")), WithImageDecoder(nil)); CodeOf(err) != CodeConfig {
		t.Fatalf("nil decoder: %v", err)
	}
	v := offlineExamples(t, vciNBF+60, publishedCRL(t), WithImageDecoder(qr.DecodeImage))
	r := verifyOne(t, v, string(svg))
	wantCode(t, r, VerdictVerified, "")
	if r.InputKind != "qr-image" {
		t.Fatalf("input kind %q", r.InputKind)
	}
	jwks := testvectors.Read(t, "third-party/seanno-shc-demo-data/.well-known/jwks.json")
	v2, err := New(WithOffline(), WithClock(at(today)), WithStaticKeys(seannoIss, jwks), WithImageDecoder(qr.DecodeImage))
	if err != nil {
		t.Fatal(err)
	}
	r = verifyOne(t, v2, string(png))
	wantCode(t, r, VerdictVerified, "")
}

// A file with several cards gives one result per card.
func TestMultiCardFile(t *testing.T) {
	var jws []string
	for _, n := range []string{"example-00", "example-03", "example-02"} {
		jws = append(jws, fmt.Sprintf("%q", strings.TrimSpace(inputs(t, "vci-spec-site/examples", n)["jws"])))
	}
	file := `{"verifiableCredential":[` + strings.Join(jws, ",") + `]}`
	res, err := offlineExamples(t, vciNBF+60, publishedCRL(t)).Verify(context.Background(), []byte(file))
	if err != nil || len(res) != 3 {
		t.Fatalf("%v %d", err, len(res))
	}
	if !res[0].Valid || res[1].Valid || !res[2].Valid || res[1].Index != 1 || res[2].InputKind != "file" {
		t.Fatalf("per-card verdicts wrong: %s %s %s", res[0].Verdict, res[1].Verdict, res[2].Verdict)
	}
}
