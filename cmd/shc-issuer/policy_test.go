package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/issuer/authz"
	"github.com/healthcards/healthcards/issuer/service"
	"github.com/healthcards/healthcards/issuer/store"
)

func writePolicies(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const badPolicy = `@id("typo")
permit (principal is Practitioner, action == Action::"issue", resource is Patient)
when { resource.careTeams.contains(principal) };
`

// policy validate accepts the default set and names the policy and the
// schema error of an invalid one; serve refuses to start on it (issue 12).
func TestPolicyValidate(t *testing.T) {
	good := writePolicies(t, authz.DefaultPolicyFiles())
	var out bytes.Buffer
	if err := run(context.Background(), []string{"policy", "validate", good}, &out, &out); err != nil || !strings.Contains(out.String(), "valid") {
		t.Fatalf("default set: %v %s", err, out.String())
	}
	bad := writePolicies(t, map[string][]byte{"a.cedar": []byte(badPolicy)})
	err := run(context.Background(), []string{"policy", "validate", bad}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), `"typo"`) || !strings.Contains(err.Error(), "careTeams") {
		t.Fatalf("invalid policy: %v", err)
	}
	noID := writePolicies(t, map[string][]byte{"a.cedar": []byte(`permit (principal, action, resource);`)})
	if err := run(context.Background(), []string{"policy", "validate", noID}, &out, &out); err == nil || !strings.Contains(err.Error(), "@id") {
		t.Fatalf("policy without @id: %v", err)
	}
	data := t.TempDir()
	err = run(context.Background(), []string{"serve", "--data", data, "--policy", bad, "--no-sample", "--listen", "127.0.0.1:0", "--verifier-listen", "off"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "--policy") {
		t.Fatalf("serve with an invalid policy: %v", err)
	}
}

// policy check prints the decision and the policy that made it, from the
// relations in the store, for a principal or a token.
func TestPolicyCheck(t *testing.T) {
	data := t.TempDir()
	ctx := context.Background()
	st, err := service.OpenStore(ctx, data, "sqlite", "")
	if err != nil {
		t.Fatal(err)
	}
	ct := store.Resource{Type: "CareTeam", ID: "ct1", JSON: json.RawMessage(`{"resourceType":"CareTeam","status":"active","participant":[{"member":{"reference":"Practitioner/prA"}}]}`)}
	if err := st.PutResources(ctx, "p1", json.RawMessage(`{"resourceType":"Patient","id":"p1","birthDate":"1980-01-01"}`), []store.Resource{ct}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	check := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(ctx, append([]string{"policy", "check", "--data", data}, args...), &out, &out); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		return out.String()
	}
	if out := check("--principal", "Practitioner/prA", "--patient", "p1"); !strings.Contains(out, "decision: allow") || !strings.Contains(out, "policies: care-team") {
		t.Fatalf("care team: %s", out)
	}
	if out := check("--principal", "Practitioner/prB", "--patient", "p1"); !strings.Contains(out, "decision: deny") || !strings.Contains(out, "no policy allows") {
		t.Fatalf("off the team: %s", out)
	}
	payload, _ := json.Marshal(map[string]any{"sub": "u", "patient": "p2", "scope": "patient/*.rs"})
	tok := "eyJhbGciOiJFUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(payload) + ".c2ln"
	if out := check("--token", tok, "--patient", "p1"); !strings.Contains(out, "decision: deny") || !strings.Contains(out, "launch-context-patient") {
		t.Fatalf("token for another patient: %s", out)
	}
	// A replacement policy set is tested before deploying it.
	only := writePolicies(t, map[string][]byte{"p.cedar": []byte(`@id("gp-only")
permit (principal is Practitioner, action == Action::"issue", resource is Patient)
when { resource.generalPractitioners.contains(principal) };
`)})
	if out := check("--principal", "Practitioner/prA", "--patient", "p1", "--policy", only); !strings.Contains(out, "decision: deny") {
		t.Fatalf("replacement policies: %s", out)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"policy", "check", "--data", data, "--principal", "Nurse/1", "--patient", "p1"}, &out, &out); err == nil {
		t.Fatal("unknown principal type accepted")
	}
	// Desk staff (issue 12): the role decides; no patient needed for the
	// lab's own actions.
	if out := check("--principal", "Staff/acct-1", "--role", "desk", "--action", "revoke", "--patient", "p1"); !strings.Contains(out, "decision: deny") || !strings.Contains(out, `principal: Staff::"acct-1"`) {
		t.Fatalf("desk revoke: %s", out)
	}
	if out := check("--principal", "Staff/acct-2", "--role", "supervisor", "--action", "audit"); !strings.Contains(out, "decision: allow") || !strings.Contains(out, "policies: staff-supervisor") {
		t.Fatalf("supervisor audit: %s", out)
	}
	if out := check("--principal", "Staff/acct-3", "--role", "admin", "--action", "manageStaff"); !strings.Contains(out, "decision: allow") || !strings.Contains(out, "policies: staff-admin") {
		t.Fatalf("admin manageStaff: %s", out)
	}
	if out := check("--principal", "Staff/acct-4", "--role", "patient", "--action", "print", "--patient", "p1", "--card", "c1"); !strings.Contains(out, "decision: deny") || !strings.Contains(out, "staff-without-role") {
		t.Fatalf("patient account printing: %s", out)
	}
	for _, bad := range [][]string{
		{"--principal", "Staff/acct-1", "--action", "view"},                      // no role
		{"--principal", "Staff/", "--role", "desk", "--action", "view"},          // no id
		{"--principal", "Practitioner/prA", "--role", "desk", "--patient", "p1"}, // role without Staff
		{"--principal", "Staff/acct-1", "--role", "desk", "--action", "drop"},    // unknown action
	} {
		if err := run(ctx, append([]string{"policy", "check", "--data", data}, bad...), &out, &out); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A malformed --sensitive-code stops the start and names the flag.
func TestServeSensitiveCodeFlag(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"serve", "--data", t.TempDir(), "--sensitive-code", "75622-1", "--no-sample", "--listen", "127.0.0.1:0", "--verifier-listen", "off"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "--sensitive-code") {
		t.Fatalf("%v", err)
	}
}
