package shc

import (
	"bytes"
	"math"
	"strconv"

	"github.com/healthcards/healthcards/internal/jsonlite"
)

// fastDepth bounds nesting on the fast path. Deeper input is not refused
// here: it goes to the encoding/json reference, which decides as before.
const fastDepth = 512

// payloadStore backs the pointers of a rawPayload filled by the fast path
// with one allocation.
type payloadStore struct {
	iss, rid, fhirVersion string
	nbf, exp, iat         NumericDate
	vc                    rawVC
	cs                    rawSubject
}

// Member bits, to tell a repeated member from a first one.
const (
	seenIss = 1 << iota
	seenNbf
	seenExp
	seenIat
	seenVC
	seenType
	seenCS
	seenRID
	seenFHIRVersion
	seenFHIRBundle
)

// decodePayloadFast fills r from b in one strict pass (package jsonlite)
// and reports true only when r is then exactly what encoding/json would
// produce (decodePayloadReference; FuzzPayloadDifferential checks this).
// It reports false, leaving r to be discarded, for anything unusual: JSON
// that is invalid, nested deeper than fastDepth or not UTF-8; a member that
// is repeated, null, of the wrong kind, spelled with escapes or with other
// letter case than the claim it names (encoding/json matches names
// case-insensitively and keeps the last repeat); a NumericDate that
// NumericDate.UnmarshalJSON refuses; a string with an escape that has no
// UTF-8 form. The caller then runs the reference decoder, so the outcome
// (value or error) never depends on which path ran.
func decodePayloadFast(b []byte, r *rawPayload) bool {
	var rd jsonlite.Reader
	rd.Reset(b, fastDepth)
	if rd.Kind() != '{' || !rd.Enter('{') {
		return false
	}
	st := new(payloadStore)
	seen := 0
	mark := func(bit int) bool {
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	}
	for {
		name, esc, ok := rd.Next()
		if !ok {
			break
		}
		if esc {
			return false
		}
		switch string(name) {
		case "iss":
			if !mark(seenIss) || !readString(&rd, &st.iss) {
				return false
			}
			r.Issuer = &st.iss
		case "nbf":
			if !mark(seenNbf) || !readDate(&rd, &st.nbf) {
				return false
			}
			r.NotBefore = &st.nbf
		case "exp":
			if !mark(seenExp) || !readDate(&rd, &st.exp) {
				return false
			}
			r.Expires = &st.exp
		case "iat":
			if !mark(seenIat) || !readDate(&rd, &st.iat) {
				return false
			}
			r.IssuedAt = &st.iat
		case "vc":
			if !mark(seenVC) || !readVC(&rd, st, &seen) {
				return false
			}
			r.VC = &st.vc
		default:
			if jsonlite.FoldsTo(name, "iss", "nbf", "exp", "iat", "vc") {
				return false
			}
			if _, ok := rd.Skip(); !ok {
				return false
			}
		}
	}
	return rd.Err() == nil && rd.End()
}

func readVC(rd *jsonlite.Reader, st *payloadStore, seen *int) bool {
	if rd.Kind() != '{' || !rd.Enter('{') {
		return false
	}
	mark := func(bit int) bool {
		if *seen&bit != 0 {
			return false
		}
		*seen |= bit
		return true
	}
	for {
		name, esc, ok := rd.Next()
		if !ok {
			return rd.Err() == nil
		}
		if esc {
			return false
		}
		switch string(name) {
		case "type":
			if !mark(seenType) || rd.Kind() != '[' || !rd.Enter('[') {
				return false
			}
			types := make([]string, 0, 1)
			for rd.NextElem() {
				var s string
				if !readString(rd, &s) {
					return false
				}
				types = append(types, s)
			}
			if rd.Err() != nil {
				return false
			}
			st.vc.Type = types
		case "credentialSubject":
			if !mark(seenCS) || !readSubject(rd, st, mark) {
				return false
			}
			st.vc.CredentialSubject = &st.cs
		case "rid":
			if !mark(seenRID) || !readString(rd, &st.rid) {
				return false
			}
			st.vc.RID = &st.rid
		default:
			if jsonlite.FoldsTo(name, "type", "credentialSubject", "rid") {
				return false
			}
			if _, ok := rd.Skip(); !ok {
				return false
			}
		}
	}
}

func readSubject(rd *jsonlite.Reader, st *payloadStore, mark func(int) bool) bool {
	if rd.Kind() != '{' || !rd.Enter('{') {
		return false
	}
	for {
		name, esc, ok := rd.Next()
		if !ok {
			return rd.Err() == nil
		}
		if esc {
			return false
		}
		switch string(name) {
		case "fhirVersion":
			if !mark(seenFHIRVersion) || !readString(rd, &st.fhirVersion) {
				return false
			}
			st.cs.FHIRVersion = &st.fhirVersion
		case "fhirBundle":
			if !mark(seenFHIRBundle) {
				return false
			}
			raw, ok := rd.Skip()
			if !ok {
				return false
			}
			// A copy, as encoding/json makes for a json.RawMessage: the
			// bundle must not alias the claim bytes a Card also hands out.
			st.cs.FHIRBundle = bytes.Clone(raw)
		default:
			if jsonlite.FoldsTo(name, "fhirVersion", "fhirBundle") {
				return false
			}
			if _, ok := rd.Skip(); !ok {
				return false
			}
		}
	}
}

// readString reads a non-null string member value.
func readString(rd *jsonlite.Reader, dst *string) bool {
	if rd.Kind() != '"' {
		return false
	}
	raw, esc, ok := rd.String()
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
	*dst, ok = jsonlite.StringValue(raw, esc)
	return ok
}

// readDate reads a number member as NumericDate.UnmarshalJSON would accept it.
func readDate(rd *jsonlite.Reader, dst *NumericDate) bool {
	k := rd.Kind()
	if k != '0' && k != '-' {
		return false
	}
	num, ok := rd.Number()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f < 0 {
		return false
	}
	*dst = NumericDate(f)
	return true
}
