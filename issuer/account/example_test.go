package account_test

import (
	"fmt"

	"github.com/healthcards/healthcards/issuer/account"
)

// After sign-in the page returns to next only if it stays on this site.
func ExampleSafeNext() {
	for _, next := range []string{"/oauth/authorize?client_id=wallet", "//evil.example/", "/%2F%2Fevil.example", "https://evil.example/"} {
		fmt.Println(account.SafeNext(next), next)
	}
	// Output:
	// true /oauth/authorize?client_id=wallet
	// false //evil.example/
	// false /%2F%2Fevil.example
	// false https://evil.example/
}
