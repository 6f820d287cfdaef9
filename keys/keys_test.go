package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/internal/testvectors"
)

const (
	privateJWKSPath = "vci-generator/src/config/issuer.jwks.private.json"
	publicJWKSPath  = "vci-spec-site/examples/issuer/.well-known/jwks.json"
	kidK0           = "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s"
	kidEnc          = "7rIUtD5K5Izrptr3ywgESTxhgJtJSeb06V42hg7WUDs"
	kidK2           = "EBKOr72QQDcTBUuVzAzkfBTGew0ZA16GuWty64nS-sw"
)

// signAndVerify signs a digest with s and verifies it with pub.
func signAndVerify(t *testing.T, s crypto.Signer, pub *ecdsa.PublicKey) {
	t.Helper()
	digest := sha256.Sum256([]byte("healthcards"))
	sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		t.Fatal("signature does not verify with the public key")
	}
}

func wantCode(t *testing.T, err error, want *Error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want %s", want.Code)
	}
	if !errors.Is(err, want) || CodeOf(err) != want.Code {
		t.Fatalf("got error %v (code %q), want code %q", err, CodeOf(err), want.Code)
	}
}

func TestGenerate_KEY1_P256(t *testing.T) {
	a, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if a.Curve != elliptic.P256() {
		t.Fatalf("curve %v, want P-256", a.Curve.Params().Name)
	}
	if a.Equal(b) {
		t.Fatal("two generated keys are equal")
	}
}

func TestPublicJWK_KEY2_KEY11(t *testing.T) {
	priv, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	one := 1
	j := PublicJWK(&priv.PublicKey, &one)
	kid, _ := Thumbprint(&priv.PublicKey)
	if j.Kty != "EC" || j.Use != "sig" || j.Alg != "ES256" || j.Crv != "P-256" || j.Kid != kid {
		t.Fatalf("unexpected JWK %+v", j)
	}
	if j.CRLVersion == nil || *j.CRLVersion != 1 {
		t.Fatalf("crlVersion = %v, want 1", j.CRLVersion)
	}
	one = 5 // PublicJWK must copy, not alias
	if *j.CRLVersion != 1 {
		t.Fatal("PublicJWK aliases the caller's crlVersion")
	}
	pub, err := j.CheckSigning()
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(&priv.PublicKey) {
		t.Fatal("round trip changed the key")
	}
	b, _ := json.Marshal(j)
	if !bytes.Contains(b, []byte(`"crlVersion":1`)) {
		t.Fatalf("JSON lacks crlVersion: %s", b)
	}
	b, _ = json.Marshal(PublicJWK(&priv.PublicKey, nil))
	if bytes.Contains(b, []byte("crlVersion")) {
		t.Fatalf("JSON has crlVersion without one being set: %s", b)
	}
}

// TestSpecJWKS_KEY2_HDR4 checks the published example JWKS: every kid is the
// RFC 7638 thumbprint, K0 has crlVersion 1, K2 has x5c and no crlVersion.
func TestSpecJWKS_KEY2_HDR4(t *testing.T) {
	s, err := ParseJWKS(testvectors.Read(t, publicJWKSPath))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Keys) != 2 {
		t.Fatalf("%d keys, want 2", len(s.Keys))
	}
	for _, k := range s.Keys {
		pub, err := k.CheckSigning()
		if err != nil {
			t.Fatalf("kid %s: %v", k.Kid, err)
		}
		tp, _ := Thumbprint(pub)
		if tp != k.Kid {
			t.Fatalf("thumbprint %s != kid %s", tp, k.Kid)
		}
	}
	k0 := s.Lookup(kidK0)
	if len(k0) != 1 || k0[0].CRLVersion == nil || *k0[0].CRLVersion != 1 {
		t.Fatalf("K0 lookup = %+v", k0)
	}
	k2 := s.Lookup(kidK2)
	if len(k2) != 1 || k2[0].CRLVersion != nil || len(k2[0].X5C) != 3 {
		t.Fatalf("K2 lookup = %+v", k2)
	}
}

// TestJWKS_KEY7_DuplicateKid: the same kid may appear once per certificate;
// Lookup returns all entries and marshaling keeps them.
func TestJWKS_KEY7_DuplicateKid(t *testing.T) {
	s, err := ParseJWKS(testvectors.Read(t, publicJWKSPath))
	if err != nil {
		t.Fatal(err)
	}
	dup := s.Lookup(kidK2)[0]
	dup.X5C = dup.X5C[:1]
	s.Keys = append(s.Keys, dup)
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseJWKS(b)
	if err != nil {
		t.Fatal(err)
	}
	got := back.Lookup(kidK2)
	if len(got) != 2 || len(got[0].X5C) != 3 || len(got[1].X5C) != 1 {
		t.Fatalf("Lookup(K2) = %d entries %+v, want both", len(got), got)
	}
	if n := len(back.Lookup("nope")); n != 0 {
		t.Fatalf("Lookup(unknown) = %d entries", n)
	}
}

// TestPublicJWKS_NeverD_KEY2: a key set that publishes private key
// material (the private example file) is refused, and the error does not
// repeat the secret.
func TestPublicJWKS_NeverD_KEY2(t *testing.T) {
	raw := testvectors.Read(t, privateJWKSPath)
	if !bytes.Contains(raw, []byte(`"d"`)) {
		t.Fatal("test premise: the private file has d members")
	}
	_, err := ParseJWKS(raw)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `private member "d"`) || !strings.Contains(err.Error(), "KEY-2") {
		t.Fatalf("err = %v, want malformed_key naming d and KEY-2", err)
	}
	for _, d := range privateScalars(t) {
		if strings.Contains(err.Error(), d) {
			t.Fatal("the error repeats a private scalar")
		}
	}
	// A public set re-encoded from keys has no d.
	s, err := ParseJWKS(testvectors.Read(t, publicJWKSPath))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(s)
	if bytes.Contains(out, []byte(`"d"`)) {
		t.Fatalf("public JWKS JSON contains d: %s", out)
	}
}

// TestParseJWKS_PrivateMembers_KEY2: every private member of EC, RSA and
// oct keys, in any letter case and in any key of the set, refuses the set.
func TestParseJWKS_PrivateMembers_KEY2(t *testing.T) {
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := json.Marshal(PublicJWK(&k.PublicKey, nil))
	for _, m := range []string{"d", "D", "p", "q", "dp", "dq", "qi", "oth", "k", "Qi"} {
		withPriv := strings.TrimSuffix(string(pub), "}") + `,"` + m + `":"AAAA"}`
		set := `{"keys":[` + string(pub) + `,` + withPriv + `]}`
		_, err := ParseJWKS([]byte(set))
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `key 1 of the set publishes the private member "`+m+`"`) {
			t.Errorf("member %q: err = %v", m, err)
		}
	}
	if _, err := ParseJWKS([]byte(`{"keys":[` + string(pub) + `]}`)); err != nil {
		t.Fatalf("public set refused: %v", err)
	}
}

func privateScalars(t *testing.T) []string {
	t.Helper()
	var f struct {
		Keys []struct {
			D string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(testvectors.Read(t, privateJWKSPath), &f); err != nil {
		t.Fatal(err)
	}
	var ds []string
	for _, k := range f.Keys {
		ds = append(ds, k.D)
	}
	return ds
}

func publicKeyOf(t *testing.T, kid string) *ecdsa.PublicKey {
	t.Helper()
	s, err := ParseJWKS(testvectors.Read(t, publicJWKSPath))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := s.Lookup(kid)[0].CheckSigning()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// TestLoadPrivate_SpecKeys_KEY5: keys[0] and keys[2] of the published private
// file sign (verified against the published public JWKS); keys[1], the
// ECDH-ES encryption key, is refused.
func TestLoadPrivate_SpecKeys_KEY5(t *testing.T) {
	raw := testvectors.Read(t, privateJWKSPath)
	for _, kid := range []string{kidK0, kidK2} {
		t.Run(kid, func(t *testing.T) {
			k, err := LoadPrivate(raw, nil, kid)
			if err != nil {
				t.Fatal(err)
			}
			if k.KeyID() != kid {
				t.Fatalf("KeyID %s, want %s", k.KeyID(), kid)
			}
			signAndVerify(t, k, publicKeyOf(t, kid))
		})
	}
	k2, err := LoadPrivate(raw, nil, kidK2)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(k2.PublicJWK().X5C); n != 3 {
		t.Fatalf("K2 x5c has %d certs, want 3", n)
	}

	_, err = LoadPrivate(raw, nil, kidEnc)
	wantCode(t, err, ErrNotSigningKey)

	_, err = LoadPrivate(raw, nil, "")
	wantCode(t, err, ErrAmbiguousKey)
	msg := err.Error()
	if !strings.Contains(msg, kidK0) || !strings.Contains(msg, kidK2) || strings.Contains(msg, kidEnc) {
		t.Fatalf("ambiguity error should list the two signing kids only: %s", msg)
	}

	_, err = LoadPrivate(raw, nil, "no-such-kid")
	wantCode(t, err, ErrKeyNotFound)
}

// privateKeysOf returns the private example file's keys as generic maps.
func privateKeysOf(t *testing.T) []map[string]any {
	t.Helper()
	var f struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(testvectors.Read(t, privateJWKSPath), &f); err != nil {
		t.Fatal(err)
	}
	return f.Keys
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadPrivate_Rejects(t *testing.T) {
	ks := privateKeysOf(t)
	k0 := func() map[string]any {
		m := map[string]any{}
		for k, v := range ks[0] {
			m[k] = v
		}
		return m
	}
	edit := func(f func(m map[string]any)) []byte {
		m := k0()
		f(m)
		return mustJSON(t, m)
	}
	tests := []struct {
		name string
		data []byte
		kid  string
		want *Error
	}{
		{"d of another key", edit(func(m map[string]any) { m["d"] = ks[2]["d"] }), "", ErrKeyMismatch},
		{"kid not thumbprint", edit(func(m map[string]any) { m["kid"] = kidK2 }), "", ErrKeyMismatch},
		{"x5c of another key KEY-6", edit(func(m map[string]any) { m["x5c"] = ks[2]["x5c"] }), "", ErrKeyMismatch},
		{"x5c not base64", edit(func(m map[string]any) { m["x5c"] = []string{"%%%"} }), "", ErrMalformed},
		{"no d", edit(func(m map[string]any) { delete(m, "d") }), "", ErrMalformed},
		{"d short", edit(func(m map[string]any) { m["d"] = "AAAA" }), "", ErrMalformed},
		{"d zero", edit(func(m map[string]any) { m["d"] = base64.RawURLEncoding.EncodeToString(make([]byte, 32)) }), "", ErrMalformed},
		{"d padded base64", edit(func(m map[string]any) { m["d"] = m["d"].(string) + "=" }), "", ErrMalformed},
		{"P-384 KEY-1", edit(func(m map[string]any) { m["crv"] = "P-384" }), "", ErrUnsupportedKey},
		{"RSA", edit(func(m map[string]any) { m["kty"] = "RSA" }), "", ErrUnsupportedKey},
		{"point off curve", edit(func(m map[string]any) { m["y"] = m["x"] }), "", ErrMalformed},
		{"alg ES384", edit(func(m map[string]any) { m["alg"] = "ES384" }), "", ErrNotSigningKey},
		{"only key is enc KEY-5", mustJSON(t, ks[1]), "", ErrNotSigningKey},
		{"empty keys", []byte(`{"keys":[]}`), "", ErrKeyNotFound},
		{"not JSON", []byte(`{"kty":`), "", ErrMalformed},
		{"keys not array", []byte(`{"keys":{}}`), "", ErrMalformed},
		{"too large", append([]byte(`{"keys":[`), bytes.Repeat([]byte(" "), MaxJWKSBytes)...), "", ErrTooLarge},
		{"JWE-looking but garbage", []byte("a.b.c.d.e"), "", ErrPassphraseRequired},
		{"JSON array with dots", []byte(`["a.b.c.d.e"]`), "", ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := LoadPrivate(tc.data, nil, tc.kid)
			if k != nil {
				t.Fatal("non-nil key with error")
			}
			wantCode(t, err, tc.want)
		})
	}
}

func TestLoadPrivate_SingleJWKWithoutKid(t *testing.T) {
	m := privateKeysOf(t)[0]
	delete(m, "kid")
	delete(m, "use")
	delete(m, "alg")
	k, err := LoadPrivate(mustJSON(t, m), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if k.KeyID() != kidK0 {
		t.Fatalf("computed kid %s, want %s", k.KeyID(), kidK0)
	}
}

func newTestKey(t *testing.T) *PrivateKey {
	t.Helper()
	priv, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestPlainRoundTrip(t *testing.T) {
	k := newTestKey(t)
	data, err := MarshalPrivateJWK(k, nil)
	if err != nil {
		t.Fatal(err)
	}
	back, err := LoadPrivate(data, nil, k.KeyID())
	if err != nil {
		t.Fatal(err)
	}
	signAndVerify(t, back, k.Public().(*ecdsa.PublicKey))
	_, err = LoadPrivate(data, []byte("pw"), "")
	wantCode(t, err, ErrNotEncrypted)
}

// fastPBES2 makes key files written during the test use MinPBES2Count, the
// lowest count reading accepts, so that tests spend less time in PBKDF2.
func fastPBES2(t *testing.T) {
	t.Helper()
	pbes2WriteCount = MinPBES2Count
	t.Cleanup(func() { pbes2WriteCount = DefaultPBES2Count })
}

// TestEncryptedDefaultCount: files are written with DefaultPBES2Count and
// read back.
func TestEncryptedDefaultCount(t *testing.T) {
	k := newTestKey(t)
	data, err := MarshalPrivateJWK(k, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if p2c := jweHeader(t, data)["p2c"]; p2c != float64(DefaultPBES2Count) {
		t.Fatalf("p2c %v, want %d", p2c, DefaultPBES2Count)
	}
	back, err := LoadPrivate(data, []byte("pw"), "")
	if err != nil || back.KeyID() != k.KeyID() {
		t.Fatalf("LoadPrivate: %v", err)
	}
}

func TestEncryptedRoundTrip(t *testing.T) {
	fastPBES2(t)
	k := newTestKey(t)
	pass := []byte("correct horse battery staple")
	data, err := MarshalPrivateJWK(k, pass)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(`"d"`)) || data[0] == '{' {
		t.Fatal("encrypted output is not opaque")
	}
	hdr := jweHeader(t, data)
	if hdr["alg"] != "PBES2-HS512+A256KW" || hdr["enc"] != "A256GCM" || hdr["cty"] != "jwk+json" {
		t.Fatalf("unexpected JWE header %v", hdr)
	}
	back, err := LoadPrivate(data, pass, "")
	if err != nil {
		t.Fatal(err)
	}
	if back.KeyID() != k.KeyID() {
		t.Fatal("kid changed in round trip")
	}
	signAndVerify(t, back, k.Public().(*ecdsa.PublicKey))

	t.Run("no passphrase", func(t *testing.T) {
		_, err := LoadPrivate(data, nil, "")
		wantCode(t, err, ErrPassphraseRequired)
	})
	t.Run("wrong passphrase", func(t *testing.T) {
		_, err := LoadPrivate(data, []byte("wrong"), "")
		wantCode(t, err, ErrDecrypt)
	})
	t.Run("tampered ciphertext", func(t *testing.T) {
		parts := strings.Split(string(data), ".")
		ct := []byte(parts[3])
		// Another base64url letter (a XOR could turn '-' into '.' and make
		// the file not look like a JWE at all, which is not this case).
		if ct[5] == 'A' {
			ct[5] = 'B'
		} else {
			ct[5] = 'A'
		}
		parts[3] = string(ct)
		_, err := LoadPrivate([]byte(strings.Join(parts, ".")), pass, "")
		if CodeOf(err) != CodeDecrypt && CodeOf(err) != CodeMalformed {
			t.Fatalf("tampered file: got %v", err)
		}
	})
	t.Run("tampered header", func(t *testing.T) {
		hdr := jweHeader(t, data)
		hdr["kid"] = "x"
		_, err := LoadPrivate(withHeader(t, data, hdr), pass, "")
		wantCode(t, err, ErrDecrypt)
	})
}

func jweHeader(t *testing.T, jwe []byte) map[string]any {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(strings.SplitN(string(jwe), ".", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(h, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func withHeader(t *testing.T, jwe []byte, hdr map[string]any) []byte {
	t.Helper()
	parts := strings.SplitN(string(jwe), ".", 2)
	return []byte(base64.RawURLEncoding.EncodeToString(mustJSON(t, hdr)) + "." + parts[1])
}

// TestPBES2CountBounds: an attacker-supplied p2c outside the accepted range
// is refused before any key derivation runs.
func TestPBES2CountBounds(t *testing.T) {
	fastPBES2(t)
	k := newTestKey(t)
	data, err := MarshalPrivateJWK(k, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p2c := range []any{float64(MaxPBES2Count + 1), 1e12, float64(MinPBES2Count - 1), 0, -5, 600000.5, "600000"} {
		t.Run(fmt.Sprint(p2c), func(t *testing.T) {
			hdr := jweHeader(t, data)
			hdr["p2c"] = p2c
			_, err := LoadPrivate(withHeader(t, data, hdr), []byte("pw"), "")
			wantCode(t, err, ErrBadPBES2Count)
		})
	}
	t.Run("other algorithm", func(t *testing.T) {
		hdr := jweHeader(t, data)
		hdr["alg"] = "PBES2-HS256+A128KW"
		_, err := LoadPrivate(withHeader(t, data, hdr), []byte("pw"), "")
		wantCode(t, err, ErrMalformed)
	})
}

func TestWriteReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "issuer.jwk")
	k := newTestKey(t)
	if err := WritePrivateFile(path, k, nil); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	// Overwrite: still one file, no temp leftovers.
	k2 := newTestKey(t)
	if err := WritePrivateFile(path, k2, nil); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("directory has %d entries, want 1", len(ents))
	}
	back, err := ReadPrivateFile(path, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if back.KeyID() != k2.KeyID() {
		t.Fatal("read back the wrong key")
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, MaxJWKSBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = ReadPrivateFile(big, nil, "")
	wantCode(t, err, ErrTooLarge)
	_, err = ReadPrivateFile(filepath.Join(dir, "missing"), nil, "")
	wantCode(t, err, ErrIO)
}

// TestNoPrivateLeak: fmt, slog and encoding/json never render d.
func TestNoPrivateLeak(t *testing.T) {
	raw := testvectors.Read(t, privateJWKSPath)
	k, err := LoadPrivate(raw, nil, kidK0)
	if err != nil {
		t.Fatal(err)
	}
	dB64 := privateScalars(t)[0]
	db, _ := base64.RawURLEncoding.DecodeString(dB64)
	forbidden := []string{dB64, fmt.Sprintf("%x", db), fmt.Sprintf("%X", db), k.key.D.String()}

	var outs []string
	wrapped := struct{ K *PrivateKey }{k}
	var s Signer = k
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		outs = append(outs, fmt.Sprintf(f, k), fmt.Sprintf(f, wrapped), fmt.Sprintf(f, &wrapped), fmt.Sprintf(f, s))
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("key", "k", k, "s", s)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("key", "k", k)
	outs = append(outs, buf.String())
	j, err := json.Marshal(wrapped)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	for _, o := range outs {
		for _, f := range forbidden {
			if strings.Contains(strings.ToLower(o), strings.ToLower(f)) {
				t.Fatalf("output leaks the private scalar: %s", o)
			}
		}
		if strings.Contains(o, `"d"`) {
			t.Fatalf("output has a d member: %s", o)
		}
	}
	if !strings.Contains(buf.String(), kidK0) {
		t.Fatalf("log output should name the kid: %s", buf.String())
	}
}

func TestSign_ES256Only(t *testing.T) {
	k := newTestKey(t)
	d384 := make([]byte, 48)
	_, err := k.Sign(rand.Reader, d384, crypto.SHA384)
	wantCode(t, err, ErrSign)
	_, err = k.Sign(rand.Reader, make([]byte, 20), crypto.SHA256)
	wantCode(t, err, ErrSign)
}

func TestNewPrivateKey_RejectsOtherCurves(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewPrivateKey(p384)
	wantCode(t, err, ErrUnsupportedKey)
	_, err = NewPrivateKey(nil)
	wantCode(t, err, ErrUnsupportedKey)
}

func TestParseJWKS_Bounds(t *testing.T) {
	_, err := ParseJWKS([]byte(`{}`))
	wantCode(t, err, ErrMalformed)
	many := `{"keys":[` + strings.Repeat(`{},`, MaxJWKSKeys) + `{}]}`
	_, err = ParseJWKS([]byte(many))
	wantCode(t, err, ErrTooLarge)
}

func TestThumbprint_RejectsNonP256(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, pub := range []*ecdsa.PublicKey{nil, &p384.PublicKey} {
		if kid, err := Thumbprint(pub); err == nil || kid != "" {
			t.Fatalf("Thumbprint accepted a non-P-256 key: %q", kid)
		}
	}
}
