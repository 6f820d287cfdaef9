package verifier

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// DID support (a project extension, KEY-12). Package did is being written
// in parallel; until it is committed, this file holds the small part of it
// the verifier needs, behind didMethods so package did can be swapped in.
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

type localDID struct{}

var _ didMethods = localDID{}

const b58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

func base58Decode(s string) ([]byte, error) {
	if len(s) == 0 || len(s) > 128 {
		return nil, fmt.Errorf("bad base58 length")
	}
	n := new(big.Int)
	radix := big.NewInt(58)
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(b58, s[i])
		if d < 0 {
			return nil, fmt.Errorf("bad base58 character %q", s[i])
		}
		n.Mul(n, radix)
		n.Add(n, big.NewInt(int64(d)))
	}
	b := n.Bytes()
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	return append(make([]byte, zeros), b...), nil
}

// keyFromDIDKey decodes did:key:z<base58btc(0x80 0x24 || compressed P-256 point)>
// (multicodec p256-pub 0x1200 as an unsigned varint).
func (localDID) keyFromDIDKey(did string) (*ecdsa.PublicKey, error) {
	mb, ok := strings.CutPrefix(did, "did:key:")
	if !ok || !strings.HasPrefix(mb, "z") || strings.ContainsAny(mb, "#?/") {
		return nil, fmt.Errorf("%.80q is not a base58btc did:key", did)
	}
	raw, err := base58Decode(mb[1:])
	if err != nil {
		return nil, fmt.Errorf("did:key: %w", err)
	}
	if len(raw) != 35 || raw[0] != 0x80 || raw[1] != 0x24 {
		return nil, fmt.Errorf("did:key is not a P-256 key (multicodec 0x1200, 33-byte compressed point)")
	}
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), raw[2:])
	if x == nil {
		return nil, fmt.Errorf("did:key point is not on P-256")
	}
	pt := make([]byte, 65)
	pt[0] = 4
	x.FillBytes(pt[1:33])
	y.FillBytes(pt[33:])
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
}

func (localDID) webBase(did string) (string, error) {
	rest, ok := strings.CutPrefix(did, "did:web:")
	if !ok || rest == "" || len(did) > maxIssuerLen || strings.ContainsAny(rest, "/?#@ ") {
		return "", fmt.Errorf("%.80q is not a did:web", did)
	}
	parts := strings.Split(rest, ":")
	host := strings.Replace(parts[0], "%3A", ":", 1)
	host = strings.Replace(host, "%3a", ":", 1)
	if host == "" || strings.Contains(host, "%") {
		return "", fmt.Errorf("%.80q has a bad host", did)
	}
	var b strings.Builder
	b.WriteString("https://" + strings.ToLower(host))
	for _, p := range parts[1:] {
		if p == "" || p == "." || p == ".." || strings.Contains(p, "%") {
			return "", fmt.Errorf("%.80q has a bad path segment", did)
		}
		b.WriteString("/" + p)
	}
	return b.String(), nil
}

func (l localDID) webDocURL(did string) (string, error) {
	base, err := l.webBase(did)
	if err != nil {
		return "", err
	}
	if strings.Count(strings.TrimPrefix(did, "did:web:"), ":") == 0 {
		return base + "/.well-known/did.json", nil
	}
	return base + "/did.json", nil
}

func (localDID) docKeys(did string, data []byte) (*keySet, []string, error) {
	var doc struct {
		ID                 string `json:"id"`
		VerificationMethod []struct {
			ID           string          `json:"id"`
			Type         string          `json:"type"`
			Controller   string          `json:"controller"`
			PublicKeyJwk json.RawMessage `json:"publicKeyJwk"`
		} `json:"verificationMethod"`
		AssertionMethod []json.RawMessage `json:"assertionMethod"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("DID document is not JSON: %w", err)
	}
	if doc.ID != did {
		return nil, nil, fmt.Errorf("DID document id %.80q is not %s", doc.ID, did)
	}
	if len(doc.VerificationMethod) > maxKeysPerIssuer || len(doc.AssertionMethod) > maxKeysPerIssuer {
		return nil, nil, fmt.Errorf("DID document lists more than %d methods", maxKeysPerIssuer)
	}
	frag := func(id string) string {
		if rest, ok := strings.CutPrefix(id, did); ok {
			id = rest
		}
		f, ok := strings.CutPrefix(id, "#")
		if !ok {
			return ""
		}
		return f
	}
	asserted := map[string]bool{}
	for _, a := range doc.AssertionMethod {
		var s string
		if json.Unmarshal(a, &s) == nil {
			asserted[frag(s)] = true
		}
	}
	set := &keySet{}
	var warns []string
	for i, m := range doc.VerificationMethod {
		f := frag(m.ID)
		if f == "" || !asserted[f] {
			continue
		}
		if m.Type != "JsonWebKey2020" || (m.Controller != "" && m.Controller != did) {
			warns = append(warns, fmt.Sprintf("DID method %d skipped: type %.40q controller %.80q", i, m.Type, m.Controller))
			continue
		}
		var w wireJWK
		if err := json.Unmarshal(m.PublicKeyJwk, &w); err != nil {
			warns = append(warns, fmt.Sprintf("DID method %d skipped: %v", i, err))
			continue
		}
		if w.Kid == "" {
			w.Kid = f
		}
		if w.Kid != f {
			warns = append(warns, fmt.Sprintf("DID method %d skipped: kid %.64q is not its fragment", i, w.Kid))
			continue
		}
		e, err := checkJWK(w) // kid must be the thumbprint
		if err != nil {
			warns = append(warns, fmt.Sprintf("DID method %d skipped: %v", i, err))
			continue
		}
		set.add(e)
	}
	return set, warns, nil
}
