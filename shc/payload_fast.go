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

// Member names the fast path reads.
var (
	claimMembers   = []string{"iss", "nbf", "exp", "iat", "vc"}
	vcMembers      = []string{"type", "credentialSubject", "rid"}
	subjectMembers = []string{"fhirVersion", "fhirBundle"}
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
	ok := rd.Members(claimMembers, func(field string) bool {
		switch field {
		case "iss":
			r.Issuer = &st.iss
			return readString(&rd, &st.iss)
		case "nbf":
			r.NotBefore = &st.nbf
			return readDate(&rd, &st.nbf)
		case "exp":
			r.Expires = &st.exp
			return readDate(&rd, &st.exp)
		case "iat":
			r.IssuedAt = &st.iat
			return readDate(&rd, &st.iat)
		}
		r.VC = &st.vc
		return readVC(&rd, st)
	})
	return ok && rd.End()
}

func readVC(rd *jsonlite.Reader, st *payloadStore) bool {
	if rd.Kind() != '{' || !rd.Enter('{') {
		return false
	}
	return rd.Members(vcMembers, func(field string) bool {
		switch field {
		case "type":
			if rd.Kind() != '[' || !rd.Enter('[') {
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
			st.vc.Type = types
			return rd.Err() == nil
		case "credentialSubject":
			st.vc.CredentialSubject = &st.cs
			return readSubject(rd, st)
		}
		st.vc.RID = &st.rid
		return readString(rd, &st.rid)
	})
}

func readSubject(rd *jsonlite.Reader, st *payloadStore) bool {
	if rd.Kind() != '{' || !rd.Enter('{') {
		return false
	}
	return rd.Members(subjectMembers, func(field string) bool {
		if field == "fhirVersion" {
			st.cs.FHIRVersion = &st.fhirVersion
			return readString(rd, &st.fhirVersion)
		}
		raw, ok := rd.Skip()
		// A copy, as encoding/json makes for a json.RawMessage: the
		// bundle must not alias the claim bytes a Card also hands out.
		st.cs.FHIRBundle = bytes.Clone(raw)
		return ok
	})
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
