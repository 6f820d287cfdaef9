package auth_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/store/memstore"
)

// A lab system's API token: created once (only its hash is stored), then
// checked on every request; revoked, it stops at once.
func ExampleAuthenticator_Authenticate() {
	ctx := context.Background()
	st := memstore.New()
	a, err := auth.New(auth.Config{Store: st})
	if err != nil {
		fmt.Println(err)
		return
	}
	secret, tok, err := auth.NewToken([]string{auth.ScopeCardsIssue}, "lab system", time.Now())
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := st.PutToken(ctx, tok); err != nil {
		fmt.Println(err)
		return
	}
	p, err := a.Authenticate(ctx, "Bearer "+secret)
	fmt.Println(err, p.Kind, p.Has(auth.ScopeCardsIssue), p.Has(auth.ScopeCardsRevoke))
	st.RevokeToken(ctx, tok.ID, time.Now())
	_, err = a.Authenticate(ctx, "Bearer "+secret)
	fmt.Println(errors.Is(err, auth.ErrUnauthenticated))
	_, err = a.Authenticate(ctx, "Basic "+secret)
	fmt.Println(errors.Is(err, auth.ErrUnauthenticated))
	// Output:
	// <nil> token true false
	// true
	// true
}
