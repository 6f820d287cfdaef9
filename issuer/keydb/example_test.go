package keydb_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/keydb"
)

// A replica opens the shared ring under the KEK, makes sure it can sign
// (the first replica to start creates the key), reads the shared rid
// secret and serves the ring as its issuer.KeySet. Replicas use
// OpenPostgres with the issuer store's DSN; SQLite is for one process.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "keydb-example")
	defer os.RemoveAll(dir)
	kekPath := filepath.Join(dir, "kek")
	if err := keydb.GenerateKEKFile(kekPath); err != nil { // once, then copied to every replica
		log.Fatal(err)
	}
	kek, err := keydb.LoadKEKFile(kekPath)
	if err != nil {
		log.Fatal(err)
	}
	db, err := keydb.OpenSQLite(ctx, dir, kek)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.EnsureActive(ctx, false); err != nil {
		log.Fatal(err)
	}
	rid, err := db.Secret(ctx, keydb.SecretRID, issuer.NewRIDSecret)
	if err != nil {
		log.Fatal(err)
	}
	ring, err := db.Watch(ctx, 0, nil) // LISTEN/NOTIFY on PostgreSQL, and a 2 s poll
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()
	var _ issuer.KeySet = ring
	fmt.Println(len(ring.PublicJWKS(nil).Keys), "key published;", len(rid), "character rid secret")
	// Output: 1 key published; 43 character rid secret
}
