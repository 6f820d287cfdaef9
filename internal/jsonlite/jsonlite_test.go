package jsonlite

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

var validCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e+3`, `true`, `false`, `null`,
	` {"a" : [1, 2, {"b": null}], "c": "\u00e9\n\"", "d": -0.5E-2} `,
	`"\ud83d\ude00"`, `"\ud800"`, `"é"`, `[[[[]]]]`,
}

var invalidCases = []string{
	``, ` `, `{`, `}`, `[`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`,
	`01`, `1.`, `.5`, `1e`, `+1`, `-`, `"\x"`, `"\u12"`, "\"\x01\"", "\"\xff\"",
	`tru`, `nul`, `{"a":1}x`, `{} {}`, `{1:2}`, `'a'`, "\"\xed\xa0\x80\"",
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

func TestValidCompact(t *testing.T) {
	if !ValidCompact([]byte(`{"a":[1,"x y"]}`)) {
		t.Error("compact text refused")
	}
	if ValidCompact([]byte(`{"a": 1}`)) || ValidCompact([]byte("{\"a\":1}\n")) {
		t.Error("text with white space taken for compact")
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
		if got != want {
			var r Reader
			r.Reset(b, 0)
			r.Skip()
			if r.Err() == ErrDepth {
				return
			}
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", b, got, want)
		}
		if !got {
			return
		}
		var buf bytes.Buffer
		json.Compact(&buf, b)
		if ValidCompact(b) != bytes.Equal(buf.Bytes(), b) {
			t.Fatalf("ValidCompact(%q) = %v, but Compact gives %q", b, ValidCompact(b), buf.Bytes())
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
		{`{"a":1,"a":2}`, false, "a"}, // repeated
		{`{"A":1}`, false, ""},        // folds to a known name
		{`{"\u0061":1}`, false, ""},   // escaped name
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
