package postgres_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/healthcards/healthcards/issuer/store/postgres"
)

// Every replica opens the same database; the first one to start applies
// the migrations, the others wait on the advisory lock and find them done.
func ExampleOpen() {
	ctx := context.Background()
	s, err := postgres.Open(ctx, os.Getenv("ISSUER_DATABASE_URL")) // e.g. postgres://issuer@db.internal/issuer?sslmode=verify-full
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	v, err := s.CRLVersion(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("crlVersion:", v)
}
