package issuer

import (
	"crypto/ecdsa"

	"github.com/healthcards/healthcards/keys"
)

// StaticKeys is a KeySet with one fixed signing key and optional extra
// published (no longer signing) public keys: for a PKCS#11 key, tests and
// examples. Use keys.Ring for rotation.
type StaticKeys struct {
	Signer    keys.Signer
	Published []keys.JWK // extra public keys to publish (e.g. rotated out)
}

var _ KeySet = StaticKeys{}

// Active returns the signer.
func (s StaticKeys) Active() (keys.Signer, error) {
	if s.Signer == nil {
		return nil, errf(CodeNoSigningKey, "no signing key")
	}
	return s.Signer, nil
}

// PublicJWKS returns the signer's public JWK and the extra keys, each with
// crlVersion when crlVersion is not nil.
func (s StaticKeys) PublicJWKS(crlVersion func(kid string) int) keys.JWKS {
	out := keys.JWKS{Keys: []keys.JWK{}}
	add := func(j keys.JWK) {
		j.CRLVersion = nil
		if crlVersion != nil {
			v := crlVersion(j.Kid)
			j.CRLVersion = &v
		}
		out.Keys = append(out.Keys, j)
	}
	if s.Signer != nil {
		if pk, ok := s.Signer.(interface{ PublicJWK() keys.JWK }); ok {
			add(pk.PublicJWK())
		} else if pub, ok := s.Signer.Public().(*ecdsa.PublicKey); ok {
			add(keys.PublicJWK(pub, nil))
		}
	}
	for _, j := range s.Published {
		add(j)
	}
	return out
}
