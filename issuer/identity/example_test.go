package identity_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/healthcards/healthcards/issuer/identity"
)

// An administrator adds a desk account; the one-time code is what the
// person types on the enrolment page before registering a passkey.
func ExampleService_AddAccount() {
	dir, _ := os.MkdirTemp("", "identity")
	defer os.RemoveAll(dir)
	ids, err := identity.Open(context.Background(), identity.Config{Path: filepath.Join(dir, "identity.db")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ids.Close()
	a, code, _ := ids.AddAccount(context.Background(), "Dana Desk", identity.RoleDesk)
	fmt.Println(a.Role, len(code), a.Role.Valid())
	// Output: desk 14 true
}
