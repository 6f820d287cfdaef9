package shc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/healthcards/healthcards/internal/jsonlite"
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

// MaxNumericDate is 9999-12-31T23:59:59Z: no card is valid from or until a
// later date, and later dates do not survive a round trip through
// time.Time on every platform.
const MaxNumericDate NumericDate = 253402300799

// UnmarshalJSON accepts a JSON number only (not a string or null), finite,
// not negative and at most MaxNumericDate.
func (d *NumericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errorf(CodeBadPayload, "NumericDate must be a JSON number, got %.20s", b)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f < 0 || f > float64(MaxNumericDate) {
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
// so that "<", ">" and "&" in FHIR text stay as they are. It is
// encoding/json's output (the bundle compacted); Signer.Sign also checks
// that the result reads back with ParsePayload, so nothing is signed that
// the strict reader would refuse.
func (p *Payload) Marshal() ([]byte, error) {
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

// ParsePayload decodes and structurally checks an inflated claim set with
// the strict reader (package internal/jsonlite), the one definition of
// what a card says:
//
//   - the claim set is UTF-8 (else bad_payload_encoding, HDR-7) and RFC 8259
//     JSON nested at most 128 levels deep;
//   - in every object of the claims and of the FHIR bundle, at every depth,
//     member names are unescaped and unique even ignoring letter case (a
//     repeated "iss", "iss" beside "ISS", a second "fhirBundle" are
//     refused: readers disagree on which one counts);
//   - the claims read are of their type, never null: iss a non-empty
//     string (PAY-1), nbf a NumericDate (PAY-2), exp and iat NumericDates
//     when present, vc an object whose type array lists HealthCardType
//     (PAY-4), credentialSubject an object with a fhirVersion string
//     (PAY-6) and a fhirBundle object (PAY-7), rid a string when present;
//   - NumericDates are finite, not negative and not after the year 9999.
//
// Every refusal is bad_payload (or bad_payload_encoding) with a message
// naming the member and its JSON path.
func ParsePayload(b []byte) (*Payload, error) {
	var d claimDecoder
	d.rd.Reset(b, maxJSONDepth)
	p := &Payload{}
	ok := d.object("$", claimMembers, func(field string) bool {
		switch field {
		case "iss":
			d.seen |= seenIss
			return d.str("$.iss", &p.Issuer)
		case "nbf":
			d.seen |= seenNbf
			return d.date("$.nbf", &p.NotBefore)
		case "exp":
			p.Expires = new(NumericDate)
			return d.date("$.exp", p.Expires)
		case "iat":
			d.seen |= seenIat
			var iat NumericDate
			return d.date("$.iat", &iat)
		}
		d.seen |= seenVC
		return d.vc(&p.VC)
	})
	if ok && !d.rd.End() {
		ok = false
	}
	if !ok {
		// The reader checks UTF-8 as it goes (a claim set it accepts is
		// UTF-8), so the whole text is looked at only on failure.
		if !utf8.Valid(b) {
			return nil, errorf(CodeBadPayloadEncoding, "payload is not valid UTF-8 (HDR-7)")
		}
		return nil, d.error()
	}
	switch {
	case d.seen&seenIss == 0 || p.Issuer == "":
		return nil, errorf(CodeBadPayload, "missing iss (PAY-1)")
	case d.seen&seenNbf == 0 && d.seen&seenIat != 0:
		return nil, errorf(CodeBadPayload, "pre-1.0 card: iat without nbf (PAY-9)")
	case d.seen&seenNbf == 0:
		return nil, errorf(CodeBadPayload, "missing nbf (PAY-2)")
	case d.seen&seenVC == 0:
		return nil, errorf(CodeBadPayload, "missing vc claim")
	case d.seen&seenSubject == 0:
		return nil, errorf(CodeBadPayload, "missing vc.credentialSubject (PAY-6/7)")
	case d.seen&seenVersion == 0 || p.VC.CredentialSubject.FHIRVersion == "":
		return nil, errorf(CodeBadPayload, "missing vc.credentialSubject.fhirVersion (PAY-6)")
	case d.seen&seenBundle == 0:
		return nil, errorf(CodeBadPayload, "vc.credentialSubject.fhirBundle must be a JSON object (PAY-7)")
	}
	if !p.HasType(HealthCardType) {
		return nil, errorf(CodeBadPayload, "vc.type lacks %s (PAY-4)", HealthCardType)
	}
	return p, nil
}

// Member names of the claim objects.
var (
	claimMembers   = []string{"iss", "nbf", "exp", "iat", "vc"}
	vcMembers      = []string{"type", "credentialSubject", "rid"}
	subjectMembers = []string{"fhirVersion", "fhirBundle"}
)

// Claims seen by claimDecoder.
const (
	seenIss = 1 << iota
	seenNbf
	seenIat
	seenVC
	seenSubject
	seenVersion
	seenBundle
)

// claimDecoder reads a claim set with the strict reader and keeps the
// first reason it refused one.
type claimDecoder struct {
	rd   jsonlite.Reader
	seen int
	msg  string // a type error found by the decoder itself
}

// bad records a type error at path and returns false.
func (d *claimDecoder) bad(path, want string) bool {
	if d.msg == "" {
		d.msg = fmt.Sprintf("%s must be %s", path, want)
	}
	return false
}

// error turns the first failure into a bad_payload error.
func (d *claimDecoder) error() *Error {
	if d.msg != "" {
		return errorf(CodeBadPayload, "%s", d.msg)
	}
	var me *jsonlite.MemberError
	switch err := d.rd.Err(); {
	case errors.As(err, &me):
		return wrap(CodeBadPayload, "refused by the strict reader: "+me.Error(), nil)
	case errors.Is(err, jsonlite.ErrDepth):
		return errorf(CodeBadPayload, "claims nested deeper than %d levels", maxJSONDepth)
	default:
		return errorf(CodeBadPayload, "payload is not a JSON claim set (HDR-7)")
	}
}

// object enters an object at path and reads its members.
func (d *claimDecoder) object(path string, known []string, read func(string) bool) bool {
	if d.rd.Kind() != '{' {
		return d.kindError(path, "a JSON object")
	}
	return d.rd.Enter('{') && d.rd.Members(known, read)
}

// kindError reports a value of the wrong kind, unless the reader already
// failed (then its error is the better one).
func (d *claimDecoder) kindError(path, want string) bool {
	if d.rd.Kind() == 0 {
		return false
	}
	return d.bad(path, want)
}

func (d *claimDecoder) vc(vc *VC) bool {
	return d.object("$.vc", vcMembers, func(field string) bool {
		switch field {
		case "type":
			if d.rd.Kind() != '[' {
				return d.kindError("$.vc.type", "an array of strings")
			}
			d.rd.Enter('[')
			vc.Type = make([]string, 0, 1)
			for i := 0; d.rd.NextElem(); i++ {
				var s string
				if d.rd.Kind() != '"' { // the path is built only on failure
					return d.kindError(fmt.Sprintf("$.vc.type[%d]", i), "a string")
				}
				if !d.str("$.vc.type[]", &s) {
					return false
				}
				vc.Type = append(vc.Type, s)
			}
			return d.rd.Err() == nil
		case "credentialSubject":
			d.seen |= seenSubject
			return d.subject(&vc.CredentialSubject)
		}
		return d.str("$.vc.rid", &vc.RID)
	})
}

func (d *claimDecoder) subject(cs *CredentialSubject) bool {
	return d.object("$.vc.credentialSubject", subjectMembers, func(field string) bool {
		if field == "fhirVersion" {
			d.seen |= seenVersion
			return d.str("$.vc.credentialSubject.fhirVersion", &cs.FHIRVersion)
		}
		if d.rd.Kind() != '{' {
			return d.kindError("$.vc.credentialSubject.fhirBundle", "a JSON object (PAY-7)")
		}
		d.seen |= seenBundle
		raw, ok := d.rd.Skip() // every object in the bundle checked strictly
		// A copy: the bundle must not alias the claim bytes a Card also
		// hands out.
		cs.FHIRBundle = bytes.Clone(raw)
		return ok
	})
}

// str reads a string value (never null).
func (d *claimDecoder) str(path string, dst *string) bool {
	if d.rd.Kind() != '"' {
		return d.kindError(path, "a string")
	}
	raw, esc, ok := d.rd.String()
	if !ok {
		return false
	}
	// The values every card repeats need no allocation.
	switch {
	case esc:
	case string(raw) == HealthCardType:
		*dst = HealthCardType
		return true
	case string(raw) == DefaultFHIRVersion:
		*dst = DefaultFHIRVersion
		return true
	}
	if *dst, ok = jsonlite.StringValue(raw, esc); !ok {
		return d.bad(path, "a string with a UTF-8 form (a lone surrogate escape has none)")
	}
	return true
}

// date reads a NumericDate (never null).
func (d *claimDecoder) date(path string, dst *NumericDate) bool {
	if k := d.rd.Kind(); k != '0' && k != '-' {
		return d.kindError(path, "a NumericDate (a JSON number)")
	}
	num, ok := d.rd.Number()
	if !ok {
		return false
	}
	if err := dst.UnmarshalJSON(num); err != nil {
		want := fmt.Sprintf("a NumericDate from 0 to %d (the end of year 9999)", int64(MaxNumericDate))
		if f, err := strconv.ParseFloat(string(num), 64); err == nil && f > float64(MaxNumericDate) && f/1000 <= float64(MaxNumericDate) {
			want += "; " + string(num) + " looks like milliseconds, not seconds"
		}
		return d.bad(path, want)
	}
	return true
}
