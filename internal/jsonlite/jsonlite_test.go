package jsonlite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

var validCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e+3`, `true`, `false`, `null`,
	` {"a" : [1, 2, {"b": null}], "c": "\u00e9\n\"", "d": -0.5E-2} `,
	`"\ud83d\ude00"`, `"é"`, `[[[[]]]]`, `{"a":1,"b":{"a":2}}`,
}

var invalidCases = []string{
	``, ` `, `{`, `}`, `[`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`,
	`01`, `1.`, `.5`, `1e`, `+1`, `-`, `"\x"`, `"\u12"`, "\"\x01\"", "\"\xff\"",
	`tru`, `nul`, `{"a":1}x`, `{} {}`, `{1:2}`, `'a'`, "\"\xed\xa0\x80\"",
	// Strict beyond RFC 8259: a lone surrogate escape (no UTF-8 form) and
	// member names that are escaped, repeated or case variants.
	`"\ud800"`, `"\udc00\ud800"`, `"\ud800\u0041"`, `{"\u0061":1}`, `{"a":1,"a":2}`, `{"a":1,"A":2}`,
	`[{"x":{"iss":1,"ISS":2}}]`, "{\"k\":1,\"\u212a\":2}",
}

func TestValidMatchesEncodingJSON(t *testing.T) {
	for _, c := range validCases {
		if !Valid([]byte(c)) {
			t.Errorf("Valid(%q) = false", c)
		}
	}
	for _, c := range invalidCases {
		if Valid([]byte(c)) {
			t.Errorf("Valid(%q) = true", c)
		}
	}
}

func TestDepthLimit(t *testing.T) {
	deep := strings.Repeat("[", DefaultMaxDepth) + strings.Repeat("]", DefaultMaxDepth)
	if !Valid([]byte(deep)) {
		t.Fatal("depth at the limit refused")
	}
	var r Reader
	r.Reset([]byte("["+deep+"]"), 0)
	if _, ok := r.Skip(); ok || r.Err() != ErrDepth {
		t.Fatalf("depth over the limit: err = %v, want ErrDepth", r.Err())
	}
}

func TestObjectWalk(t *testing.T) {
	var r Reader
	r.Reset([]byte(`{"iss":"a\/b","n":12.5,"skip":{"x":[1,{"y":2}]},"Iss":true}`), 0)
	if !r.Enter('{') {
		t.Fatal(r.Err())
	}
	var got []string
	for {
		name, esc, ok := r.Next()
		if !ok {
			break
		}
		if esc {
			t.Fatalf("name %s reported escaped", name)
		}
		switch string(name) {
		case "iss":
			raw, esc, _ := r.String()
			s, _ := StringValue(raw, esc)
			got = append(got, "iss="+s)
		case "n":
			n, _ := r.Number()
			got = append(got, "n="+string(n))
		default:
			v, _ := r.Skip()
			got = append(got, string(name)+"="+string(v))
		}
	}
	if r.Err() != nil || !r.End() {
		t.Fatalf("err %v", r.Err())
	}
	want := `iss=a/b n=12.5 skip={"x":[1,{"y":2}]} Iss=true`
	if strings.Join(got, " ") != want {
		t.Fatalf("got %q\nwant %q", strings.Join(got, " "), want)
	}
}

func TestWrongKindFails(t *testing.T) {
	var r Reader
	r.Reset([]byte(`{"a":1}`), 0)
	r.Enter('{')
	r.Next()
	if _, _, ok := r.String(); ok || r.Err() != ErrSyntax {
		t.Fatalf("String on a number: err = %v", r.Err())
	}
	if _, _, ok := r.Next(); ok {
		t.Fatal("failed reader kept reading")
	}
}

func TestFoldsTo(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{{"iss", true}, {"ISS", true}, {"Iss", true}, {"isx", false}, {"issuer", false}, {"ıss", true}} {
		if got := FoldsTo([]byte(c.name), "iss", "nbf"); got != c.want {
			t.Errorf("FoldsTo(%q) = %v", c.name, got)
		}
	}
}

// FuzzValid: Valid agrees with encoding/json (plus RFC 8259's UTF-8 rule)
// within the depth limit; decoded strings agree with encoding/json's.
func FuzzValid(f *testing.F) {
	for _, c := range append(append([]string{}, validCases...), invalidCases...) {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := Valid(b)
		want := json.Valid(b) && utf8.Valid(b)
		if got && !want {
			t.Fatalf("Valid(%q) = true, encoding/json refuses it", b)
		}
		if !got && want {
			// Only the strict rules may refuse what encoding/json takes.
			_, err := Parse(b, 0)
			var me *MemberError
			if err != ErrDepth && !errors.As(err, &me) && !hasLoneSurrogate(b) {
				t.Fatalf("Valid(%q) = false (%v), encoding/json accepts it", b, err)
			}
		}
		if !got {
			return
		}
		var r Reader
		r.Reset(b, 0)
		if r.Kind() == '"' {
			raw, esc, _ := r.String()
			s, ok := StringValue(raw, esc)
			var ref string
			if err := json.Unmarshal(b, &ref); err != nil {
				t.Fatal(err)
			}
			if ok && s != ref {
				t.Fatalf("string %q decodes to %q, encoding/json to %q", b, s, ref)
			}
			if !ok && utf8.ValidString(ref) && !strings.ContainsRune(ref, utf8.RuneError) {
				t.Fatalf("string %q refused, encoding/json decodes it to %q", b, ref)
			}
		}
	})
}

// plainASCII8 agrees with a byte-by-byte check on every single special
// byte in every position.
func TestPlainASCII8(t *testing.T) {
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			w := []byte("abcdefgh")
			w[pos] = byte(c)
			want := c >= 0x20 && c < 0x80 && c != '"' && c != '\\'
			var x uint64
			for i := 7; i >= 0; i-- {
				x = x<<8 | uint64(w[i])
			}
			if got := plainASCII8(x); got != want {
				t.Fatalf("byte %#x at %d: plainASCII8 = %v", c, pos, got)
			}
		}
	}
}

func TestPlainTable(t *testing.T) {
	for c := 0; c < 256; c++ {
		if want := c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; plain[c] != want {
			t.Fatalf("plain[%#x] = %v", c, plain[c])
		}
	}
}

func TestMembers(t *testing.T) {
	known := []string{"a", "b"}
	for _, tc := range []struct {
		in   string
		ok   bool
		read string
	}{
		{`{"a":1,"x":[1,{"y":2}],"b":"s"}`, true, "ab"},
		{`{}`, true, ""},
		{`{"a":1,"a":2}`, false, "a"},       // repeated
		{`{"A":1}`, false, ""},              // folds to a known name
		{`{"\u0061":1}`, false, ""},         // escaped name
		{`{"x":1,"X":2}`, false, ""},        // unknown names are checked too
		{`{"x":{"y":1,"y":2}}`, false, ""},  // at every depth
		{`{"x":[{"\u0079":1}]}`, false, ""}, // in arrays
		{`{"b":{"y":1,"Y":2}}`, false, "b"}, // inside a value read by the caller
		{`{"b":1,"c":2,"a":3}`, true, "ba"},
	} {
		r := NewReader([]byte(tc.in))
		if !r.Enter('{') {
			t.Fatalf("%s: cannot enter", tc.in)
		}
		var got string
		ok := r.Members(known, func(f string) bool {
			got += f
			_, ok := r.Skip()
			return ok
		})
		if ok != tc.ok || got != tc.read {
			t.Errorf("%s: ok %v read %q, want %v %q", tc.in, ok, got, tc.ok, tc.read)
		}
	}
}

// hasLoneSurrogate reports whether a JSON text holds a \u escape of a
// surrogate that is not part of a pair (encoding/json turns it into
// U+FFFD; the strict reader refuses it).
func hasLoneSurrogate(b []byte) bool {
	var r Reader
	r.Reset(b, 0)
	var walk func() bool // false: a lone surrogate
	walk = func() bool {
		switch r.Kind() {
		case '{':
			r.Enter('{')
			for {
				name, esc, ok := r.Next()
				if !ok {
					return true
				}
				if esc && !decodable(name) || !walk() {
					return false
				}
			}
		case '[':
			r.Enter('[')
			for r.NextElem() {
				if !walk() {
					return false
				}
			}
			return true
		case '"':
			raw, esc, _ := r.String()
			return !esc || decodable(raw)
		}
		r.Number()
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(b[r.i:], []byte(lit)) {
				r.i += len(lit)
			}
		}
		return true
	}
	return !walk()
}

// TestMemberErrorPath: the error names the member and where it is.
func TestMemberErrorPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"iss":1,"iss":2}`, `jsonlite: member "iss" is repeated (at $)`},
		{`{"vc":{"credentialSubject":{"fhirBundle":{"entry":[{},{"resource":{"id":"a","ID":"b"}}]}}}}`,
			`jsonlite: member "ID" differs only in letter case from "id" (at $.vc.credentialSubject.fhirBundle.entry[1].resource)`},
		{`[{"a":{"\u0062":1}}]`, `jsonlite: member "\\u0062" is written with an escape (at $[0].a)`},
		{"{\"k\":1,\"\u212a\":2}", "jsonlite: member \"\u212a\" differs only in letter case from \"k\" (at $)"},
	} {
		_, err := Parse([]byte(tc.in), 0)
		var me *MemberError
		if !errors.As(err, &me) || err.Error() != tc.want {
			t.Errorf("Parse(%s): %v\nwant %s", tc.in, err, tc.want)
		}
		r := NewReader([]byte(tc.in))
		if _, ok := r.Skip(); ok || r.Err() == nil || r.Err().Error() != tc.want {
			t.Errorf("Skip(%s): %v\nwant %s", tc.in, r.Err(), tc.want)
		}
	}
}

// TestManyMembers: a large object switches to the map and still finds a
// late case variant; a large object without one is accepted.
func TestManyMembers(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 100 {
		fmt.Fprintf(&b, `"m%d":%d,`, i, i)
	}
	ok := b.String() + `"last":0}`
	if !Valid([]byte(ok)) {
		t.Fatal("100 distinct members refused")
	}
	for _, dup := range []string{`"M7":0}`, `"m99":0}`, `"m0":0}`} {
		if Valid([]byte(b.String() + dup)) {
			t.Errorf("repeat %s among 100 members accepted", dup)
		}
	}
}

// TestParseTree: Parse keeps member order and source bytes, and
// AppendCompact writes the text back without white space.
func TestParseTree(t *testing.T) {
	in := `{ "z": 1.50, "a": ["x\/y", {"b": null}], "s": "é\n" }`
	v, err := Parse([]byte(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(v.AppendCompact(nil)), `{"z":1.50,"a":["x\/y",{"b":null}],"s":"é\n"}`; got != want {
		t.Fatalf("AppendCompact = %s, want %s", got, want)
	}
	if s, ok := v.Get("a").Elems[0].Str(); !ok || s != "x/y" {
		t.Errorf("Str = %q %v", s, ok)
	}
	v.Delete("z")
	v.Set("first", StringOf("q\"\x01"), true)
	if got, want := string(v.AppendCompact(nil)), `{"first":"q\"\u0001","a":["x\/y",{"b":null}],"s":"é\n"}`; got != want {
		t.Fatalf("after edits = %s, want %s", got, want)
	}
	if _, err := Parse([]byte(strings.Repeat("[", 10)+strings.Repeat("]", 10)), 5); err != ErrDepth {
		t.Errorf("depth: %v", err)
	}
}

// toAny converts a tree to what encoding/json decodes into an any (with
// UseNumber), so the two can be compared.
func toAny(t *testing.T, v *Value) any {
	switch v.Kind {
	case '{':
		m := make(map[string]any, len(v.Names))
		for i, n := range v.Names {
			m[n] = toAny(t, v.Elems[i])
		}
		return m
	case '[':
		a := make([]any, 0, len(v.Elems))
		for _, e := range v.Elems {
			a = append(a, toAny(t, e))
		}
		return a
	case '"':
		s, ok := v.Str()
		if !ok {
			t.Fatalf("accepted string %s has no decoded form", v.Raw)
		}
		return s
	case '0':
		return json.Number(v.Raw)
	case 't':
		return true
	case 'f':
		return false
	}
	return nil
}

// FuzzStrictDifferential: on every input that both the strict reader
// (Parse) and the encoding/json oracle accept, they give the same value;
// the strict reader accepts nothing encoding/json refuses; and it refuses
// what encoding/json accepts only by its stated rules (member names,
// lone surrogates, depth).
func FuzzStrictDifferential(f *testing.F) {
	for _, c := range append(append([]string{}, validCases...), invalidCases...) {
		f.Add([]byte(c))
	}
	f.Add([]byte(`{"iss":"a","nbf":1,"vc":{"type":["x"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":{"entry":[]}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Parse(b, 0)
		var ref any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		refErr := dec.Decode(&ref)
		if refErr == nil && dec.More() || refErr == nil && dec.InputOffset() != int64(len(b)) && len(bytes.TrimSpace(b[dec.InputOffset():])) > 0 {
			refErr = errors.New("trailing data")
		}
		if err == nil {
			if refErr != nil || !utf8.Valid(b) {
				t.Fatalf("strict reader accepts %q, oracle: %v", b, refErr)
			}
			if got := toAny(t, v); !reflect.DeepEqual(got, ref) {
				t.Fatalf("%q: strict reader reads %#v, oracle %#v", b, got, ref)
			}
			return
		}
		if refErr == nil && utf8.Valid(b) {
			var me *MemberError
			if err != ErrDepth && !errors.As(err, &me) && !hasLoneSurrogate(b) {
				t.Fatalf("strict reader refuses %q (%v) for no stated rule", b, err)
			}
		}
	})
}

// ResetShallow checks the names Members reads, not those inside skipped
// values; ResetChecked checks none but still the syntax.
func TestShallowAndChecked(t *testing.T) {
	in := []byte(`{"a":{"x":1,"x":2},"b":1}`)
	var r Reader
	r.ResetShallow(in, 0)
	if !r.Enter('{') || !r.Members([]string{"b"}, func(string) bool { _, ok := r.Skip(); return ok }) || !r.End() {
		t.Fatalf("shallow: nested repeat refused: %v", r.Err())
	}
	r.ResetShallow([]byte(`{"a":1,"A":2}`), 0)
	if r.Enter('{') && r.Members(nil, func(string) bool { return true }) {
		t.Fatal("shallow: a case variant at the level read was accepted")
	}
	r.ResetChecked([]byte(`{"a":1,"a":2,"b":[1,}`), 0)
	if _, ok := r.Skip(); ok {
		t.Fatal("checked: a syntax error was accepted")
	}
	r.Reset(in, 0)
	if _, ok := r.Skip(); ok {
		t.Fatal("strict: a nested repeat was accepted")
	}
}

// Parse cuts Values, names and element lists from slabs: a document of
// 1,000 small objects (7,000 values and names) costs a few dozen
// allocations, not several per value (about 8,000 before).
func TestParseAllocations(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"entry":[`)
	for i := range 1000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"system":"http://loinc.org","code":"%d","n":%d}`, i, i)
	}
	b.WriteString(`]}`)
	doc := []byte(b.String())
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := Parse(doc, 0); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.0f allocations for %d bytes", allocs, len(doc))
	if allocs > 100 {
		t.Fatalf("Parse made %.0f allocations; want at most 100", allocs)
	}
}

// Lists cut from one slab do not share room: Set and Delete on one
// object leave its neighbours as they were, and names read back exactly.
func TestParseSlabsIndependent(t *testing.T) {
	v, err := Parse([]byte(`{"a":{"x":1,"y":2},"b":{"z":3},"c":[1,2],"d":[3]}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	a, bb, c := v.Get("a"), v.Get("b"), v.Get("c")
	a.Delete("x")
	a.Set("w", StringOf("new"), false)
	a.Set("v", StringOf("front"), true)
	c.Elems = append(c.Elems, StringOf("more"))
	bb.Set("q", StringOf("q"), false)
	if got, want := string(v.AppendCompact(nil)), `{"a":{"v":"front","y":2,"w":"new"},"b":{"z":3,"q":"q"},"c":[1,2,"more"],"d":[3]}`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
