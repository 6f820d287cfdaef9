package verifier

import (
	"crypto/ecdsa"
	"encoding/json"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/did"
	"github.com/healthcards/healthcards/shc"
)

func didKeyOf(pub *ecdsa.PublicKey) string { return did.KeyFromPublic(pub) }

// did:key test vector from the did:key specification (P-256 section).
func TestDIDKeySpecVector(t *testing.T) {
	const vec = "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169"
	pub, err := didPackage{}.keyFromDIDKey(vec)
	if err != nil {
		t.Fatal(err)
	}
	if didKeyOf(pub) != vec {
		t.Fatalf("round trip gave %s", didKeyOf(pub))
	}
	for _, bad := range []string{"did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK" /* Ed25519 */, "did:key:zzz", "did:key:f00"} {
		if _, err := (didPackage{}).keyFromDIDKey(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// A did:key issuer is trusted only when a trust source lists it.
func TestDIDKeyIssuer(t *testing.T) {
	k := newKey(t)
	iss := didKeyOf(&k.PublicKey)
	card := signCard(t, k, iss, cardNBF, nil)
	v, _ := New(WithOffline(), WithClock(at(cardNBF+60)), WithTrustedIssuers(testIss))
	wantCode(t, verifyOne(t, v, card), VerdictUntrusted, CodeUntrustedIssuer)
	v, err := New(WithOffline(), WithClock(at(cardNBF+60)), WithTrustedIssuers(iss))
	if err != nil {
		t.Fatal(err)
	}
	r := verifyOne(t, v, card)
	wantCode(t, r, VerdictVerified, "")
	// The kid must be the thumbprint of the DID's own key.
	other := newKey(t)
	wantCode(t, verifyOne(t, v, signCard(t, other, iss, cardNBF, nil)), VerdictInvalid, CodeKeyNotFound)
}

func didDoc(t *testing.T, did string, k *ecdsa.PrivateKey, typ string) []byte {
	var set struct{ Keys []map[string]any }
	json.Unmarshal(jwksOf(t, map[string]any{"crlVersion": 1}, k), &set)
	kid := set.Keys[0]["kid"].(string)
	doc := map[string]any{
		"id": did,
		"verificationMethod": []any{map[string]any{
			"id": did + "#" + kid, "type": typ, "controller": did, "publicKeyJwk": set.Keys[0],
		}},
		"assertionMethod": []string{"#" + kid},
	}
	b, _ := json.Marshal(doc)
	return b
}

// did:web: the DID document is resolved through the guarded fetcher, its id
// must match, and revocation lists live under the DID's https base.
func TestDIDWebIssuer(t *testing.T) {
	const did = "did:web:issuer.example:org:a"
	if u, _ := (didPackage{}).webDocURL("did:web:example.com%3A8443"); u != "https://example.com:8443/.well-known/did.json" {
		t.Fatalf("did:web URL %s", u)
	}
	if u, _ := (didPackage{}).webDocURL(did); u != "https://issuer.example/org/a/did.json" {
		t.Fatalf("did:web URL %s", u)
	}
	k := newKey(t)
	kid, _ := keysThumb(t, k)
	h := newIssuerHost(t)
	h.serve("/org/a/did.json", didDoc(t, did, k, "JsonWebKey2020"))
	h.serve("/org/a/.well-known/crl/"+kid+".json", crlJSON(kid, 1, "bad1"))
	v, err := New(append(netOpts(h.Server), WithClock(at(cardNBF+60)), WithTrustedIssuers(did), WithIssuerMirror(did, h.URL+"/org/a"))...)
	if err != nil {
		t.Fatal(err)
	}
	r := verifyOne(t, v, signCard(t, k, did, cardNBF, func(p *shc.Payload) { p.VC.RID = "ok1" }))
	wantCode(t, r, VerdictVerified, "")
	wantCode(t, verifyOne(t, v, signCard(t, k, did, cardNBF, func(p *shc.Payload) { p.VC.RID = "bad1" })), VerdictInvalid, CodeRevoked)
	// A document for another DID, or with a non-JWK2020 method, gives no key.
	for name, doc := range map[string][]byte{
		"wrong id":   didDoc(t, "did:web:evil.example", k, "JsonWebKey2020"),
		"wrong type": didDoc(t, did, k, "EcdsaSecp256k1VerificationKey2019"),
	} {
		h2 := newIssuerHost(t)
		h2.serve("/org/a/did.json", doc)
		v, _ := New(append(netOpts(h2.Server), WithClock(at(cardNBF+60)), WithTrustedIssuers(did), WithIssuerMirror(did, h2.URL+"/org/a"))...)
		r := verifyOne(t, v, signCard(t, k, did, cardNBF, nil))
		if r.Valid || (!strings.Contains(name, "id") && CodeOf(r.Err()) != CodeKeyNotFound) || (strings.Contains(name, "id") && CodeOf(r.Err()) != CodeIssuerUnreachable) {
			t.Fatalf("%s: %+v", name, r.Errors)
		}
	}
}
