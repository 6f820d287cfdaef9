package errcode_test

import (
	"errors"
	"fmt"

	"github.com/healthcards/healthcards/errcode"
)

func Example() {
	errExpired := errcode.Sentinel("verifier", "expired")
	err := fmt.Errorf("door check: %w", &errcode.Error{Pkg: "verifier", Code: "expired", Step: "time", Msg: "exp 2026-01-01T00:00:00Z has passed"})

	fmt.Println(errors.Is(err, errExpired))
	fmt.Println(errcode.CodeOf(err))
	fmt.Println(err)
	// Output:
	// true
	// expired
	// door check: verifier: expired (time): exp 2026-01-01T00:00:00Z has passed
}
