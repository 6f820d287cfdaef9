package verifier

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/keys"
)

// FuzzParseDirectory: a directory never panics; on success every issuer
// has a well-formed iss and every key kept is a P-256 key whose kid is its
// thumbprint.
func FuzzParseDirectory(f *testing.F) {
	if testvectors.Available() {
		b, err := os.ReadFile(filepath.Join(testvectors.Dir(f), "third-party/seanno-shc-demo-data/keystore/directory.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(exampleDirectory(f, publishedCRL(f)))
	}
	f.Add([]byte(`{"issuerInfo":[{"issuer":{"iss":"https://a.example"},"keys":[{"kty":"EC","crlVersion":"2"}],"crls":[{"kid":"k","ctr":"1","rids":["a.1"]}]}]}`))
	f.Add([]byte(`{"issuerInfo":[1,null,{"issuer":null},{"issuer":{"iss":"http://x/"}}],"time":"yesterday"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, _, err := parseDirectory("fuzz", data)
		if err != nil {
			if d != nil {
				t.Fatal("directory and error both returned")
			}
			return
		}
		for _, is := range d.issuers {
			if checkIssuerSyntax(is.iss) != nil {
				t.Fatalf("bad iss kept: %q", is.iss)
			}
			for kid, l := range is.keys.byKid {
				for _, k := range l {
					if tp, err := keys.Thumbprint(k.pub); err != nil || tp != kid {
						t.Fatalf("key %q kept with thumbprint %q", kid, tp)
					}
				}
			}
			for kid, c := range is.crls {
				if c.kid != kid {
					t.Fatalf("crl filed under %q names %q", kid, c.kid)
				}
			}
		}
	})
}

// FuzzDIDDocument: a DID document never panics, is accepted only with the
// expected id, and yields only keys whose kid is their thumbprint.
func FuzzDIDDocument(f *testing.F) {
	f.Add("did:web:example.com", []byte(`{"id":"did:web:example.com","verificationMethod":[{"id":"#k","type":"JsonWebKey2020","controller":"did:web:example.com","publicKeyJwk":{"kty":"EC","crv":"P-256","x":"","y":""}}],"assertionMethod":["#k"]}`))
	f.Add("did:web:example.com:a", []byte(`{"id":"did:web:example.com:a","assertionMethod":[{"id":"x"}],"verificationMethod":null}`))
	f.Fuzz(func(t *testing.T, did string, data []byte) {
		set, _, err := didPackage{}.docKeys(did, data)
		if err != nil {
			return
		}
		for kid, l := range set.byKid {
			for _, k := range l {
				if tp, err := keys.Thumbprint(k.pub); err != nil || tp != kid {
					t.Fatalf("key %q kept with thumbprint %q", kid, tp)
				}
			}
		}
		_, _ = didPackage{}.webDocURL(did)
		_, _ = didPackage{}.keyFromDIDKey(did)
	})
}
