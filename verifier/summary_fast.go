package verifier

import (
	"encoding/json"

	"github.com/healthcards/healthcards/internal/jsonlite"
)

// The summary decoder: one jsonlite pass over the bundle, no reflection,
// and the only reader of the bundle for the summary. Its input has passed
// the strict reader in shc.ParsePayload (names unique ignoring case,
// unescaped, valid UTF-8), so only FHIR shape is left to it. It reports
// false, and summarize shows no summary, for a bundle it cannot read
// exactly as encoding/json would (the test oracle, decodeBundleReference;
// FuzzSummaryDifferential checks the agreement): a member equal to a known
// one but for letter case (encoding/json would take it for that member), a
// value of the wrong kind, a null array element, an entry that is not an
// object or whose resource is missing or not an object, or nesting deeper
// than fastDepth.
//
// One wrong kind is ordinary and handled here: a resource whose "name" is
// a string (Organization.name) is read into orgName, as the oracle does.

// fastDepth bounds nesting (shc already refuses more than 128 levels).
const fastDepth = 512

type bundleReader struct {
	rd jsonlite.Reader
	// text is a string copy of the bundle: strings without escapes are
	// substrings of it (one allocation for all of them; see str). Raw
	// values (json.RawMessage) are views of the caller's bundle and live
	// only while summarize runs.
	text string
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

// decodeBundleFast decodes bundle for the summary, or reports false.
// checked says that the strict reader already accepted bundle (it comes
// from shc.ParsePayload), so the name checks need not run twice;
// otherwise (Summarize) they run here.
func decodeBundleFast(bundle []byte, checked bool) (*decodedBundle, bool) {
	br := &bundleReader{text: string(bundle)}
	rd := &br.rd
	if checked {
		rd.ResetChecked(bundle, fastDepth)
	} else {
		rd.Reset(bundle, fastDepth)
	}
	if rd.Kind() != '{' || !rd.Enter('{') {
		return nil, false
	}
	d := &decodedBundle{fullURLs: make([]string, 0, 4), res: make([]fhirResource, 0, 4), orgs: map[string]string{}}
	if !br.members(bundleMembers, func(string) bool { return br.entries(d) }) || !rd.End() {
		return nil, false
	}
	return d, true
}

// members reads the members of the object just entered (see
// jsonlite.Reader.Members).
func (br *bundleReader) members(known []string, read func(field string) bool) bool {
	return br.rd.Members(known, read)
}

// Member names read by the decoders (at most 64 per object).
var (
	bundleMembers   = []string{"entry"}
	entryMembers    = []string{"fullUrl", "resource"}
	metaMembers     = []string{"security", "profile"}
	nameMembers     = []string{"family", "given", "text"}
	conceptMembers  = []string{"coding", "text"}
	codingMembers   = []string{"system", "code", "display"}
	quantityMembers = []string{"value", "unit", "code"}
	refNames        = []string{"reference", "display"}
	performerNames  = []string{"reference", "display", "actor"}
)

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
		var seenRes bool
		var r fhirResource
		ok := br.members(entryMembers, func(field string) bool {
			if field == "fullUrl" {
				return br.str(&fullURL)
			}
			seenRes = true
			if n >= maxSummaryEntries {
				_, ok := rd.Skip()
				return ok
			}
			return rd.Kind() == '{' && br.resource(&r)
		})
		if !ok || !seenRes {
			return false
		}
		if n < maxSummaryEntries {
			d.fullURLs = append(d.fullURLs, fullURL)
			d.res = append(d.res, r)
			if r.ResourceType == "Organization" {
				d.orgs[fullURL] = r.orgName
			}
		}
		n++
	}
	return rd.Err() == nil
}

var resourceMembers = []string{"resourceType", "id", "meta", "text", "name", "birthDate", "status",
	"vaccineCode", "occurrenceDateTime", "occurrenceString", "lotNumber", "performer", "patient",
	"subject", "code", "valueCodeableConcept", "valueQuantity", "valueString", "effectiveDateTime"}

// resource decodes one resource object into r.
func (br *bundleReader) resource(r *fhirResource) bool {
	rd := &br.rd
	rd.Enter('{')
	return br.members(resourceMembers, func(field string) bool {
		switch field {
		case "resourceType":
			return br.str(&r.ResourceType)
		case "id":
			return br.raw(&r.ID)
		case "meta":
			return br.meta(&r.Meta)
		case "text":
			return br.raw(&r.Text)
		case "name":
			switch rd.Kind() {
			case '[', 'n':
				return br.humanNames(r)
			case '"': // Organization.name
				return br.str(&r.orgName)
			}
			_, ok := rd.Skip() // another kind: no name, as for the reference
			return ok
		case "birthDate":
			return br.str(&r.BirthDate)
		case "status":
			return br.str(&r.Status)
		case "vaccineCode":
			return br.concept(&r.VaccineCode)
		case "occurrenceDateTime":
			return br.str(&r.OccurrenceDateTime)
		case "occurrenceString":
			return br.str(&r.OccurrenceString)
		case "lotNumber":
			return br.str(&r.LotNumber)
		case "performer":
			return br.performers(r)
		case "patient":
			return br.ref(&r.Patient)
		case "subject":
			return br.ref(&r.Subject)
		case "code":
			return br.concept(&r.Code)
		case "valueCodeableConcept":
			return br.concept(&r.ValueCodeableConcept)
		case "valueQuantity":
			return br.quantity(r)
		case "valueString":
			return br.str(&r.ValueString)
		default: // "effectiveDateTime"
			return br.str(&r.EffectiveDateTime)
		}
	})
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
			// The string just read ends before its closing quote, at
			// Offset()-1: the same bytes in br.text.
			end := rd.Offset() - 1
			*dst = br.text[end-len(raw) : end]
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
	ok = br.members(metaMembers, func(field string) bool {
		if field == "security" {
			return br.raw(&m.Security)
		}
		return br.raw(&m.Other)
	})
	*dst = m
	return ok
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
		ok := br.members(nameMembers, func(field string) bool {
			switch field {
			case "family":
				return br.str(&n.Family)
			case "given":
				return br.strings(&n.Given)
			}
			return br.str(&n.Text)
		})
		if !ok {
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
	c := br.newConcept()
	ok = br.members(conceptMembers, func(field string) bool {
		if field == "coding" {
			return br.codings(c)
		}
		return br.raw(&c.Text)
	})
	*dst = c
	return ok
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
		ok := br.members(codingMembers, func(field string) bool {
			switch field {
			case "system":
				return br.str(&cd.System)
			case "code":
				return br.str(&cd.Code)
			}
			return br.raw(&cd.Display)
		})
		if !ok {
			return false
		}
		out = append(out, cd)
	}
	c.Coding = out
	return rd.Err() == nil
}

// refMembers reads the members of a fhirRef object already entered, and
// of a performer's actor when actor is not nil.
func (br *bundleReader) refMembers(ref *fhirRef, actor **fhirRef) bool {
	known := refNames
	if actor != nil {
		known = performerNames
	}
	return br.members(known, func(field string) bool {
		switch field {
		case "reference":
			return br.str(&ref.Reference)
		case "display":
			return br.str(&ref.Display)
		}
		return br.ref(actor)
	})
}

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
	ok = br.members(quantityMembers, func(field string) bool {
		switch field {
		case "value":
			switch rd.Kind() {
			case '0', '-':
				num, ok := rd.Number()
				q.Value = json.Number(num)
				return ok
			case 'n':
				_, ok := rd.Skip()
				return ok
			}
			return false
		case "unit":
			return br.str(&q.Unit)
		}
		return br.str(&q.Code)
	})
	r.ValueQuantity = q
	return ok
}
