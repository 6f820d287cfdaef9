package verifier

import (
	"bytes"
	"encoding/json"
	"unsafe"

	"github.com/healthcards/healthcards/internal/jsonlite"
)

// The summary's fast path: one jsonlite pass over the bundle, no
// reflection. It must give exactly what decodeBundleReference gives
// (FuzzSummaryDifferential checks it), so it gives up, and the reference
// decides, on anything where encoding/json's leniency could matter: a
// member that is repeated, spelled with escapes or non-ASCII letters, or
// equal to a known member but for letter case (encoding/json matches
// case-insensitively and keeps the last repeat); a value of the wrong
// kind (encoding/json skips it but reports an error, which changes what
// the summary records); a null array element; an entry that is not an
// object or whose resource is missing or not an object; a string escape
// with no UTF-8 form; invalid JSON or nesting deeper than fastDepth.
//
// One wrong kind is ordinary and handled here: a resource whose "name" is
// a string (Organization.name) is read into orgName on both paths.

// fastDepth bounds nesting on the fast path; deeper bundles go to the
// reference.
const fastDepth = 512

type bundleReader struct {
	rd jsonlite.Reader
	// src is the reader's private copy of the bundle. Nothing writes to
	// it after it is made, so strings without escapes are views of it
	// (one allocation for all of them; see str).
	src []byte
	// Slabs for the small structs a bundle has many of.
	refs     []fhirRef
	concepts []fhirConcept
}

// newRef and newConcept hand out pointers into slabs that never move
// (a full slab is replaced, not grown).
func (br *bundleReader) newRef() *fhirRef {
	if len(br.refs) == cap(br.refs) {
		br.refs = make([]fhirRef, 0, 16)
	}
	br.refs = br.refs[:len(br.refs)+1]
	return &br.refs[len(br.refs)-1]
}

func (br *bundleReader) newConcept() *fhirConcept {
	if len(br.concepts) == cap(br.concepts) {
		br.concepts = make([]fhirConcept, 0, 8)
	}
	br.concepts = br.concepts[:len(br.concepts)+1]
	return &br.concepts[len(br.concepts)-1]
}

// decodeBundleFast decodes bundle like decodeBundleReference, or reports
// false.
func decodeBundleFast(bundle []byte) (*decodedBundle, bool) {
	br := &bundleReader{src: bytes.Clone(bundle)}
	rd := &br.rd
	rd.Reset(br.src, fastDepth)
	if rd.Kind() != '{' || !rd.Enter('{') {
		return nil, false
	}
	d := &decodedBundle{fullURLs: make([]string, 0, 4), res: make([]fhirResource, 0, 4), orgs: map[string]string{}}
	seenEntry := false
	for {
		name, esc, ok := rd.Next()
		if !ok {
			break
		}
		if esc {
			return nil, false
		}
		if string(name) == "entry" {
			if seenEntry || !br.entries(d) {
				return nil, false
			}
			seenEntry = true
			continue
		}
		if !br.skipUnknown(name, "entry") {
			return nil, false
		}
	}
	if rd.Err() != nil || !rd.End() {
		return nil, false
	}
	return d, true
}

// skipUnknown skips the value of a member the caller does not read, or
// reports false when the name could be taken for one of known.
func (br *bundleReader) skipUnknown(name []byte, known ...string) bool {
	if jsonlite.FoldsTo(name, known...) {
		return false
	}
	_, ok := br.rd.Skip()
	return ok
}

func (br *bundleReader) entries(d *decodedBundle) bool {
	rd := &br.rd
	switch rd.Kind() {
	case 'n':
		_, ok := rd.Skip()
		return ok
	case '[':
	default:
		return false
	}
	rd.Enter('[')
	n := 0
	for rd.NextElem() {
		if rd.Kind() != '{' || !rd.Enter('{') {
			return false
		}
		var fullURL string
		var seenURL, seenRes, orgOK bool
		var r fhirResource
		for {
			name, esc, ok := rd.Next()
			if !ok {
				break
			}
			if esc {
				return false
			}
			switch string(name) {
			case "fullUrl":
				if seenURL || !br.str(&fullURL) {
					return false
				}
				seenURL = true
			case "resource":
				if seenRes {
					return false
				}
				seenRes = true
				if n >= maxSummaryEntries {
					if _, ok := rd.Skip(); !ok {
						return false
					}
					continue
				}
				if rd.Kind() != '{' {
					return false
				}
				var ok bool
				if orgOK, ok = br.resource(&r); !ok {
					return false
				}
			default:
				if !br.skipUnknown(name, "fullUrl", "resource") {
					return false
				}
			}
		}
		if rd.Err() != nil || !seenRes {
			return false
		}
		if n < maxSummaryEntries {
			d.fullURLs = append(d.fullURLs, fullURL)
			d.res = append(d.res, r)
			if orgOK && r.ResourceType == "Organization" {
				d.orgs[fullURL] = r.orgName
			}
		}
		n++
	}
	return rd.Err() == nil
}

// Resource member bits.
const (
	rResourceType = 1 << iota
	rID
	rMeta
	rText
	rName
	rBirthDate
	rStatus
	rVaccineCode
	rOccurrenceDateTime
	rOccurrenceString
	rLotNumber
	rPerformer
	rPatient
	rSubject
	rCode
	rValueCodeableConcept
	rValueQuantity
	rValueString
	rEffectiveDateTime
)

var resourceMembers = []string{"resourceType", "id", "meta", "text", "name", "birthDate", "status",
	"vaccineCode", "occurrenceDateTime", "occurrenceString", "lotNumber", "performer", "patient",
	"subject", "code", "valueCodeableConcept", "valueQuantity", "valueString", "effectiveDateTime"}

// resource decodes one resource object into r. orgOK is false when the
// reference would have met a type error (a string "name") and so skipped
// the Organization record.
func (br *bundleReader) resource(r *fhirResource) (orgOK, ok bool) {
	rd := &br.rd
	rd.Enter('{')
	seen := 0
	orgOK = true
	for {
		name, esc, more := rd.Next()
		if !more {
			break
		}
		if esc {
			return false, false
		}
		bit := 0
		var good bool
		switch string(name) {
		case "resourceType":
			bit, good = rResourceType, br.str(&r.ResourceType)
		case "id":
			bit, good = rID, br.raw(&r.ID)
		case "meta":
			bit, good = rMeta, br.meta(&r.Meta)
		case "text":
			bit, good = rText, br.raw(&r.Text)
		case "name":
			bit = rName
			switch rd.Kind() {
			case '[', 'n':
				good = br.humanNames(r)
			case '"': // Organization.name
				good = br.str(&r.orgName)
			default: // another kind: no name, as for the reference
				_, good = rd.Skip()
			}
		case "birthDate":
			bit, good = rBirthDate, br.str(&r.BirthDate)
		case "status":
			bit, good = rStatus, br.str(&r.Status)
		case "vaccineCode":
			bit, good = rVaccineCode, br.concept(&r.VaccineCode)
		case "occurrenceDateTime":
			bit, good = rOccurrenceDateTime, br.str(&r.OccurrenceDateTime)
		case "occurrenceString":
			bit, good = rOccurrenceString, br.str(&r.OccurrenceString)
		case "lotNumber":
			bit, good = rLotNumber, br.str(&r.LotNumber)
		case "performer":
			bit, good = rPerformer, br.performers(r)
		case "patient":
			bit, good = rPatient, br.ref(&r.Patient)
		case "subject":
			bit, good = rSubject, br.ref(&r.Subject)
		case "code":
			bit, good = rCode, br.concept(&r.Code)
		case "valueCodeableConcept":
			bit, good = rValueCodeableConcept, br.concept(&r.ValueCodeableConcept)
		case "valueQuantity":
			bit, good = rValueQuantity, br.quantity(r)
		case "valueString":
			bit, good = rValueString, br.str(&r.ValueString)
		case "effectiveDateTime":
			bit, good = rEffectiveDateTime, br.str(&r.EffectiveDateTime)
		default:
			good = br.skipUnknown(name, resourceMembers...)
		}
		if !good || seen&bit != 0 {
			return false, false
		}
		seen |= bit
	}
	return orgOK, rd.Err() == nil
}

// str reads a string member into dst; null leaves dst as it is (as
// encoding/json does for a string field).
func (br *bundleReader) str(dst *string) bool {
	rd := &br.rd
	switch rd.Kind() {
	case '"':
		raw, esc, ok := rd.String()
		if !ok {
			return false
		}
		if !esc {
			if len(raw) == 0 {
				*dst = ""
			} else {
				// raw is part of br.src, which nothing ever writes again.
				*dst = unsafe.String(&raw[0], len(raw))
			}
			return true
		}
		*dst, ok = jsonlite.StringValue(raw, esc)
		return ok
	case 'n':
		_, ok := rd.Skip()
		return ok
	}
	return false
}

// raw reads any value as a json.RawMessage (null included, as the reference).
func (br *bundleReader) raw(dst *json.RawMessage) bool {
	v, ok := br.rd.Skip()
	*dst = v
	return ok
}

// open enters an object, or reads a null (leaving a pointer nil): it
// reports whether an object was entered and whether all is well.
func (br *bundleReader) open() (entered, ok bool) {
	rd := &br.rd
	switch rd.Kind() {
	case '{':
		return rd.Enter('{'), rd.Err() == nil
	case 'n':
		_, ok := rd.Skip()
		return false, ok
	}
	return false, false
}

func (br *bundleReader) meta(dst **struct {
	Security json.RawMessage `json:"security"`
	Other    json.RawMessage `json:"profile"`
}) bool {
	entered, ok := br.open()
	if !entered {
		return ok
	}
	m := new(struct {
		Security json.RawMessage `json:"security"`
		Other    json.RawMessage `json:"profile"`
	})
	var seenSec, seenProf bool
	rd := &br.rd
	for {
		name, esc, more := rd.Next()
		if !more {
			break
		}
		if esc {
			return false
		}
		switch string(name) {
		case "security":
			if seenSec || !br.raw(&m.Security) {
				return false
			}
			seenSec = true
		case "profile":
			if seenProf || !br.raw(&m.Other) {
				return false
			}
			seenProf = true
		default:
			if !br.skipUnknown(name, "security", "profile") {
				return false
			}
		}
	}
	*dst = m
	return rd.Err() == nil
}

// array enters an array, or reads a null (leaving a slice nil).
func (br *bundleReader) array() (entered, ok bool) {
	rd := &br.rd
	switch rd.Kind() {
	case '[':
		return rd.Enter('['), rd.Err() == nil
	case 'n':
		_, ok := rd.Skip()
		return false, ok
	}
	return false, false
}

func (br *bundleReader) humanNames(r *fhirResource) bool {
	entered, ok := br.array()
	if !entered {
		return ok
	}
	rd := &br.rd
	var out []struct {
		Family string   `json:"family"`
		Given  []string `json:"given"`
		Text   string   `json:"text"`
	}
	for rd.NextElem() {
		if rd.Kind() != '{' || !rd.Enter('{') {
			return false
		}
		var n struct {
			Family string   `json:"family"`
			Given  []string `json:"given"`
			Text   string   `json:"text"`
		}
		var seen [3]bool
		for {
			name, esc, more := rd.Next()
			if !more {
				break
			}
			if esc {
				return false
			}
			i, good := -1, false
			switch string(name) {
			case "family":
				i, good = 0, br.str(&n.Family)
			case "given":
				i, good = 1, br.strings(&n.Given)
			case "text":
				i, good = 2, br.str(&n.Text)
			default:
				good = br.skipUnknown(name, "family", "given", "text")
			}
			if !good || i >= 0 && seen[i] {
				return false
			}
			if i >= 0 {
				seen[i] = true
			}
		}
		if rd.Err() != nil {
			return false
		}
		out = append(out, n)
	}
	if rd.Err() != nil {
		return false
	}
	if out == nil {
		out = make([]struct {
			Family string   `json:"family"`
			Given  []string `json:"given"`
			Text   string   `json:"text"`
		}, 0)
	}
	r.Name = out
	return true
}

// strings reads an array of strings (elements must be strings).
func (br *bundleReader) strings(dst *[]string) bool {
	entered, ok := br.array()
	if !entered {
		return ok
	}
	rd := &br.rd
	out := []string{}
	for rd.NextElem() {
		if rd.Kind() != '"' {
			return false
		}
		var s string
		if !br.str(&s) {
			return false
		}
		out = append(out, s)
	}
	*dst = out
	return rd.Err() == nil
}

func (br *bundleReader) concept(dst **fhirConcept) bool {
	entered, ok := br.open()
	if !entered {
		return ok
	}
	rd := &br.rd
	c := br.newConcept()
	var seenCoding, seenText bool
	for {
		name, esc, more := rd.Next()
		if !more {
			break
		}
		if esc {
			return false
		}
		switch string(name) {
		case "coding":
			if seenCoding || !br.codings(c) {
				return false
			}
			seenCoding = true
		case "text":
			if seenText || !br.raw(&c.Text) {
				return false
			}
			seenText = true
		default:
			if !br.skipUnknown(name, "coding", "text") {
				return false
			}
		}
	}
	*dst = c
	return rd.Err() == nil
}

func (br *bundleReader) codings(c *fhirConcept) bool {
	entered, ok := br.array()
	if !entered {
		return ok
	}
	rd := &br.rd
	out := []fhirCoding{}
	for rd.NextElem() {
		if rd.Kind() != '{' || !rd.Enter('{') {
			return false
		}
		var cd fhirCoding
		var seen [3]bool
		for {
			name, esc, more := rd.Next()
			if !more {
				break
			}
			if esc {
				return false
			}
			i, good := -1, false
			switch string(name) {
			case "system":
				i, good = 0, br.str(&cd.System)
			case "code":
				i, good = 1, br.str(&cd.Code)
			case "display":
				i, good = 2, br.raw(&cd.Display)
			default:
				good = br.skipUnknown(name, "system", "code", "display")
			}
			if !good || i >= 0 && seen[i] {
				return false
			}
			if i >= 0 {
				seen[i] = true
			}
		}
		if rd.Err() != nil {
			return false
		}
		out = append(out, cd)
	}
	c.Coding = out
	return rd.Err() == nil
}

// refMembers reads the members of a fhirRef object already entered.
func (br *bundleReader) refMembers(ref *fhirRef, actor **fhirRef) bool {
	rd := &br.rd
	var seen [3]bool
	known := refNames
	if actor != nil {
		known = performerNames
	}
	for {
		name, esc, more := rd.Next()
		if !more {
			break
		}
		if esc {
			return false
		}
		i, good := -1, false
		switch {
		case string(name) == "reference":
			i, good = 0, br.str(&ref.Reference)
		case string(name) == "display":
			i, good = 1, br.str(&ref.Display)
		case actor != nil && string(name) == "actor":
			i, good = 2, br.ref(actor)
		default:
			good = br.skipUnknown(name, known...)
		}
		if !good || i >= 0 && seen[i] {
			return false
		}
		if i >= 0 {
			seen[i] = true
		}
	}
	return rd.Err() == nil
}

var (
	refNames       = []string{"reference", "display"}
	performerNames = []string{"reference", "display", "actor"}
)

func (br *bundleReader) ref(dst **fhirRef) bool {
	entered, ok := br.open()
	if !entered {
		return ok
	}
	ref := br.newRef()
	if !br.refMembers(ref, nil) {
		return false
	}
	*dst = ref
	return true
}

func (br *bundleReader) performers(r *fhirResource) bool {
	entered, ok := br.array()
	if !entered {
		return ok
	}
	rd := &br.rd
	type performer = struct {
		Actor *fhirRef `json:"actor"`
		fhirRef
	}
	out := []performer{}
	for rd.NextElem() {
		if rd.Kind() != '{' || !rd.Enter('{') {
			return false
		}
		var p performer
		if !br.refMembers(&p.fhirRef, &p.Actor) {
			return false
		}
		out = append(out, p)
	}
	r.Performer = out
	return rd.Err() == nil
}

func (br *bundleReader) quantity(r *fhirResource) bool {
	entered, ok := br.open()
	if !entered {
		return ok
	}
	rd := &br.rd
	q := new(struct {
		Value json.Number `json:"value"`
		Unit  string      `json:"unit"`
		Code  string      `json:"code"`
	})
	var seen [3]bool
	for {
		name, esc, more := rd.Next()
		if !more {
			break
		}
		if esc {
			return false
		}
		i, good := -1, false
		switch string(name) {
		case "value":
			i = 0
			switch rd.Kind() {
			case '0', '-':
				var num []byte
				num, good = rd.Number()
				q.Value = json.Number(num)
			case 'n':
				_, good = rd.Skip()
			}
		case "unit":
			i, good = 1, br.str(&q.Unit)
		case "code":
			i, good = 2, br.str(&q.Code)
		default:
			good = br.skipUnknown(name, "value", "unit", "code")
		}
		if !good || i >= 0 && seen[i] {
			return false
		}
		if i >= 0 {
			seen[i] = true
		}
	}
	r.ValueQuantity = q
	return rd.Err() == nil
}
