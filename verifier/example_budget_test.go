package verifier_test

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/time/rate"

	"github.com/healthcards/healthcards/verifier"
)

// Per-request budgets: an input holding more cards than the limit is
// refused as a whole, and a service bounds the fetches each client causes
// with ContextWithFetchLimit (here a token bucket of 30 per minute).
func ExampleWithMaxCardsPerInput() {
	v, _ := verifier.New(verifier.WithTrustedIssuers("https://lab.example.org"), verifier.WithMaxCardsPerInput(10))

	perClient := rate.NewLimiter(rate.Limit(30.0/60), 10) // one per client in a real service
	ctx := verifier.ContextWithFetchLimit(context.Background(), perClient.Allow)

	input := strings.Repeat("shc:/56 ", 1000)
	_, err := v.Verify(ctx, []byte(input))
	fmt.Println(verifier.CodeOf(err))
	// Output: too_many_cards
}
