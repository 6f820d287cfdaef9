package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/internal/identitytest"
	"github.com/healthcards/healthcards/internal/pgtest"
	"github.com/healthcards/healthcards/issuer/identity"
)

// dataCLI runs shc-issuer commands on the data directory dir; it returns
// what they print (stdout and stderr together).
func dataCLI(ctx context.Context, dir string) func(args ...string) (string, error) {
	return func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append(args, "--data", dir), &out, &out)
		return out.String(), err
	}
}

// shc-issuer staff add|list|code|disable on a data directory; the code it
// prints enrols a passkey with issuer/identity (as the desk page does).
func TestStaffCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cli := dataCLI(ctx, dir)
	if _, err := cli("staff", "add", "Dana Desk", "--role", "root"); err == nil {
		t.Fatal("unknown role accepted")
	}
	out, err := cli("staff", "add", "Dana Desk", "--role", "desk")
	code := regexp.MustCompile(`invitation code: (\S+)`).FindStringSubmatch(out)
	id := regexp.MustCompile(`account (\S+) \(desk\) added`).FindStringSubmatch(out)
	if err != nil || code == nil || id == nil {
		t.Fatalf("add: %v\n%s", err, out)
	}
	if out, _ := cli("staff", "list"); !strings.Contains(out, id[1]+"\tdesk\tinvited\t0 passkeys") || !strings.Contains(out, "Dana Desk") {
		t.Fatalf("list after add:\n%s", out)
	}
	out, err = cli("staff", "code", id[1])
	code2 := regexp.MustCompile(`invitation code: (\S+)`).FindStringSubmatch(out)
	if err != nil || code2 == nil || code2[1] == code[1] {
		t.Fatalf("code: %v\n%s", err, out)
	}

	const origin = "https://localhost:8443"
	ids, err := identity.Open(ctx, identity.Config{Path: filepath.Join(dir, "identity.db"), RPID: "localhost", Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	defer ids.Close()
	phone := identitytest.New("localhost", origin)
	if _, _, err := ids.BeginEnrol(ctx, code[1], "c"); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("the replaced code still works: %v", err)
	}
	opts, cer, err := ids.BeginEnrol(ctx, code2[1], "c")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", origin+"/desk/enrol/finish", bytes.NewReader(phone.Create(opts)))
	if _, err := ids.FinishEnrol(ctx, cer, req); err != nil {
		t.Fatal(err)
	}
	if out, _ := cli("staff", "list"); !strings.Contains(out, "\tdesk\tactive\t1 passkeys") {
		t.Fatalf("list after enrolment:\n%s", out)
	}
	if out, err := cli("staff", "disable", id[1]); err != nil || !strings.Contains(out, "disabled") {
		t.Fatalf("disable: %v %s", err, out)
	}
	if out, _ := cli("staff", "list"); !strings.Contains(out, "\tdesk\tdisabled\t") {
		t.Fatalf("list after disable:\n%s", out)
	}
	if _, err := cli("staff", "disable", "acct-nobody"); identity.CodeOf(err) != identity.CodeNotFound {
		t.Fatalf("unknown account: %v", err)
	}
}

// shc-issuer staff ... --store postgres: an identity.db of a single-process
// issuer is imported into PostgreSQL once (then renamed .imported), and the
// accounts are managed there.
func TestStaffCommandsPostgresImport(t *testing.T) {
	dsn := pgtest.FreshSchema(t)
	ctx := context.Background()
	dir := t.TempDir()
	cli := dataCLI(ctx, dir)
	pg := []string{"--store", "postgres", "--postgres-dsn", dsn}
	out, err := cli("staff", "add", "Dana Desk", "--role", "desk")
	id := regexp.MustCompile(`account (\S+) \(desk\) added`).FindStringSubmatch(out)
	if err != nil || id == nil {
		t.Fatalf("add (SQLite): %v\n%s", err, out)
	}
	if out, err := cli(append([]string{"staff", "list"}, pg...)...); err != nil || !strings.Contains(out, id[1]+"\tdesk\tinvited") {
		t.Fatalf("list on PostgreSQL after the import: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "identity.db.imported")); err != nil {
		t.Fatalf("identity.db was not renamed: %v", err)
	}
	if out, err := cli(append([]string{"staff", "add", "Sam Supervisor", "--role", "supervisor"}, pg...)...); err != nil {
		t.Fatalf("add on PostgreSQL: %v\n%s", err, out)
	}
	out, err = cli(append([]string{"staff", "list"}, pg...)...)
	if err != nil || strings.Count(out, id[1]) != 1 || !strings.Contains(out, "Sam Supervisor") {
		t.Fatalf("list on PostgreSQL: %v\n%s", err, out)
	}
	if out, err := cli("staff", "list", "--store", "postgres"); err == nil {
		t.Fatalf("--store postgres without a DSN accepted:\n%s", out)
	}
}
