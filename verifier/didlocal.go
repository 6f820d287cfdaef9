package verifier

import (
	"crypto/ecdsa"
	"fmt"

	"github.com/healthcards/healthcards/did"
)

// DID support (a project extension, KEY-12) comes from package did behind
// didMethods, the small part of it the verifier needs.
type didMethods interface {
	// keyFromDIDKey returns the P-256 key inside a did:key.
	keyFromDIDKey(did string) (*ecdsa.PublicKey, error)
	// webBase returns the https base of a did:web (no trailing slash).
	webBase(did string) (string, error)
	// webDocURL returns the URL of a did:web's DID document.
	webDocURL(did string) (string, error)
	// docKeys parses a DID document that must have id did and returns its
	// JsonWebKey2020 assertion keys whose fragment is the thumbprint.
	docKeys(did string, data []byte) (*keySet, []string, error)
}

type didPackage struct{}

var _ didMethods = didPackage{}

func (didPackage) keyFromDIDKey(d string) (*ecdsa.PublicKey, error) { return did.ParseKey(d) }
func (didPackage) webBase(d string) (string, error)                 { return did.WebBase(d) }
func (didPackage) webDocURL(d string) (string, error)               { return did.WebURL(d) }

func (didPackage) docKeys(d string, data []byte) (*keySet, []string, error) {
	doc, err := did.ParseDocumentFor(d, data)
	if err != nil {
		return nil, nil, err
	}
	set := &keySet{}
	var warns []string
	ks := doc.Keys()
	if skipped := len(doc.VerificationMethod) - len(ks); skipped > 0 {
		warns = append(warns, fmt.Sprintf("%d DID verification method(s) skipped: not JsonWebKey2020 P-256 assertion keys named by their thumbprint", skipped))
	}
	for _, k := range ks {
		w := wireJWK{Kty: k.Kty, Kid: k.Kid, Use: k.Use, Alg: k.Alg, Crv: k.Crv, X: k.X, Y: k.Y}
		if k.CRLVersion != nil {
			v := flexInt(*k.CRLVersion)
			w.CRLVersion = &v
		}
		e, err := checkJWK(w)
		if err != nil {
			warns = append(warns, fmt.Sprintf("DID key %s skipped: %v", k.Kid, err))
			continue
		}
		set.add(e)
	}
	return set, warns, nil
}
