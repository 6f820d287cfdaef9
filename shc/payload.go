package shc

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// Credential types (PAY-4). Only HealthCardType is required; the others are
// deprecated since spec 1.4.0 and are ignored by verifiers (PAY-5).
const (
	HealthCardType   = "https://smarthealth.cards#health-card"
	ImmunizationType = "https://smarthealth.cards#immunization"
	LaboratoryType   = "https://smarthealth.cards#laboratory"
	COVID19Type      = "https://smarthealth.cards#covid19"

	// DefaultFHIRVersion is the FHIR version of new cards (PAY-6).
	DefaultFHIRVersion = "4.0.1"
)

// NumericDate is an RFC 7519 NumericDate: seconds since the epoch, possibly
// fractional (PAY-2: every official example has a fraction). It is kept as a
// float64 and never rounded.
type NumericDate float64

// NewNumericDate returns t at millisecond precision, truncated (never rounded
// up, REV-9).
func NewNumericDate(t time.Time) NumericDate {
	return NumericDate(float64(t.UnixMilli()) / 1000)
}

// Time converts d to a time.Time with millisecond precision.
func (d NumericDate) Time() time.Time {
	sec, frac := math.Modf(float64(d))
	return time.Unix(int64(sec), int64(math.Round(frac*1e3))*1e6).UTC()
}

// MarshalJSON writes the shortest decimal form, as the examples do
// (1687450764.656).
func (d NumericDate) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(d), 'f', -1, 64), nil
}

// UnmarshalJSON accepts a JSON number only (not a string), finite and not negative.
func (d *NumericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errorf(CodeBadPayload, "NumericDate must be a JSON number, got %.20s", b)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f < 0 {
		return errorf(CodeBadPayload, "bad NumericDate %.20s", b)
	}
	*d = NumericDate(f)
	return nil
}

// Payload is the JWT claim set of a card (PAY-1..8). Field order is the
// order of the official examples, so marshaling reproduces them byte for byte.
type Payload struct {
	Issuer    string       `json:"iss"`
	NotBefore NumericDate  `json:"nbf"`
	VC        VC           `json:"vc"`
	Expires   *NumericDate `json:"exp,omitempty"`
}

// VC is the verifiable-credential claim.
type VC struct {
	Type              []string          `json:"type"`
	CredentialSubject CredentialSubject `json:"credentialSubject"`
	RID               string            `json:"rid,omitempty"`
}

// CredentialSubject holds the FHIR content.
type CredentialSubject struct {
	FHIRVersion string          `json:"fhirVersion"`
	FHIRBundle  json.RawMessage `json:"fhirBundle"`
}

// NewPayload builds the claims for a new card: iss, nbf = issuedAt, the
// health-card type, FHIR 4.0.1 and the given bundle (already minified when the
// card is meant for a QR code). Set Expires and VC.RID afterwards if needed.
func NewPayload(iss string, issuedAt time.Time, bundle json.RawMessage) *Payload {
	return &Payload{
		Issuer:    iss,
		NotBefore: NewNumericDate(issuedAt),
		VC: VC{
			Type:              []string{HealthCardType},
			CredentialSubject: CredentialSubject{FHIRVersion: DefaultFHIRVersion, FHIRBundle: bundle},
		},
	}
}

// HasType reports whether the credential lists typ.
func (p *Payload) HasType(typ string) bool {
	for _, t := range p.VC.Type {
		if t == typ {
			return true
		}
	}
	return false
}

// Marshal returns the minified JSON claim set (HDR-7) with no HTML escaping,
// so that "<", ">" and "&" in FHIR text stay as they are. The output is
// byte for byte what encoding/json gives (with SetEscapeHTML(false)):
// ordinary payloads are appended directly (appendPayload), the rest go
// through marshalReference.
func (p *Payload) Marshal() ([]byte, error) {
	if b, ok := appendPayload(make([]byte, 0, len(p.VC.CredentialSubject.FHIRBundle)+256), p); ok {
		return b, nil
	}
	return marshalReference(p)
}

// marshalReference is Marshal with encoding/json: the definition of the
// output, and the path for payloads appendPayload does not take.
func marshalReference(p *Payload) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(p.VC.CredentialSubject.FHIRBundle) + 256)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, wrap(CodeBadPayload, "cannot encode payload", err)
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil // drop Encode's newline
}

// rawPayload mirrors Payload with pointers, to tell absent claims from zero ones.
type rawPayload struct {
	Issuer    *string      `json:"iss"`
	NotBefore *NumericDate `json:"nbf"`
	Expires   *NumericDate `json:"exp"`
	IssuedAt  *NumericDate `json:"iat"`
	VC        *rawVC       `json:"vc"`
}

type rawVC struct {
	Type              []string    `json:"type"`
	CredentialSubject *rawSubject `json:"credentialSubject"`
	RID               *string     `json:"rid"`
}

type rawSubject struct {
	FHIRVersion *string         `json:"fhirVersion"`
	FHIRBundle  json.RawMessage `json:"fhirBundle"`
}

// decodePayloadReference decodes b with encoding/json: the definition of
// what ParsePayload accepts. decodePayloadFast gives the same result in one
// pass for the ordinary claim sets, and defers to this for anything else.
func decodePayloadReference(b []byte, r *rawPayload) error {
	if err := json.Unmarshal(b, r); err != nil {
		if e, ok := err.(*Error); ok {
			return e
		}
		return wrap(CodeBadPayload, "payload is not a JSON claim set", err)
	}
	return nil
}

// ParsePayload decodes and structurally checks an inflated claim set.
func ParsePayload(b []byte) (*Payload, error) {
	var r rawPayload
	if !decodePayloadFast(b, &r) {
		r = rawPayload{}
		if err := decodePayloadReference(b, &r); err != nil {
			return nil, err
		}
	}
	switch {
	case r.Issuer == nil || *r.Issuer == "":
		return nil, errorf(CodeBadPayload, "missing iss (PAY-1)")
	case r.NotBefore == nil && r.IssuedAt != nil:
		return nil, errorf(CodeBadPayload, "pre-1.0 card: iat without nbf (PAY-9)")
	case r.NotBefore == nil:
		return nil, errorf(CodeBadPayload, "missing nbf (PAY-2)")
	case r.VC == nil:
		return nil, errorf(CodeBadPayload, "missing vc claim")
	case r.VC.CredentialSubject == nil:
		return nil, errorf(CodeBadPayload, "missing vc.credentialSubject (PAY-6/7)")
	case r.VC.CredentialSubject.FHIRVersion == nil || *r.VC.CredentialSubject.FHIRVersion == "":
		return nil, errorf(CodeBadPayload, "missing vc.credentialSubject.fhirVersion (PAY-6)")
	case len(r.VC.CredentialSubject.FHIRBundle) == 0 || r.VC.CredentialSubject.FHIRBundle[0] != '{':
		return nil, errorf(CodeBadPayload, "vc.credentialSubject.fhirBundle must be a JSON object (PAY-7)")
	}
	p := &Payload{
		Issuer:    *r.Issuer,
		NotBefore: *r.NotBefore,
		Expires:   r.Expires,
		VC: VC{
			Type: r.VC.Type,
			CredentialSubject: CredentialSubject{
				FHIRVersion: *r.VC.CredentialSubject.FHIRVersion,
				FHIRBundle:  r.VC.CredentialSubject.FHIRBundle,
			},
		},
	}
	if r.VC.RID != nil {
		p.VC.RID = *r.VC.RID
	}
	if !p.HasType(HealthCardType) {
		return nil, errorf(CodeBadPayload, "vc.type lacks %s (PAY-4)", HealthCardType)
	}
	return p, nil
}
