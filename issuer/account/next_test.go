package account_test

import (
	"strings"
	"testing"

	"github.com/healthcards/healthcards/issuer/account"
)

// next must stay on this site: every way of naming another host is
// refused, encoded or not.
func TestSafeNext(t *testing.T) {
	good := []string{"/account/", "/account/apps", "/oauth/authorize?client_id=w&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb&state=x",
		"/a/b?c=d#e", "/", "/a%20b", "/x?next=//evil.example"}
	bad := []string{"", "account", "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example", "/\\/evil.example",
		"https://evil.example/", "javascript:alert(1)", "http:/evil", "/%2F%2Fevil.example", "/%2f/evil.example", "/%5Cevil.example",
		"/%252F%252Fevil.example", "/%25252F%25252Fevil", "/\t/evil.example", "/\n/evil.example", "/%09/evil.example", "/ /evil",
		"/%0D%0ALocation:%20x", "/%zz", "/\x7f", "/é", "data:text/html,x", "/" + strings.Repeat("a", 5000),
		"/%2525252F%2525252Fevil"}
	for _, n := range good {
		if !account.SafeNext(n) {
			t.Errorf("SafeNext(%q) = false", n)
		}
	}
	for _, n := range bad {
		if account.SafeNext(n) {
			t.Errorf("SafeNext(%q) = true", n)
		}
	}
}
