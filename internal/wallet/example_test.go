package wallet_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/healthcards/healthcards/internal/wallet"
)

// A wallet folder is created private; the trusted issuers of a connection
// are the FHIR base and its path prefixes on its origin; --type words map
// to credentialType values (OP-4, OP-6).
func Example() {
	dir, _ := os.MkdirTemp("", "wallet")
	defer os.RemoveAll(dir)
	w, err := wallet.Open(filepath.Join(dir, "w"), wallet.Options{})
	if err != nil {
		panic(err)
	}
	st, _ := os.Stat(w.Dir())
	fmt.Println(st.Mode().Perm())
	fmt.Println(wallet.TrustedIssuersFor("https://lab.example.org/fhir"))
	ct, _ := wallet.CredentialType("laboratory")
	fmt.Println(ct)
	_, err = w.Connection()
	fmt.Println(wallet.CodeOf(err))
	// Output:
	// -rwx------
	// [https://lab.example.org https://lab.example.org/fhir]
	// Observation
	// wallet_not_connected
}
