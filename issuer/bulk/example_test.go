package bulk_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/bulk"
	"github.com/healthcards/healthcards/issuer/store/memstore"
	"github.com/healthcards/healthcards/issuer/store/sqlite"
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

// A Manager keeps batches in the issuer store's database: submit one,
// follow it (any replica on the same database answers the same), and read
// its results.
func ExampleManager() {
	dir, _ := os.MkdirTemp("", "bulk-manager-example")
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "in")
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: 2, Seed: 1}); err != nil {
		panic(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "store"))
	if err != nil {
		panic(err)
	}
	defer st.Close()
	priv, _ := ecdsa.ParseRawPrivateKey(elliptic.P256(), []byte("example-only-p256-scalar-32bytes"))
	k, _ := keys.NewPrivateKey(priv)
	is, err := issuer.New(issuer.Config{Iss: "https://registry.example.org", Keys: issuer.StaticKeys{Signer: k},
		Store: st, RIDSecret: "example-rid-secret-with-at-least-32-chars"})
	if err != nil {
		panic(err)
	}
	m, err := bulk.NewManager(bulk.ManagerConfig{DB: st, Dir: filepath.Join(dir, "scratch"), Issuer: is})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	var files []bulk.Upload
	ents, _ := os.ReadDir(in)
	for _, e := range ents {
		f, _ := os.Open(filepath.Join(in, e.Name()))
		defer f.Close()
		files = append(files, bulk.Upload{Name: e.Name(), Body: f})
	}
	b, err := m.Submit(ctx, "lab-1", bulk.Outputs{Card: true}, files, 1<<20)
	if err != nil {
		panic(err)
	}
	for b.Status != bulk.BatchDone && b.Status != bulk.BatchFailed {
		time.Sleep(10 * time.Millisecond)
		if b, err = m.Status(ctx, b.ID, "lab-1"); err != nil {
			panic(err)
		}
	}
	fmt.Printf("%s: %d of %d results, %d patients issued\n", b.Status, b.Done, b.Total, b.Issued)
	// Output: done: 2 of 2 results, 2 patients issued
}
