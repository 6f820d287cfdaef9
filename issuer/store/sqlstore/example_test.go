package sqlstore_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/sqlstore"
)

// revoke depends only on the part of the store it uses.
func revoke(ctx context.Context, rs store.RevocationStore, kid, rid string) (int64, error) {
	return rs.Revoke(ctx, []store.RevocationEntry{{Kid: kid, Entry: rid}}, store.Event{Actor: "cli", Action: "revoke", Kid: kid, RID: rid})
}

func ExampleOpenSQLite() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "issuer-data")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := sqlstore.OpenSQLite(ctx, dir) // or sqlstore.OpenPostgres(ctx, dsn) for several replicas
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ctr, err := revoke(ctx, s, "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s", "MTEyMzQ1Njc4OTA")
	if err != nil {
		log.Fatal(err)
	}
	crl, _ := s.CRL(ctx, "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s")
	fmt.Println(ctr, crl.RIDs)
	// Output:
	// 2 [MTEyMzQ1Njc4OTA]
}
