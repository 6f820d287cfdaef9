package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestWithSearchPath(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:p@127.0.0.1:5432/db?sslmode=disable": "postgres://u:p@127.0.0.1:5432/db?search_path=s1&sslmode=disable",
		"host=127.0.0.1 dbname=db":                         "host=127.0.0.1 dbname=db search_path=s1",
	} {
		got, err := WithSearchPath(in, "s1")
		if err != nil || got != want {
			t.Errorf("WithSearchPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := WithSearchPath("postgres://%zz", "s1"); err == nil {
		t.Error("a malformed URL was accepted")
	}
}

// Two fresh schemas are separate and each is empty.
func TestFreshSchemasAreSeparate(t *testing.T) {
	ctx := context.Background()
	a, b := FreshSchema(t), FreshSchema(t)
	ca, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close(ctx)
	if _, err := ca.Exec(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	cb, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close(ctx)
	var n int
	if err := cb.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("the second schema has %d tables; want an empty one", n)
	}
}
