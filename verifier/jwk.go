package verifier

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/healthcards/healthcards/keys"
)

// flexInt is a non-negative integer written as a JSON number or a decimal
// string: VCI's CRL template shows ctr as a string, the examples as a number
// (REV-4), and directories in the wild carry both.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || v < 0 || v != math.Trunc(v) || v > 1<<53 {
		return fmt.Errorf("want a non-negative integer, got %.20q", b)
	}
	*f = flexInt(v)
	return nil
}

// wireJWK is a public JWK as found in key sets, directories and DID
// documents. Unknown members (x5c, d, ...) are ignored.
type wireJWK struct {
	Kty        string   `json:"kty"`
	Kid        string   `json:"kid"`
	Use        string   `json:"use"`
	Alg        string   `json:"alg"`
	Crv        string   `json:"crv"`
	X          string   `json:"x"`
	Y          string   `json:"y"`
	CRLVersion *flexInt `json:"crlVersion"`
}

// keyEntry is a checked signing key, parsed once and kept as an
// *ecdsa.PublicKey so the hot path never re-parses JWKs.
type keyEntry struct {
	kid        string
	pub        *ecdsa.PublicKey
	crlVersion int64 // 0: the issuer does not support revocation for this key
}

// keySet holds checked keys by kid. A kid may appear several times (KEY-7):
// byKid keeps every entry.
type keySet struct {
	byKid map[string][]keyEntry
}

func (s *keySet) lookup(kid string) []keyEntry {
	if s == nil {
		return nil
	}
	return s.byKid[kid]
}

func (s *keySet) add(e keyEntry) {
	if s.byKid == nil {
		s.byKid = map[string][]keyEntry{}
	}
	s.byKid[e.kid] = append(s.byKid[e.kid], e)
}

func (s *keySet) len() int {
	if s == nil {
		return 0
	}
	n := 0
	for _, l := range s.byKid {
		n += len(l)
	}
	return n
}

// checkJWK accepts only an EC P-256 key with use "sig" (or absent), alg
// ES256 (or absent) and kid equal to its RFC 7638 thumbprint (KEY-1, KEY-2,
// KEY-5, HDR-4). The checks are those of keys.JWK.CheckSigning.
func checkJWK(w wireJWK) (keyEntry, error) {
	if w.Kid == "" {
		return keyEntry{}, fmt.Errorf("key without kid")
	}
	j := keys.JWK{Kty: w.Kty, Kid: w.Kid, Use: w.Use, Alg: w.Alg, Crv: w.Crv, X: w.X, Y: w.Y}
	pub, err := j.CheckSigning()
	if err != nil {
		return keyEntry{}, err
	}
	e := keyEntry{kid: w.Kid, pub: pub}
	if w.CRLVersion != nil {
		e.crlVersion = int64(*w.CRLVersion)
	}
	return e, nil
}

// parseKeySet parses a JWKS. Entries that are not acceptable signing keys
// are skipped with a warning; a set that is not a JSON object with a "keys"
// array is an error.
func parseKeySet(data []byte) (*keySet, []string, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, fmt.Errorf("key set is not JSON: %w", err)
	}
	if raw.Keys == nil {
		return nil, nil, fmt.Errorf(`key set has no "keys" array`)
	}
	if len(raw.Keys) > maxKeysPerIssuer {
		return nil, nil, fmt.Errorf("key set has %d keys, limit %d", len(raw.Keys), maxKeysPerIssuer)
	}
	if err := checkNoPrivate(raw.Keys); err != nil {
		return nil, nil, err
	}
	set, warns := parseKeyList(raw.Keys)
	return set, warns, nil
}

// checkNoPrivate refuses a key list in which any key publishes private
// key material: such a set is no trust source, and the key is compromised
// (KEY-2).
func checkNoPrivate(list []json.RawMessage) error {
	for i, r := range list {
		var m map[string]json.RawMessage
		if json.Unmarshal(r, &m) != nil {
			continue // not an object: skipped with a warning by parseKeyList
		}
		if name, ok := keys.PrivateMember(m); ok {
			return fmt.Errorf("key %d of the set publishes the private member %q: the set is refused as a trust source and that key is compromised (KEY-2)", i, name)
		}
	}
	return nil
}

// parseKeyList parses the keys of a set. A list in which any key publishes
// private key material yields no keys, only a warning (see checkNoPrivate).
func parseKeyList(list []json.RawMessage) (*keySet, []string) {
	set := &keySet{}
	var warns []string
	if err := checkNoPrivate(list); err != nil {
		return set, []string{err.Error()}
	}
	for i, r := range list {
		var w wireJWK
		if err := json.Unmarshal(r, &w); err != nil {
			warns = append(warns, fmt.Sprintf("key %d skipped: %v", i, err))
			continue
		}
		e, err := checkJWK(w)
		if err != nil {
			warns = append(warns, fmt.Sprintf("key %d (%.64s) skipped: %v", i, w.Kid, err))
			continue
		}
		set.add(e)
	}
	return set, warns
}
