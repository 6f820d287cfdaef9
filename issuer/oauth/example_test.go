package oauth_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/healthcards/healthcards/issuer/oauth"
)

// Registering a wallet (a public client: no secret, PKCE only) with the
// built-in authorization server, as `shc-issuer clients add` does.
func ExampleStore_AddClient() {
	dir, _ := os.MkdirTemp("", "oauth-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, err := oauth.Open(ctx, oauth.StoreConfig{Path: filepath.Join(dir, "oauth.db")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	c, secret, err := st.AddClient(ctx, "My Wallet", []string{"http://127.0.0.1/callback"}, false)
	fmt.Println(err, c.Confidential, secret == "", c.RedirectURIs)
	_, _, err = st.AddClient(ctx, "Bad", []string{"http://wallet.example/callback"}, false)
	fmt.Println(oauth.CodeOf(err))
	// Output:
	// <nil> false true [http://127.0.0.1/callback]
	// invalid_client_registration
}
