package jsonlite

import (
	"encoding/binary"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// Errors. Both are final: a Reader that failed stays failed.
var (
	// ErrSyntax means the input is not RFC 8259 JSON (including invalid
	// UTF-8 in a string, a lone surrogate escape or trailing data), or a
	// value was read with the wrong method for its kind.
	ErrSyntax = errors.New("jsonlite: invalid JSON")
	// ErrDepth means the input nests arrays and objects deeper than the
	// Reader's limit.
	ErrDepth = errors.New("jsonlite: nesting too deep")
)

// DefaultMaxDepth is the nesting limit of NewReader.
const DefaultMaxDepth = 512

// Reader reads one JSON text from a byte slice, front to back, in a single
// pass. Every byte it moves past has been validated. Methods return zero
// values once an error occurred; check Err (or the boolean results).
type Reader struct {
	b        []byte
	i        int
	depth    int
	maxDepth int
	first    bool // between Enter and the first Next of that container
	nonASCII bool // the string read last has a non-ASCII character
	strStart int  // where the content of the string read last starts
	checked  bool // the input already passed the strict rules (ResetChecked)
	shallow  bool // only Members checks names (ResetShallow)
	err      error
}

// NewReader returns a Reader over b with DefaultMaxDepth.
func NewReader(b []byte) *Reader {
	r := &Reader{}
	r.Reset(b, DefaultMaxDepth)
	return r
}

// Reset makes r read b from the start with the given nesting limit
// (DefaultMaxDepth when maxDepth <= 0). A Reader can live on the stack.
func (r *Reader) Reset(b []byte, maxDepth int) {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	*r = Reader{b: b, maxDepth: maxDepth}
}

// ResetChecked is Reset for input that already passed the strict rules
// (for example a FHIR bundle returned by shc.ParsePayload): the per-object
// name checks, which cannot fail on such input, are skipped (Members still
// refuses a name that folds to a known one). Syntax, UTF-8 and depth are
// still checked, so the worst a wrong call can do is to read an object
// with repeated names without refusing it.
func (r *Reader) ResetChecked(b []byte, maxDepth int) {
	r.Reset(b, maxDepth)
	r.checked = true
}

// ResetShallow is Reset for a caller that checks each object level on
// its own (reading a nested object's raw bytes with another Reader, and
// deciding per level what a failure means): Members checks the names of
// the object it reads, while values read with Skip are checked for syntax,
// UTF-8 and depth only. Signed cards are never read this way.
func (r *Reader) ResetShallow(b []byte, maxDepth int) {
	r.Reset(b, maxDepth)
	r.shallow = true
}

// Err returns the first error, or nil.
func (r *Reader) Err() error { return r.err }

// Offset returns the index of the next unread byte.
func (r *Reader) Offset() int { return r.i }

func (r *Reader) fail(err error) bool {
	if r.err == nil {
		r.err = err
	}
	r.i = len(r.b)
	return false
}

func (r *Reader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// Kind skips white space and returns the first byte of the next value:
// '{', '[', '"', 'n', 't', 'f', '-' or a digit for a number. It returns 0
// at the end of input or after an error. Kind does not validate the value.
func (r *Reader) Kind() byte {
	if r.err != nil {
		return 0
	}
	r.ws()
	if r.i >= len(r.b) {
		return 0
	}
	c := r.b[r.i]
	if c >= '0' && c <= '9' {
		return '0'
	}
	return c
}

// End reports whether only white space is left, and fails otherwise.
func (r *Reader) End() bool {
	if r.err != nil {
		return false
	}
	r.ws()
	if r.i != len(r.b) {
		return r.fail(ErrSyntax)
	}
	return true
}

// Enter consumes the opening '{' or '[' (open) of a container.
func (r *Reader) Enter(open byte) bool {
	if r.err != nil {
		return false
	}
	r.ws()
	if r.i >= len(r.b) || r.b[r.i] != open {
		return r.fail(ErrSyntax)
	}
	r.depth++
	if r.depth > r.maxDepth {
		return r.fail(ErrDepth)
	}
	r.i++
	r.first = true
	return true
}

// Next advances to the next member of the object entered last (after the
// previous member's value has been read). It returns false at the closing
// '}' (which it consumes) or on error. On true, the member name is
// returned raw (without quotes, escapes not decoded) and escaped tells
// whether it contains a backslash; the value must be read next.
func (r *Reader) Next() (name []byte, escaped bool, ok bool) {
	if !r.more('}') {
		return nil, false, false
	}
	name, escaped, ok = r.str()
	if !ok {
		return nil, false, false
	}
	r.ws()
	if r.i >= len(r.b) || r.b[r.i] != ':' {
		r.fail(ErrSyntax)
		return nil, false, false
	}
	r.i++
	return name, escaped, true
}

// Members reads the members of the object just entered, calling read with
// the name of each member listed in known (read must consume the value; a
// read that returns false without an error recorded leaves Err nil, so the
// caller keeps its own reason). Other members are skipped (strictly: see
// Skip). Members applies the member rules of every object (see Skip) and
// also refuses an unknown name that folds to a known one (FoldsTo), so that
// a claim cannot hide behind another spelling. known holds at most 64
// names.
func (r *Reader) Members(known []string, read func(field string) bool) bool {
	names := r.newMemberSet()
	for {
		name, esc, more := r.Next()
		if !more {
			return r.err == nil
		}
		if !r.checked && !names.quick(name, esc || r.nonASCII) && !r.checkName(&names, name, esc) {
			return false
		}
		i := indexOf(known, name)
		if i < 0 {
			if FoldsTo(name, known...) {
				return r.fail(&MemberError{Name: string(name), Reason: "is a variant spelling of a known member"})
			}
			if _, ok := r.Skip(); !ok {
				r.inside(name)
				return false
			}
			continue
		}
		if !read(known[i]) {
			r.inside(name)
			return false
		}
	}
}

// indexOf returns the index of name in known, or -1.
func indexOf(known []string, name []byte) int {
	for i, k := range known {
		if string(name) == k {
			return i
		}
	}
	return -1
}

// NextElem advances to the next element of the array entered last. It
// returns false at the closing ']' (which it consumes) or on error.
func (r *Reader) NextElem() bool { return r.more(']') }

func (r *Reader) more(close byte) bool {
	if r.err != nil {
		return false
	}
	r.ws()
	if r.i >= len(r.b) {
		return r.fail(ErrSyntax)
	}
	c := r.b[r.i]
	if c == close {
		r.i++
		r.depth--
		r.first = false
		return false
	}
	if r.first {
		r.first = false
		if close == '}' && c != '"' {
			return r.fail(ErrSyntax)
		}
		return true
	}
	if c != ',' {
		return r.fail(ErrSyntax)
	}
	r.i++
	r.ws()
	if close == '}' && (r.i >= len(r.b) || r.b[r.i] != '"') {
		return r.fail(ErrSyntax)
	}
	return true
}

// String reads a string value and returns its raw content (without
// quotes; escapes not decoded) and whether it contains a backslash.
func (r *Reader) String() (raw []byte, escaped bool, ok bool) {
	if r.err != nil {
		return nil, false, false
	}
	r.ws()
	return r.str()
}

// str reads a string at r.i.
func (r *Reader) str() ([]byte, bool, bool) {
	b := r.b
	if r.i >= len(b) || b[r.i] != '"' {
		r.fail(ErrSyntax)
		return nil, false, false
	}
	start := r.i + 1
	i := start
	escaped := false
	r.nonASCII = false
	r.strStart = start
	for {
		// Fast scan over plain ASCII, eight bytes at a time, then bytewise.
		for i+8 <= len(b) && plainASCII8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) {
			r.fail(ErrSyntax)
			return nil, false, false
		}
		switch c := b[i]; {
		case c == '"':
			r.i = i + 1
			return b[start:i:i], escaped, true
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				r.fail(ErrSyntax)
				return nil, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					r.fail(ErrSyntax)
					return nil, false, false
				}
				i += 6
			default:
				r.fail(ErrSyntax)
				return nil, false, false
			}
		case c < 0x20:
			r.fail(ErrSyntax)
			return nil, false, false
		default: // non-ASCII: must be valid UTF-8
			r.nonASCII = true
			ru, n := utf8.DecodeRune(b[i:])
			if ru == utf8.RuneError && n <= 1 {
				r.fail(ErrSyntax)
				return nil, false, false
			}
			i += n
		}
	}
}

// plain marks the bytes a string may hold as they are and that need no
// further look: printable ASCII other than '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plainASCII8 reports whether none of the eight bytes in w is a quote, a
// backslash, a control character or non-ASCII (the bit tricks are exact
// once every byte is known to be below 0x80).
func plainASCII8(w uint64) bool {
	if w&msb != 0 {
		return false
	}
	hasZero := func(x uint64) bool { return (x-lsb)&^x&msb != 0 }
	return !hasZero(w^(lsb*'"')) && !hasZero(w^(lsb*'\\')) && (w-lsb*0x20)&^w&msb == 0
}

func isHex4(h []byte) bool {
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// Number reads a number value and returns its literal text.
func (r *Reader) Number() ([]byte, bool) {
	if r.err != nil {
		return nil, false
	}
	r.ws()
	b := r.b
	start, i := r.i, r.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return nil, r.fail(ErrSyntax)
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return nil, r.fail(ErrSyntax)
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return nil, r.fail(ErrSyntax)
		}
	}
	r.i = i
	return b[start:i:i], true
}

func (r *Reader) literal(lit string) bool {
	if len(r.b)-r.i < len(lit) || string(r.b[r.i:r.i+len(lit)]) != lit {
		return r.fail(ErrSyntax)
	}
	r.i += len(lit)
	return true
}

// Skip reads and validates one complete value of any kind and returns it
// raw (without surrounding white space). Every object inside it must have
// unescaped member names that are unique under case folding, and every
// string escape must have a UTF-8 form (see the package documentation).
func (r *Reader) Skip() ([]byte, bool) {
	if r.err != nil {
		return nil, false
	}
	r.ws()
	start := r.i
	if !r.skip() {
		return nil, false
	}
	return r.b[start:r.i:r.i], true
}

func (r *Reader) skip() bool {
	if r.i >= len(r.b) {
		return r.fail(ErrSyntax)
	}
	switch c := r.b[r.i]; c {
	case '{':
		if !r.Enter('{') {
			return false
		}
		names := r.newMemberSet()
		for {
			name, esc, ok := r.Next()
			if !ok {
				return r.err == nil
			}
			if !r.checked && !r.shallow && !names.quick(name, esc || r.nonASCII) && !r.checkName(&names, name, esc) {
				return false
			}
			r.ws()
			if !r.skip() {
				r.inside(name)
				return false
			}
		}
	case '[':
		if !r.Enter('[') {
			return false
		}
		for i := 0; r.NextElem(); i++ {
			r.ws()
			if !r.skip() {
				r.insideElem(i)
				return false
			}
		}
		return r.err == nil
	case '"':
		raw, esc, ok := r.str()
		if ok && esc && !decodable(raw) {
			return r.fail(ErrSyntax)
		}
		return ok
	case 't':
		return r.literal("true")
	case 'f':
		return r.literal("false")
	case 'n':
		return r.literal("null")
	default:
		_, ok := r.Number()
		return ok
	}
}

// Valid reports whether b is exactly one RFC 8259 JSON value (with
// optional surrounding white space) that meets the strict rules of Skip,
// nested at most DefaultMaxDepth deep.
func Valid(b []byte) bool {
	var r Reader
	r.Reset(b, 0)
	_, ok := r.Skip()
	return ok && r.End()
}

// AppendUnescaped appends the decoded form of a raw string (as returned by
// String or Next) to dst. It fails on a lone surrogate escape, which has no
// UTF-8 form.
func AppendUnescaped(dst, raw []byte) ([]byte, bool) {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			dst = append(dst, raw[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(raw) {
			return dst, false
		}
		switch e := raw[i+1]; e {
		case '"', '\\', '/':
			dst = append(dst, e)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if i+6 > len(raw) {
				return dst, false
			}
			ru, ok := hex4(raw[i+2:])
			if !ok {
				return dst, false
			}
			i += 6
			if utf16.IsSurrogate(ru) {
				if ru >= 0xDC00 || i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
					return dst, false
				}
				lo, ok := hex4(raw[i+2:])
				if !ok {
					return dst, false
				}
				ru = utf16.DecodeRune(ru, lo)
				if ru == utf8.RuneError {
					return dst, false
				}
				i += 6
			}
			dst = utf8.AppendRune(dst, ru)
			continue
		default:
			return dst, false
		}
		i += 2
	}
	return dst, true
}

func hex4(h []byte) (rune, bool) {
	if len(h) < 4 {
		return 0, false
	}
	var v rune
	for _, c := range h[:4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			v |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}

// StringValue decodes a raw string (as returned by String) into a Go
// string; it fails like AppendUnescaped.
func StringValue(raw []byte, escaped bool) (string, bool) {
	if !escaped {
		return string(raw), true
	}
	b, ok := AppendUnescaped(make([]byte, 0, len(raw)), raw)
	return string(b), ok
}

// FoldsTo reports whether name equals one of known ignoring ASCII case but
// differs from it exactly, or has a non-ASCII byte: the member names that a
// case-insensitive decoder (encoding/json) could take for a known member
// although a strict reader would not. Callers use it to refuse such names.
func FoldsTo(name []byte, known ...string) bool {
	for _, c := range name {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	for _, k := range known {
		if len(k) == len(name) && asciiEqualFold(name, k) {
			return true
		}
	}
	return false
}

func asciiEqualFold(a []byte, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
