package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/sqlite"
)

func ExampleOpen() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "issuer-data")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	v, _ := s.CRLVersion(ctx)
	fmt.Println("crlVersion before any revocation:", v)

	// Revoke one rid, and everything issued to another before a time (REV-5).
	ctr, err := s.Revoke(ctx, []store.RevocationEntry{
		{Kid: "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s", Entry: "MTEyMzQ1Njc4OTA"},
		{Kid: "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s", Entry: "OTg3NjU0MzIxMA.1636977600"},
	}, store.Event{Actor: "cli", Action: "revoke"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("new ctr:", ctr)

	crl, _ := s.CRL(ctx, "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s")
	fmt.Println(crl.Ctr, crl.RIDs)
	// Output:
	// crlVersion before any revocation: 1
	// new ctr: 2
	// 2 [MTEyMzQ1Njc4OTA OTg3NjU0MzIxMA.1636977600]
}
