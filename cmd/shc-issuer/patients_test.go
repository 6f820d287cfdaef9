package main

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/internal/identitytest"
	"github.com/healthcards/healthcards/issuer/identity"
	"github.com/healthcards/healthcards/issuer/service"
)

// shc-issuer patients enrol|list|disable on a data directory: enrol is the
// desk's enrolment (the Patient must be in the lab's data, audit actor
// "cli"); the code it prints, from the sign-up URL's fragment, registers a
// patient passkey as the sign-up page does; disable stops the account.
func TestPatientsCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cli := dataCLI(ctx, dir)
	st, err := service.OpenStore(ctx, dir, "sqlite", "")
	if err != nil {
		t.Fatal(err)
	}
	pt, _ := json.Marshal(map[string]any{"resourceType": "Patient", "id": "pt-7", "name": []any{map[string]any{"given": []string{"Ada"}, "family": "Lovelace"}}})
	if err := st.PutResources(ctx, "pt-7", pt, nil); err != nil {
		t.Fatal(err)
	}
	st.Close()

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"patients", "enrol", "--evidence", "passport"}, "--patient"},
		{[]string{"patients", "enrol", "--patient", "pt-7"}, "--evidence"},
		{[]string{"patients", "enrol", "--patient", "pt-7", "--evidence", "library-card"}, "--evidence"},
		{[]string{"patients", "enrol", "--patient", "pt-7", "--evidence", "passport", "--ial", "IAL1"}, "--ial"},
		{[]string{"patients", "enrol", "--patient", "pt-nobody", "--evidence", "passport"}, "no patient pt-nobody"},
		{[]string{"patients", "enrol", "--patient", "pt-7", "--evidence", "passport", "--base-url", "http://lab.example"}, "https"},
		{[]string{"patients", "disable"}, "account ID"},
		{[]string{"patients", "frobnicate"}, "unknown patients subcommand"},
	} {
		var ue usageError
		if _, err := cli(c.args...); !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want a usage error with %q", c.args, err, c.want)
		}
	}
	if out, err := cli("patients", "-h"); err != nil || !strings.Contains(out, "shc-issuer patients enrol --patient ID") {
		t.Fatalf("patients -h: %v\n%s", err, out)
	}

	out, err := cli("patients", "enrol", "--patient", "pt-7", "--evidence", "passport", "--ial", "IAL2", "--base-url", "https://lab.example/")
	if err != nil {
		t.Fatalf("enrol: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`patient account (\S+) \(Patient/pt-7, IAL2, passport\)`).FindStringSubmatch(out)
	code := regexp.MustCompile(`sign-up code: (\S+)`).FindStringSubmatch(out)
	url := regexp.MustCompile(`sign-up URL: +(\S+)`).FindStringSubmatch(out)
	if id == nil || code == nil || url == nil || url[1] != "https://lab.example/account/signup#code="+code[1] {
		t.Fatalf("enrol printed:\n%s", out)
	}
	if out, _ := cli("patients", "list"); !strings.Contains(out, id[1]+"\tPatient/pt-7\tenrolled\t0 passkeys\tIAL2\tpassport\t") || !strings.Contains(out, "Ada Lovelace") {
		t.Fatalf("list after enrol:\n%s", out)
	}
	if out, _ := cli("staff", "list"); strings.Contains(out, id[1]) {
		t.Fatalf("staff list shows the patient account:\n%s", out)
	}

	const origin = "https://lab.example"
	ids, err := identity.Open(ctx, identity.Config{Path: filepath.Join(dir, "identity.db"), RPID: "lab.example", Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	defer ids.Close()
	phone := identitytest.New("lab.example", origin)
	if _, err := identitytest.Enrol(ctx, ids, identity.StaffOnly, code[1], "c", phone); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("the desk's staff enrolment page took a patient's code: %v", err)
	}
	ses, err := identitytest.Enrol(ctx, ids, identity.PatientsOnly, strings.TrimPrefix(url[1], origin+"/account/signup#code="), "c", phone)
	if err != nil {
		t.Fatal(err)
	}
	if ses.Account.ID != id[1] || ses.Account.Patient != "pt-7" || ses.Account.Role != identity.RolePatient {
		t.Fatalf("signed up as %+v", ses.Account)
	}
	if out, _ := cli("patients", "list"); !strings.Contains(out, id[1]+"\tPatient/pt-7\tactive\t1 passkeys") {
		t.Fatalf("list after sign-up:\n%s", out)
	}

	if _, err := cli("patients", "disable", "acct-nobody"); err == nil || !strings.Contains(err.Error(), "no patient account acct-nobody") {
		t.Fatalf("unknown account: %v", err)
	}
	if out, err := cli("patients", "disable", id[1]); err != nil || !strings.Contains(out, "disabled") {
		t.Fatalf("disable: %v %s", err, out)
	}
	if _, err := ids.Authenticate(ctx, ses.Token()); identity.CodeOf(err) != identity.CodeUnauthenticated {
		t.Fatalf("the session outlived disable: %v", err)
	}
	if out, _ := cli("patients", "list"); !strings.Contains(out, id[1]+"\tPatient/pt-7\tdisabled\t") {
		t.Fatalf("list after disable:\n%s", out)
	}

	st, err = service.OpenStore(ctx, dir, "sqlite", "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log, err := st.AuditLog(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		if e.Actor == "cli" {
			actions = append(actions, e.Action)
		}
		if strings.Contains(e.Detail, "Lovelace") || strings.Contains(e.Detail, code[1]) {
			t.Errorf("audit detail holds a name or the code: %q", e.Detail)
		}
	}
	if strings.Join(actions, " ") != "enrol.disable enrol" {
		t.Fatalf("audit actions by cli (newest first): %v", actions)
	}
}
