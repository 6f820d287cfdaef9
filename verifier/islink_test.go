package verifier

import (
	"bytes"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/shl"
)

// TestIsLink: a SMART Health Link is one token that starts with shlink:/
// (any ASCII case), bare or after a '#' of a viewer URL (SHL-1..3).
func TestIsLink(t *testing.T) {
	for in, want := range map[string]bool{
		"shlink:/abc":                         true,
		"SHLINK:/abc":                         true,
		"ShLiNk:/x":                           true,
		"  shlink:/a  ":                       true,
		"https://viewer.example/#shlink:/abc": true,
		"https://v.example/#x#SHLINK:/abc":    true,
		"#shlink:/":                           true,
		"#\xff#shlink:/":                      true,
		"https://v.example/#shlink":           false,
		"shlink:":                             false,
		"shlink/":                             false,
		"shlink:/a b":                         false,
		"eyJ.eyJ.sig":                         false,
		"shc:/5676":                           false,
		"":                                    false,
		"\xffshlink:/":                        false,
		"SHL\u0130NK:/abc":                    false, // dotted capital I is not ASCII 'i'
		"shlin\u212a:/abc":                    false, // Kelvin sign is not ASCII 'k'
		"x#shl\u0130nk:/":                     false,
		"https://v.example/shlink:/abc":       false,
		"shlink:/" + strings.Repeat("a", shl.MaxURILen): false,
	} {
		if got := IsLink([]byte(in)); got != want {
			t.Errorf("IsLink(%.40q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzIsLink checks IsLink against its definition written the plain way:
// lower-case the ASCII letters of a copy, then look for the scheme at the
// start or after a '#'.
func FuzzIsLink(f *testing.F) {
	for _, s := range []string{"shlink:/abc", "https://v.example/#x#SHLINK:/abc", "shlin\u212a:/abc", "eyJ.eyJ.sig", "#\xff#shlink:/"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := bytes.TrimSpace(b)
		want := len(s) > 0 && len(s) <= shl.MaxURILen && !bytes.ContainsAny(s, " \t\r\n")
		if want {
			low := bytes.Clone(s)
			for i, c := range low {
				if 'A' <= c && c <= 'Z' {
					low[i] = c + 'a' - 'A'
				}
			}
			want = bytes.HasPrefix(low, []byte(linkScheme)) || bytes.Contains(low, []byte("#"+linkScheme))
		}
		if got := IsLink(b); got != want {
			t.Fatalf("IsLink(%q) = %v, want %v", b, got, want)
		}
	})
}
