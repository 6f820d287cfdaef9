package did

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/keys"
)

// vectorJWK is the public key of the second W3C P-256 did:key vector.
func vectorJWK(t testing.TB) keys.JWK {
	t.Helper()
	pub, err := ParseKey(w3cP256Vectors[1].did)
	if err != nil {
		t.Fatal(err)
	}
	return keys.PublicJWK(pub, nil)
}

func documentSeeds(t testing.TB) [][]byte {
	t.Helper()
	k := vectorJWK(t)
	web := NewDocument("did:web:example.com", []keys.JWK{k})
	b1, err := json.Marshal(web)
	if err != nil {
		t.Fatal(err)
	}
	rel := `{"@context":"https://www.w3.org/ns/did/v1","id":"did:web:example.com","verificationMethod":[{"id":"#` + k.Kid +
		`","type":"JsonWebKey2020","controller":"did:web:example.com","publicKeyJwk":{"kty":"EC","crv":"P-256","x":"` + k.X + `","y":"` + k.Y + `"}}],"assertionMethod":["#` + k.Kid + `"]}`
	emb := `{"id":"did:key:z","assertionMethod":[{"id":"did:key:z#` + k.Kid + `","type":"JsonWebKey2020","controller":"did:key:z","publicKeyJwk":{"kty":"EC","crv":"P-256","x":"` + k.X + `","y":"` + k.Y + `","d":"AAAA"}}]}`
	return [][]byte{b1, []byte(rel), []byte(emb), []byte(`{"id":"did:web:a.b","assertionMethod":[1]}`), []byte(`{}`), []byte(`null`)}
}

// FuzzParseDocument checks: no panic; nil document on error and every error
// an *Error with a code; on success every key from Keys() is a valid P-256
// signing key whose kid is a method fragment, and re-encoding the document
// gives the same id and keys.
func FuzzParseDocument(f *testing.F) {
	seeds := documentSeeds(f)
	if len(seeds) == 0 {
		f.Fatal("empty seed corpus")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParseDocument(data)
		if err != nil {
			if doc != nil {
				t.Fatal("non-nil document with error")
			}
			if CodeOf(err) == "" {
				t.Fatalf("error without code: %v", err)
			}
			return
		}
		ks := doc.Keys()
		for _, k := range ks {
			if _, err := k.CheckSigning(); err != nil {
				t.Fatalf("Keys() returned an invalid key: %v", err)
			}
		}
		again, err := json.Marshal(doc)
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		if len(again) > MaxDocumentBytes {
			return // escaping may grow the document past the bound
		}
		doc2, err := ParseDocument(again)
		if err != nil {
			t.Fatalf("re-encoded document does not parse: %v\n%s", err, again)
		}
		if doc2.ID != doc.ID || strings.Join(kids(doc2.Keys()), ",") != strings.Join(kids(ks), ",") {
			t.Fatalf("round trip changed the document:\n%s", again)
		}
	})
}

// FuzzParseKey checks: no panic; nil key and a coded error on failure; on
// success the DID is canonical (KeyFromPublic gives it back byte for byte).
func FuzzParseKey(f *testing.F) {
	for _, v := range w3cP256Vectors {
		f.Add(v.did)
	}
	for _, s := range []string{w3cP384DID, w3cEd25519DID, "did:key:z", "did:key:zDn", "did:key:z1111", "did:web:example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pub, err := ParseKey(s)
		if err != nil {
			if pub != nil {
				t.Fatal("non-nil key with error")
			}
			if CodeOf(err) == "" {
				t.Fatalf("error without code: %v", err)
			}
			return
		}
		if got := KeyFromPublic(pub); got != s {
			t.Fatalf("not canonical: %q re-encodes as %q", s, got)
		}
	})
}

// FuzzWebURL checks that every accepted did:web maps to an https URL with
// no traversal segment.
func FuzzWebURL(f *testing.F) {
	for _, s := range []string{"did:web:example.com", "did:web:example.com%3A8443:a:b", "did:web:example.com:..", "did:web:127.0.0.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := WebURL(s)
		if err != nil {
			if u != "" || CodeOf(err) != CodeMalformedDID {
				t.Fatalf("bad failure: %q %v", u, err)
			}
			return
		}
		if !strings.HasPrefix(u, "https://") || !strings.HasSuffix(u, "/did.json") {
			t.Fatalf("odd URL %q", u)
		}
		for _, seg := range strings.Split(strings.TrimPrefix(u, "https://"), "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("URL %q has segment %q", u, seg)
			}
		}
	})
}
