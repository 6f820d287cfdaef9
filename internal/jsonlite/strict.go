package jsonlite

import (
	"strconv"
	"strings"
	"unicode"
)

// MemberError is the error of a member name that the strict rules refuse:
// written with an escape, repeated, or equal to another name of the same
// object under case folding. Path locates the object ("$" is the top
// level, then ".name" and "[index]" steps).
type MemberError struct {
	Path   string
	Name   string // the refused name, raw (as written, escapes not decoded)
	Reason string
	steps  []string // innermost first, while the error unwinds
}

func (e *MemberError) Error() string {
	return "jsonlite: member " + strconv.Quote(e.Name) + " " + e.Reason + " (at " + e.where() + ")"
}

// where returns Path, building it from the recorded steps.
func (e *MemberError) where() string {
	if e.Path != "" {
		return e.Path
	}
	var b strings.Builder
	b.WriteByte('$')
	for i := len(e.steps) - 1; i >= 0; i-- {
		b.WriteString(e.steps[i])
	}
	e.Path = b.String()
	return e.Path
}

// inside records, on a MemberError being unwound, that the failure is in
// the value of member name. Only the failure path pays for it.
func (r *Reader) inside(name []byte) {
	if e, ok := r.err.(*MemberError); ok && e.Path == "" {
		e.steps = append(e.steps, "."+string(name))
	}
}

// insideElem is inside for array element i.
func (r *Reader) insideElem(i int) {
	if e, ok := r.err.(*MemberError); ok && e.Path == "" {
		e.steps = append(e.steps, "["+strconv.Itoa(i)+"]")
	}
}

// smallSet is how many names of one object memberSet tracks with its
// bloom filter before it switches to a map (an object with thousands of
// members must not cost a quadratic number of comparisons).
const smallSet = 16

// memberSet tracks the names seen in one object. bloom has one bit per
// class of folded names, so a name whose bit is clear needs no comparison
// (the usual case) and nothing is stored; on a hit, the names before it are
// read again from the object's start.
type memberSet struct {
	bloom uint64
	n     int
	start int               // offset of the object's '{'
	big   map[string]string // fold key -> name, once n reaches smallSet
}

// newMemberSet returns the set for the object just entered.
func (r *Reader) newMemberSet() memberSet { return memberSet{start: r.i - 1} }

// quick records the usual name, an ASCII one whose bloom bit is clear, in
// a few inlined instructions; it reports false for every other case, which
// checkName then decides. Callers write
// names.quick(name, esc || r.nonASCII) || r.checkName(&names, name, esc).
func (s *memberSet) quick(name []byte, unusual bool) bool {
	bit := foldBit(name)
	if unusual || s.bloom&bit != 0 || s.n >= smallSet-1 {
		return false
	}
	s.bloom |= bit
	s.n++
	return true
}

// checkName applies the strict member rules to the next name of an object
// (just read by Next) and records it in s.
func (r *Reader) checkName(s *memberSet, name []byte, escaped bool) bool {
	if escaped {
		return r.fail(&MemberError{Name: string(name), Reason: "is written with an escape"})
	}
	prev, clash := r.add(s, name, !r.nonASCII)
	if !clash {
		return true
	}
	reason := "is repeated"
	if prev != string(name) {
		reason = "differs only in letter case from " + strconv.Quote(prev)
	}
	return r.fail(&MemberError{Name: string(name), Reason: reason})
}

// add records name in s and reports a name before it that folds equal to
// it (the same name included).
func (r *Reader) add(s *memberSet, name []byte, ascii bool) (string, bool) {
	if s.big == nil {
		key := name
		if !ascii {
			key = []byte(foldKey(name))
		}
		bit := foldBit(key)
		if s.bloom&bit == 0 && s.n < smallSet-1 {
			s.bloom |= bit
			s.n++
			return "", false
		}
		earlier := r.earlierNames(s.start, r.strStart)
		if s.n < smallSet-1 {
			for _, p := range earlier {
				if foldEqual(p, name) {
					return string(p), true
				}
			}
			s.bloom |= bit
			s.n++
			return "", false
		}
		s.big = make(map[string]string, 2*len(earlier))
		for _, p := range earlier {
			s.big[foldKey(p)] = string(p)
		}
	}
	k := foldKey(name)
	if p, ok := s.big[k]; ok {
		return p, true
	}
	s.big[k] = string(name)
	s.n++
	return "", false
}

// earlierNames reads again the member names of the object at start that
// come before the name whose content starts at end (all already checked).
func (r *Reader) earlierNames(start, end int) [][]byte {
	var sub Reader
	sub.Reset(r.b, r.maxDepth)
	sub.i, sub.checked = start, true
	var names [][]byte
	if !sub.Enter('{') {
		return nil
	}
	for {
		name, _, ok := sub.Next()
		if !ok || sub.strStart >= end {
			return names
		}
		names = append(names, name)
		if !sub.skip() {
			return names
		}
	}
}

// foldEqual reports whether two names are equal under case folding.
func foldEqual(a, b []byte) bool {
	if isASCII(a) && isASCII(b) {
		return len(a) == len(b) && asciiFoldBytes(a, b)
	}
	return foldKey(a) == foldKey(b)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// foldBit maps a name (ASCII, or a foldKey) to one of 64 bits from its
// length and its first and last bytes with ASCII case ignored (c|0x20), so
// names that fold equal get the same bit (foldKey maps ASCII letters to
// upper case, and c|0x20 ignores that).
func foldBit(b []byte) uint64 {
	n := uint(len(b))
	if n == 0 {
		return 1
	}
	return 1 << ((n + uint(b[0]|0x20)*5 + uint(b[n-1]|0x20)*3) & 63)
}

// asciiFoldBytes reports whether two ASCII names of equal length are equal
// ignoring letter case.
func asciiFoldBytes(a, b []byte) bool {
	for i := range a {
		x, y := a[i], b[i]
		if x != y && (x|0x20 != y|0x20 || x|0x20 < 'a' || x|0x20 > 'z') {
			return false
		}
	}
	return true
}

// foldKey maps a name to one representative of its case-folding class:
// every rune becomes the smallest rune of its simple folding orbit, so
// "K", "k" and the Kelvin sign U+212A share a key. Two names with the same
// key are the same name to a case-insensitive decoder such as
// encoding/json's.
func foldKey(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, ru := range string(b) {
		m := ru
		for f := unicode.SimpleFold(ru); f != ru; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		sb.WriteRune(m)
	}
	return sb.String()
}

// decodable reports whether the escapes of a raw string (already checked
// by the reader) have a UTF-8 form: every \u surrogate is a high one
// followed by a low one.
func decodable(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if raw[i] != 'u' {
			continue
		}
		ru, _ := hex4(raw[i+1:])
		i += 4
		switch {
		case ru < 0xD800 || ru > 0xDFFF:
		case ru >= 0xDC00:
			return false
		default:
			if i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
				return false
			}
			lo, _ := hex4(raw[i+3:])
			if lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 6
		}
	}
	return true
}

// Value is one JSON value read by Parse, in source order. Scalars keep
// their exact source bytes in Raw (strings with their quotes), so writing
// a tree back changes nothing but insignificant white space.
type Value struct {
	// Kind is '{', '[', '"', '0' (a number), 't', 'f' or 'n'.
	Kind  byte
	Raw   []byte   // scalars only
	Names []string // objects only: member names, in order
	Elems []*Value // object member values (parallel to Names) or array elements
}

// Parse reads b, which must be exactly one JSON value, into a tree,
// applying every rule of Skip (RFC 8259, UTF-8, escapes with a UTF-8 form,
// unescaped names that are unique in their object under case folding) and
// the nesting limit maxDepth (DefaultMaxDepth when maxDepth <= 0). The
// error is ErrSyntax, ErrDepth or a *MemberError.
func Parse(b []byte, maxDepth int) (*Value, error) {
	t := tree{src: string(b)}
	t.r.Reset(b, maxDepth)
	v := t.value()
	if v == nil || !t.r.End() {
		return nil, t.r.err
	}
	return v, nil
}

// tree builds a Parse tree with few allocations: Values, member names and
// element lists are cut from slabs (each list capped at its length, so
// that Set reallocates instead of writing into a neighbour), and a member
// name is a substring of src, the input converted once (names are never
// escaped: Parse refuses those). Children are gathered on a stack first,
// so every list is allocated once at its final size.
type tree struct {
	r      Reader
	src    string
	vals   []Value
	elems  []*Value
	names  []string
	stackE []*Value
	stackN []string
}

const slabLen = 256

func (t *tree) newValue(v Value) *Value {
	if len(t.vals) == 0 {
		t.vals = make([]Value, slabLen)
	}
	p := &t.vals[0]
	*p = v
	t.vals = t.vals[1:]
	return p
}

// take moves the children gathered above mark into slab slices.
func (t *tree) take(v *Value, mark int, withNames bool) {
	n := len(t.stackE) - mark
	if n == 0 {
		return
	}
	if len(t.elems) < n {
		t.elems = make([]*Value, max(n, slabLen))
	}
	v.Elems = t.elems[:n:n]
	t.elems = t.elems[n:]
	copy(v.Elems, t.stackE[mark:])
	clear(t.stackE[mark:])
	t.stackE = t.stackE[:mark]
	if withNames {
		if len(t.names) < n {
			t.names = make([]string, max(n, slabLen))
		}
		v.Names = t.names[:n:n]
		t.names = t.names[n:]
		copy(v.Names, t.stackN[mark:])
		t.stackN = t.stackN[:mark]
	}
}

// value reads one value at r.i as a tree.
func (t *tree) value() *Value {
	r := &t.r
	switch r.Kind() {
	case 0:
		r.fail(ErrSyntax)
		return nil
	case '{':
		if !r.Enter('{') {
			return nil
		}
		v := t.newValue(Value{Kind: '{'})
		mark := len(t.stackE)
		names := r.newMemberSet()
		for {
			name, esc, ok := r.Next()
			if !ok {
				if r.err != nil {
					return nil
				}
				t.take(v, mark, true)
				return v
			}
			if esc { // refused by checkName; never a substring of src
				r.checkName(&names, name, esc)
				return nil
			}
			s := t.src[r.strStart : r.strStart+len(name)]
			if !names.quick(name, r.nonASCII) && !r.checkName(&names, name, esc) {
				return nil
			}
			e := t.value()
			if e == nil {
				r.inside(name)
				return nil
			}
			t.stackN = append(t.stackN, s)
			t.stackE = append(t.stackE, e)
		}
	case '[':
		if !r.Enter('[') {
			return nil
		}
		v := t.newValue(Value{Kind: '['})
		mark := len(t.stackE)
		for i := 0; r.NextElem(); i++ {
			e := t.value()
			if e == nil {
				r.insideElem(i)
				return nil
			}
			t.stackE = append(t.stackE, e)
			t.stackN = append(t.stackN, "")
		}
		if r.err != nil {
			return nil
		}
		t.take(v, mark, false)
		t.stackN = t.stackN[:mark]
		return v
	default:
		k := r.Kind()
		if k == '-' {
			k = '0'
		}
		raw, ok := r.Skip()
		if !ok {
			return nil
		}
		return t.newValue(Value{Kind: k, Raw: raw})
	}
}

// Get returns the value of member name of an object, or nil.
func (v *Value) Get(name string) *Value {
	if v == nil || v.Kind != '{' {
		return nil
	}
	for i, n := range v.Names {
		if n == name {
			return v.Elems[i]
		}
	}
	return nil
}

// Delete removes member name from an object, if present.
func (v *Value) Delete(name string) {
	if v == nil || v.Kind != '{' {
		return
	}
	for i, n := range v.Names {
		if n == name {
			v.Names = append(v.Names[:i], v.Names[i+1:]...)
			v.Elems = append(v.Elems[:i], v.Elems[i+1:]...)
			return
		}
	}
}

// Set replaces the value of member name, or adds it first (front) or
// last.
func (v *Value) Set(name string, e *Value, front bool) {
	for i, n := range v.Names {
		if n == name {
			v.Elems[i] = e
			return
		}
	}
	if front {
		v.Names = append([]string{name}, v.Names...)
		v.Elems = append([]*Value{e}, v.Elems...)
		return
	}
	v.Names = append(v.Names, name)
	v.Elems = append(v.Elems, e)
}

// Str returns the decoded text of a string value.
func (v *Value) Str() (string, bool) {
	if v == nil || v.Kind != '"' {
		return "", false
	}
	raw := v.Raw[1 : len(v.Raw)-1]
	return StringValue(raw, strings.IndexByte(string(raw), '\\') >= 0)
}

// StringOf returns a string value holding s, which must be valid UTF-8.
// Only '"', '\\' and control characters are escaped.
func StringOf(s string) *Value {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xF])
		default:
			b = append(b, c)
		}
	}
	return &Value{Kind: '"', Raw: append(b, '"')}
}

// AppendCompact appends v without insignificant white space. Names need
// no escaping: Parse refuses escaped names, and a name added with Set is
// the caller's plain text.
func (v *Value) AppendCompact(dst []byte) []byte {
	switch v.Kind {
	case '{':
		dst = append(dst, '{')
		for i, n := range v.Names {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '"')
			dst = append(dst, n...)
			dst = append(dst, '"', ':')
			dst = v.Elems[i].AppendCompact(dst)
		}
		return append(dst, '}')
	case '[':
		dst = append(dst, '[')
		for i, e := range v.Elems {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.AppendCompact(dst)
		}
		return append(dst, ']')
	}
	return append(dst, v.Raw...)
}
