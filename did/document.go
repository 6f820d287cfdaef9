package did

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/healthcards/healthcards/keys"
)

// Bounds on DID documents.
const (
	// MaxDocumentBytes bounds a DID document.
	MaxDocumentBytes = 64 << 10
	// MaxMethods bounds verificationMethod, assertionMethod and
	// authentication entries each.
	MaxMethods = 32
)

// MethodTypeJWK2020 is the verification method type this package writes and
// reads.
const MethodTypeJWK2020 = "JsonWebKey2020"

// Contexts written by NewDocument.
var defaultContext = json.RawMessage(`["https://www.w3.org/ns/did/v1","https://w3id.org/security/suites/jws-2020/v1"]`)

// Document is a DID document, reduced to what key discovery needs.
type Document struct {
	Context            json.RawMessage      `json:"@context,omitempty"`
	ID                 string               `json:"id"`
	VerificationMethod []VerificationMethod `json:"verificationMethod,omitempty"`
	AssertionMethod    []Reference          `json:"assertionMethod,omitempty"`
	Authentication     []Reference          `json:"authentication,omitempty"`
}

// VerificationMethod is a JsonWebKey2020 verification method.
type VerificationMethod struct {
	ID           string   `json:"id"`
	Type         string   `json:"type"`
	Controller   string   `json:"controller"`
	PublicKeyJwk keys.JWK `json:"publicKeyJwk"`
}

// Reference is an entry of a verification relationship (assertionMethod,
// authentication): either a method id (absolute or "#fragment") or an
// embedded verification method.
type Reference struct {
	ID     string
	Method *VerificationMethod
}

// MarshalJSON writes the id string, or the embedded method.
func (r Reference) MarshalJSON() ([]byte, error) {
	if r.Method != nil {
		return json.Marshal(r.Method)
	}
	return json.Marshal(r.ID)
}

// UnmarshalJSON reads a string id or an embedded method object.
func (r *Reference) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var m VerificationMethod
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		*r = Reference{Method: &m}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*r = Reference{ID: s}
	return nil
}

// NewDocument builds the DID document of did for keys: one JsonWebKey2020
// method per key with id "<did>#<thumbprint>", listed in assertionMethod
// (card signing) and authentication. Keys that are not valid P-256 signing
// keys with kid = thumbprint are left out.
func NewDocument(did string, ks []keys.JWK) Document {
	d := Document{Context: append(json.RawMessage(nil), defaultContext...), ID: did}
	for _, k := range ks {
		if _, err := k.CheckSigning(); err != nil {
			continue
		}
		id := did + "#" + k.Kid
		d.VerificationMethod = append(d.VerificationMethod, VerificationMethod{
			ID: id, Type: MethodTypeJWK2020, Controller: did, PublicKeyJwk: k,
		})
		d.AssertionMethod = append(d.AssertionMethod, Reference{ID: id})
		d.Authentication = append(d.Authentication, Reference{ID: id})
	}
	return d
}

// ParseDocument parses a DID document of at most MaxDocumentBytes, with at
// most MaxMethods entries per list and an id that is a DID. It does not
// check which DID it belongs to; Resolver.Resolve does.
func ParseDocument(data []byte) (*Document, error) {
	if len(data) > MaxDocumentBytes {
		return nil, newErr(CodeTooLarge, fmt.Sprintf("DID document is %d bytes, limit %d", len(data), MaxDocumentBytes), nil)
	}
	var d Document
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, newErr(CodeMalformedDocument, "DID document is not valid JSON", err)
	}
	if !strings.HasPrefix(d.ID, "did:") || strings.ContainsAny(d.ID, "#?/") {
		return nil, newErr(CodeMalformedDocument, fmt.Sprintf("DID document id %q is not a DID", d.ID), nil)
	}
	if len(d.VerificationMethod) > MaxMethods || len(d.AssertionMethod) > MaxMethods || len(d.Authentication) > MaxMethods {
		return nil, newErr(CodeTooLarge, fmt.Sprintf("DID document lists more than %d methods", MaxMethods), nil)
	}
	return &d, nil
}

// ParseDocumentFor parses data like ParseDocument and requires its id to be
// did (ErrMismatch otherwise). Use it for documents fetched for a DID
// elsewhere; Resolver.Resolve applies it to did:web documents.
func ParseDocumentFor(did string, data []byte) (*Document, error) {
	doc, err := ParseDocument(data)
	if err != nil {
		return nil, err
	}
	if doc.ID != did {
		return nil, newErr(CodeMismatch, fmt.Sprintf("document id %q is not %q", doc.ID, did), nil)
	}
	return doc, nil
}

// Keys returns the keys the DID controller uses to sign credentials: the
// methods referenced by assertionMethod (by id or embedded) that are
// JsonWebKey2020, controlled by the document's DID, named
// "<did>#<thumbprint>" (or "#<thumbprint>"), and whose publicKeyJwk is an
// EC P-256 signing key (use "sig" and alg "ES256" when present) with a kid,
// if any, equal to that thumbprint. Anything else is skipped. Each key is
// returned once, normalized by keys.PublicJWK (keeping crlVersion).
func (d *Document) Keys() []keys.JWK {
	var out []keys.JWK
	seen := map[string]bool{}
	for _, ref := range d.AssertionMethod {
		m := ref.Method
		if m == nil {
			m = d.method(ref.ID)
		}
		if m == nil {
			continue
		}
		frag, ok := d.fragment(m.ID)
		if !ok || seen[frag] || m.Type != MethodTypeJWK2020 || m.Controller != d.ID {
			continue
		}
		j := m.PublicKeyJwk
		if j.Kid == "" {
			j.Kid = frag
		}
		if j.Kid != frag {
			continue
		}
		pub, err := j.CheckSigning() // also checks kid == thumbprint
		if err != nil {
			continue
		}
		seen[frag] = true
		out = append(out, keys.PublicJWK(pub, j.CRLVersion)) // keep crlVersion: revocation needs it (KEY-11)
	}
	return out
}

// method finds the verification method with the given (absolute or
// relative) id.
func (d *Document) method(id string) *VerificationMethod {
	want, ok := d.fragment(id)
	if !ok {
		return nil
	}
	for i := range d.VerificationMethod {
		if f, ok := d.fragment(d.VerificationMethod[i].ID); ok && f == want {
			return &d.VerificationMethod[i]
		}
	}
	return nil
}

// fragment returns the fragment of a method id that belongs to this
// document: "<d.ID>#frag" or "#frag".
func (d *Document) fragment(id string) (string, bool) {
	rest, ok := strings.CutPrefix(id, d.ID)
	if !ok {
		rest = id
	}
	frag, ok := strings.CutPrefix(rest, "#")
	if !ok || frag == "" {
		return "", false
	}
	return frag, true
}
