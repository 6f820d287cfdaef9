package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/authz"
	"github.com/healthcards/healthcards/issuer/service"
)

// policyCmd is `shc-issuer policy validate DIR` and `shc-issuer policy
// check --principal P --action A --patient ID [--token JWT]` (issue 12).
func policyCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if len(args) == 0 || (args[0] != "validate" && args[0] != "check") {
		return usageError{"policy needs validate DIR or check --principal P --action A --patient ID"}
	}
	if args[0] == "validate" {
		if len(args) != 2 || strings.HasPrefix(args[1], "-") {
			return usageError{"policy validate needs one policy directory"}
		}
		if _, err := authz.LoadPolicyDir(args[1]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: policies valid against the schema\n", args[1])
		return nil
	}
	fs := flagSet("policy check")
	principal := fs.String("principal", "", "")
	action := fs.String("action", "issue", "")
	patient := fs.String("patient", "", "")
	card := fs.String("card", "", "")
	role := fs.String("role", "", "")
	token := fs.String("token", "", "")
	scopes := fs.String("scopes", "", "")
	policyDir := fs.String("policy", "", "")
	data := fs.String("data", "./data", "")
	storeKind := fs.String("store", "sqlite", "")
	dsn := fs.String("postgres-dsn", "", "")
	majority := fs.Int("age-of-majority", 0, "")
	if err := parse(fs, args[1:], stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected argument " + fs.Arg(0)}
	}
	staffID, isStaff := strings.CutPrefix(*principal, "Staff/")
	if *patient == "" && !isStaff {
		return usageError{"policy check needs --patient ID"}
	}
	if !slices.Contains(authz.Actions, authz.Action(*action)) {
		return usageError{"--action must be one of " + actionList()}
	}
	var p *auth.Principal
	if isStaff {
		if staffID == "" || *role == "" || *token != "" {
			return usageError{"--principal Staff/ID needs an id and --role (desk, supervisor or admin), and no --token"}
		}
	} else {
		if *role != "" {
			return usageError{"--role applies to --principal Staff/ID"}
		}
		var err error
		if p, err = checkPrincipal(*principal, *token, *scopes); err != nil {
			return err
		}
	}
	st, err := service.OpenStore(ctx, *data, *storeKind, *dsn)
	if err != nil {
		return cliErr(err)
	}
	defer st.Close()
	// No Audit: a dry run leaves no trace in the audit trail.
	e, err := authz.New(authz.Config{PolicyDir: *policyDir, Source: issuer.StoreSource{Store: st}, AgeOfMajority: *majority})
	if err != nil {
		return err
	}
	t := authz.Target{Patient: *patient, Card: *card}
	var d *authz.Decision
	if isStaff {
		d = e.AuthorizeStaff(ctx, authz.Staff{ID: staffID, Role: *role}, authz.Action(*action), t)
	} else {
		d = e.Authorize(ctx, p, authz.Action(*action), t)
	}
	dec := "deny"
	if d.Allow {
		dec = "allow"
	}
	fmt.Fprintf(stdout, "decision: %s\nprincipal: %s\naction: %s\n", dec, d.Principal, *action)
	if len(d.Policies) > 0 {
		fmt.Fprintf(stdout, "policies: %s\n", strings.Join(d.Policies, ", "))
	}
	if !d.Allow {
		fmt.Fprintf(stdout, "reason: %s\n", d.Reason)
	}
	return nil
}

// checkPrincipal builds the principal of a policy check: from --token (a
// JWT whose claims are read WITHOUT verifying its signature: this is an
// administrator's dry run), or from --principal Type/ID with --scopes.
func checkPrincipal(principal, token, scopes string) (*auth.Principal, error) {
	if token != "" {
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			return nil, usageError{"--token must be a compact JWT"}
		}
		b, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			return nil, usageError{"--token: the payload is not base64url"}
		}
		var c struct {
			Sub                  string          `json:"sub"`
			Scope                string          `json:"scope"`
			Patient              string          `json:"patient"`
			FHIRUser             string          `json:"fhirUser"`
			AuthorizationDetails json.RawMessage `json:"authorization_details"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, usageError{"--token: the payload is not a JSON object of claims"}
		}
		p := &auth.Principal{Kind: "jwt", ID: c.Sub, Patient: c.Patient, FHIRUser: c.FHIRUser, AuthorizationDetails: c.AuthorizationDetails}
		for _, s := range strings.Fields(c.Scope) {
			if c.Patient != "" && strings.HasPrefix(s, "system/") {
				continue // a patient-context token stays in its lane
			}
			p.Scopes = append(p.Scopes, s)
		}
		if principal != "" {
			return nil, usageError{"give --principal or --token, not both"}
		}
		return p, nil
	}
	typ, id, _ := strings.Cut(principal, "/")
	sc := strings.Fields(strings.ReplaceAll(scopes, ",", " "))
	switch typ {
	case "Patient", "RelatedPerson", "Practitioner":
		if id == "" {
			return nil, usageError{"--principal " + typ + "/ID needs an id"}
		}
		if len(sc) == 0 {
			sc = []string{"user/*.rs"}
		}
		return &auth.Principal{Kind: "jwt", ID: "policy-check", FHIRUser: typ + "/" + id, Scopes: sc}, nil
	case "LabSystem":
		if len(sc) == 0 {
			sc = auth.AllLabScopes
		}
		return &auth.Principal{Kind: "token", ID: id, Scopes: sc}, nil
	case "SystemClient":
		if len(sc) == 0 {
			sc = []string{"system/*.rs"}
		}
		return &auth.Principal{Kind: "jwt", ID: id, Scopes: sc}, nil
	case "CapabilityHolder":
		return nil, nil
	}
	return nil, usageError{"--principal must be Patient/ID, RelatedPerson/ID, Practitioner/ID, LabSystem/ID, SystemClient/ID, Staff/ID or CapabilityHolder (or give --token)"}
}

func actionList() string {
	var out []string
	for _, a := range authz.Actions {
		out = append(out, string(a))
	}
	return strings.Join(out, ", ")
}
