package safehttp_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/healthcards/healthcards/safehttp"
)

// A client that may reach the issuer running beside it on loopback, and
// nothing else that is not public.
func ExampleNew() {
	c, err := safehttp.New(safehttp.Config{PrivateOrigins: []string{"https://localhost:8443"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = c.Get(context.Background(), "https://127.0.0.1:6379/")
	fmt.Println(errors.Is(err, safehttp.ErrBlockedAddress))
	// Output: true
}
