package account

import (
	"net/url"
	"strings"
)

// maxNext bounds a return path (an OAuth authorization request with its
// parameters fits).
const maxNext = 4096

// SafeNext reports whether next is a same-origin relative path to return
// to after sign-in: it starts with one "/" and is not "//host" or "/\host"
// (which browsers read as another host), before or after percent-decoding;
// it holds no scheme, user, host, backslash, control character or space
// (browsers drop tabs and newlines, so "/\t/evil" would become "//evil"),
// and it decodes cleanly. Anything else is refused: the caller falls back
// to /account/.
func SafeNext(next string) bool {
	if next == "" || len(next) > maxNext || next[0] != '/' {
		return false
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c <= ' ' || c == 0x7f || c == '\\' || c >= 0x80 {
			return false
		}
	}
	if strings.HasPrefix(next, "//") {
		return false
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	// The path decoded (once, twice, three times: a proxy or a later
	// redirect may decode again): "/%2F%2Fevil", "/%5Cevil", "/%09/evil"
	// and their doubly encoded forms are refused too.
	p, _, _ := strings.Cut(next, "?")
	p, _, _ = strings.Cut(p, "#")
	for i := 0; ; i++ {
		d, err := url.PathUnescape(p)
		if err != nil || strings.HasPrefix(d, "//") || strings.ContainsAny(d, "\\\x00\t\r\n") {
			return false
		}
		if d == p {
			break
		}
		if i == 3 {
			return false // still encoded after three rounds
		}
		p = d
	}
	return true
}
