package verifier

import (
	"bytes"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/shl"
)

// isLinkReference is IsLink as first written: lower-case a copy, then look.
func isLinkReference(input []byte) bool {
	s := bytes.TrimSpace(input)
	if len(s) == 0 || len(s) > shl.MaxURILen || bytes.ContainsAny(s, " \t\r\n") {
		return false
	}
	low := strings.ToLower(string(s[:min(len(s), shl.MaxURILen)]))
	return strings.HasPrefix(low, "shlink:/") || strings.Contains(low, "#shlink:/")
}

var isLinkCases = []string{
	"shlink:/abc", "SHLINK:/abc", "ShLiNk:/x", "https://viewer.example/#shlink:/abc",
	"https://v.example/#x#SHLINK:/abc", "https://v.example/#shlink", "#shlink:/", "shlink:", "shlink/",
	"eyJ.eyJ.sig", "shc:/5676", "", "  shlink:/a  ", "shlink:/a b",
	"SHL\u0130NK:/abc", "shlin\u212a:/abc", "x#shl\u0130nk:/", "\xffshlink:/", "#\xff#shlink:/",
}

func TestIsLinkMatchesReference(t *testing.T) {
	for _, c := range isLinkCases {
		if got, want := IsLink([]byte(c)), isLinkReference([]byte(c)); got != want {
			t.Errorf("IsLink(%q) = %v, reference %v", c, got, want)
		}
	}
}

func FuzzIsLink(f *testing.F) {
	for _, c := range isLinkCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := IsLink(b), isLinkReference(b); got != want {
			t.Fatalf("IsLink(%q) = %v, reference %v", b, got, want)
		}
	})
}
