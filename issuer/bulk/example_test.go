package bulk_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"fmt"
	"os"
	"path/filepath"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/bulk"
	"github.com/healthcards/healthcards/issuer/store/memstore"
	"github.com/healthcards/healthcards/keys"
)

// Issue a synthetic export of three patients with one bad record of every
// kind; the run reports the bad ones and issues the rest.
func Example() {
	dir, _ := os.MkdirTemp("", "bulk-example")
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: 3, Seed: 1, Broken: true}); err != nil {
		panic(err)
	}
	priv, _ := ecdsa.ParseRawPrivateKey(elliptic.P256(), []byte("example-only-p256-scalar-32bytes"))
	k, _ := keys.NewPrivateKey(priv)
	is, err := issuer.New(issuer.Config{Iss: "https://registry.example.org", Keys: issuer.StaticKeys{Signer: k},
		Store: memstore.New(), RIDSecret: "example-rid-secret-with-at-least-32-chars"})
	if err != nil {
		panic(err)
	}
	sum, err := bulk.Run(context.Background(), bulk.Config{Issuer: is, In: in, Out: out, BatchID: "example",
		Outputs: bulk.Outputs{Card: true, PNG: true}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d result lines: %d patients issued, %d failed\n", sum.Total, sum.Issued, sum.Failed)
	// Output: 10 result lines: 3 patients issued, 7 failed
}
