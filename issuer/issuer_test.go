package issuer

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/issuer/store/memstore"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 500e6, time.UTC)

const testSecret = "GWdbF5850vxNt3HhHFl0dRvvN--C6rD77obJgGjK_Zg"

type fixture struct {
	is    *Issuer
	st    *memstore.Store
	key   *keys.PrivateKey
	ring  *keys.Ring
	level shc.QRLevel
}

func newFixture(t testing.TB, opts ...func(*Config)) *fixture {
	t.Helper()
	ring, err := keys.OpenRing(t.TempDir()+"/keys", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ring.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New()
	cfg := Config{Iss: "https://issuer.example.org", Keys: ring, Store: st, RIDSecret: testSecret, Now: func() time.Time { return testNow }}
	for _, o := range opts {
		o(&cfg)
	}
	is, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{is: is, st: st, key: s.(*keys.PrivateKey), ring: ring}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cardBundleOf verifies a card's signature with pub and returns its payload
// and bundle entries.
func cardBundleOf(t *testing.T, jws string, pub *ecdsa.PublicKey) (*shc.Payload, []map[string]any) {
	t.Helper()
	c, err := shc.Parse(jws)
	if err != nil {
		t.Fatalf("parse card: %v", err)
	}
	if err := c.VerifySignature(pub); err != nil {
		t.Fatalf("signature: %v", err)
	}
	p := c.UnsafePayloadWithoutVerification()
	var b struct {
		Entry []map[string]any `json:"entry"`
	}
	if err := json.Unmarshal(p.VC.CredentialSubject.FHIRBundle, &b); err != nil {
		t.Fatal(err)
	}
	return p, b.Entry
}

func entryTypes(entries []map[string]any) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e["resource"].(map[string]any)["resourceType"].(string))
	}
	return out
}

// TestIssueBundleGranular_PAY10 checks the split: one card per lab test
// event, immunizations per disease, never labs with immunizations.
func TestIssueBundleGranular_PAY10(t *testing.T) {
	f := newFixture(t)
	cards, err := f.is.IssueBundle(context.Background(), readTestdata(t, "lab-bundle.json"), IssueOptions{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	pub := f.key.Public().(*ecdsa.PublicKey)
	var got []string
	for _, c := range cards {
		_, entries := cardBundleOf(t, c.JWS, pub)
		types := entryTypes(entries)
		if types[0] != "Patient" {
			t.Errorf("card %s: first entry %s, want Patient", c.ID, types[0])
		}
		hasLab := slices.Contains(types, "Observation") || slices.Contains(types, "DiagnosticReport")
		if hasLab && slices.Contains(types, "Immunization") {
			t.Errorf("card mixes labs and immunizations: %v", types)
		}
		got = append(got, strings.Join(types[1:], "+"))
	}
	// Ordered by date: covid doses 2021, flu 2025-10, cvx 998 2025-11, covid test 2026-01, CBC 2026-02.
	want := []string{"Immunization+Immunization", "Immunization", "Immunization", "Observation", "DiagnosticReport+Observation+Observation"}
	if !slices.Equal(got, want) {
		t.Fatalf("cards = %q, want %q", got, want)
	}
	// The covid card holds both 207 doses; the flu and the unknown code are apart.
	_, e := cardBundleOf(t, cards[0].JWS, pub)
	for _, x := range e[1:] {
		if code := x["resource"].(map[string]any)["vaccineCode"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"]; code != "207" {
			t.Errorf("covid card holds CVX %v", code)
		}
	}
	recs, _ := f.st.AuditLog(context.Background(), 100)
	if len(recs) != len(cards) {
		t.Errorf("audit log has %d events, want one per card (%d)", len(recs), len(cards))
	}
	for _, ev := range recs {
		if ev.Action != "issue" || ev.Actor != "test" || ev.RID == "" || ev.Kid == "" || len(ev.CardTypes) == 0 {
			t.Errorf("audit event %+v lacks fields", ev)
		}
	}
}

// TestIssuedCardConformance checks header, payload, minimization and rid
// on every card (HDR-2..4, PAY-1..7, MIN-1..7, REV-3).
func TestIssuedCardConformance(t *testing.T) {
	f := newFixture(t)
	cards, err := f.is.IssueBundle(context.Background(), readTestdata(t, "lab-bundle.json"), IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub := f.key.Public().(*ecdsa.PublicKey)
	for _, c := range cards {
		parsed, err := shc.Parse(c.JWS)
		if err != nil {
			t.Fatal(err)
		}
		h := parsed.Header()
		if h.Alg != "ES256" || h.Zip != "DEF" || h.Kid != f.key.KeyID() {
			t.Errorf("header %+v", h)
		}
		p, entries := cardBundleOf(t, c.JWS, pub)
		if p.Issuer != "https://issuer.example.org" || p.NotBefore != shc.NewNumericDate(testNow) || !p.HasType(shc.HealthCardType) || p.VC.CredentialSubject.FHIRVersion != "4.0.1" {
			t.Errorf("payload %+v", p)
		}
		if want := RID(testSecret, f.key.KeyID(), "pat-1001"); p.VC.RID != want || c.RID != want {
			t.Errorf("rid %q, want %q", p.VC.RID, want)
		}
		raw := string(p.VC.CredentialSubject.FHIRBundle)
		for _, bad := range []string{`"id":`, `"meta":`, `"text":`, `"display":"Negative"`, `"display":"Hemoglobin`, "urn:uuid", "telecom", "address", "gender"} {
			if strings.Contains(raw, bad) {
				t.Errorf("card bundle contains %s: %s", bad, raw)
			}
		}
		for i, e := range entries {
			if e["fullUrl"] != "resource:"+string(rune('0'+i)) {
				t.Errorf("entry %d fullUrl %v", i, e["fullUrl"])
			}
		}
		if !strings.Contains(raw, `"reference":"resource:0"`) {
			t.Errorf("references not rewritten to resource:0: %s", raw)
		}
		if len(c.QR) != 1 || !strings.HasPrefix(c.QR[0], "shc:/") {
			t.Errorf("QR texts %v", c.QR)
		}
		if back, err := shc.DecodeQRText(c.QR...); err != nil || back != c.JWS {
			t.Errorf("QR text does not decode to the JWS: %v", err)
		}
	}
	// Reference.display stays (MIN-5 note).
	_, e := cardBundleOf(t, cards[0].JWS, pub)
	if !strings.Contains(mustJSON(e), "ABC General Hospital") {
		t.Error("Reference.display was removed")
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestIssueBundleValidation(t *testing.T) {
	f := newFixture(t)
	good := string(readTestdata(t, "lab-bundle.json"))
	cases := []struct {
		name string
		in   string
		code Code
	}{
		{"not json", `{"resourceType":`, CodeInvalidBundle},
		{"not a bundle", `{"resourceType":"Patient","id":"x"}`, CodeInvalidBundle},
		{"entry not array", `{"resourceType":"Bundle","entry":{}}`, CodeInvalidBundle},
		{"no patient", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","subject":{"reference":"Patient/x"}}}]}`, CodeMissingPatient},
		{"patient without id", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient"}}]}`, CodeMissingPatient},
		{"two patients", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"Patient","id":"b"}}]}`, CodeMissingPatient},
		{"unsupported type", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"Condition","id":"c"}}]}`, CodeUnsupportedType},
		{"unresolved reference", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"Observation","subject":{"reference":"Patient/a"},"performer":[{"reference":"Organization/o1"}]}}]}`, CodeUnresolvedRef},
		{"subject not the patient", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"Observation","id":"o","hasMember":[{"reference":"Observation/o"}]}}]}`, CodeInvalidBundle},
		{"no clinical content", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"a"}}]}`, CodeNoContent},
		{"too large", `{"resourceType":"Bundle","x":"` + strings.Repeat("a", DefaultMaxBundleBytes) + `"}`, CodeTooLarge},
		{"bad patient id", strings.Replace(good, `"pat-1001"`, `"pat/1001"`, 1), CodeMissingPatient},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cards, err := f.is.IssueBundle(context.Background(), []byte(c.in), IssueOptions{})
			if CodeOf(err) != c.code || cards != nil {
				t.Fatalf("err = %v, want code %s", err, c.code)
			}
			if o := Outcome(err); o.ResourceType != "OperationOutcome" || o.Issue[0].Details.Coding[0].Code != string(c.code) || o.Issue[0].Details.Text == "" {
				t.Fatalf("outcome %+v", o)
			}
		})
	}
}

// bigObservationBundle makes a bundle whose single card deflates to about n
// bytes of incompressible text.
func bigObservationBundle(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	note := base64.StdEncoding.EncodeToString(b)
	return []byte(`{"resourceType":"Bundle","type":"collection","entry":[
	{"fullUrl":"Patient/p1","resource":{"resourceType":"Patient","id":"p1","name":[{"family":"Big"}]}},
	{"fullUrl":"Observation/o1","resource":{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94558-4"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-01-01","valueString":"` + note + `"}}]}`)
}

func TestCardTooLargeForQR_SIZE3(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	big := bigObservationBundle(1200)
	_, err := f.is.IssueBundle(ctx, big, IssueOptions{})
	if !errors.Is(err, ErrCardTooLargeForQR) || !strings.Contains(err.Error(), "1195") {
		t.Fatalf("err = %v, want card_too_large_for_qr naming the 1195 limit", err)
	}
	if n, _ := f.st.AuditLog(ctx, 10); len(n) != 0 {
		t.Fatal("a refused issuance left cards in the store")
	}
	cards, err := f.is.IssueBundle(ctx, big, IssueOptions{Delivery: DeliverQRChunks})
	if err != nil {
		t.Fatal(err)
	}
	if len(cards[0].QR) < 2 || !strings.HasPrefix(cards[0].QR[0], "shc:/1/") {
		t.Fatalf("legacy chunks: %d texts", len(cards[0].QR))
	}
	if back, err := shc.DecodeQRText(cards[0].QR...); err != nil || back != cards[0].JWS {
		t.Fatalf("chunks do not rebuild the JWS: %v", err)
	}
	cards, err = f.is.IssueBundle(ctx, big, IssueOptions{Delivery: DeliverFile})
	if err != nil || len(cards[0].QR) != 0 || len(cards[0].JWS) <= 1195 {
		t.Fatalf("file delivery: %v", err)
	}
	// A higher error-correction level lowers the limit (927 at M).
	fm := newFixture(t, func(c *Config) { c.QRLevel = shc.QRLevelM })
	if fm.is.MaxSingleQRJWS() != 927 {
		t.Fatalf("M limit %d", fm.is.MaxSingleQRJWS())
	}
	_, err = fm.is.IssueBundle(ctx, bigObservationBundle(150), IssueOptions{})
	if err != nil {
		t.Fatalf("150 random bytes should fit at M: %v", err)
	}
	_, err = fm.is.IssueBundle(ctx, bigObservationBundle(450), IssueOptions{})
	if !errors.Is(err, ErrCardTooLargeForQR) {
		t.Fatalf("450 random bytes at M: %v", err)
	}
}

func TestNewConfigChecks(t *testing.T) {
	ok := Config{Iss: "https://x.example", Keys: StaticKeys{}, Store: memstore.New(), RIDSecret: testSecret}
	for name, mut := range map[string]func(*Config){
		"http iss":       func(c *Config) { c.Iss = "http://x.example" },
		"trailing slash": func(c *Config) { c.Iss = "https://x.example/" },
		"no keys":        func(c *Config) { c.Keys = nil },
		"no store":       func(c *Config) { c.Store = nil },
		"no rid secret":  func(c *Config) { c.RIDSecret = "" },
	} {
		c := ok
		mut(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted %+v", name, c)
		}
	}
	for _, iss := range []string{"https://x.example", "https://x.example/issuer", "did:web:x.example", "did:key:zDnaeTest"} {
		c := ok
		c.Iss = iss
		if _, err := New(c); err != nil {
			t.Errorf("iss %s refused: %v", iss, err)
		}
	}
}

func TestDiseaseOfCVX(t *testing.T) {
	for code, want := range map[string]string{"207": "covid-19", "08": "hepatitis-b", "8": "hepatitis-b", "158": "influenza", "206": "orthopoxvirus", "999999": ""} {
		if got := DiseaseOfCVX(code); got != want {
			t.Errorf("DiseaseOfCVX(%s) = %q, want %q", code, got, want)
		}
	}
}
