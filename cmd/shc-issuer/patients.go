package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/account"
	"github.com/healthcards/healthcards/issuer/identity"
	"github.com/healthcards/healthcards/issuer/service"
)

const patientsUsage = `Usage:
  shc-issuer patients enrol --patient ID --evidence KIND [--ial IAL1.4|IAL2|IAL3] [--name NAME]
                            [--replace-passkeys] [--base-url URL] --data DIR
                                        enrol a patient as the front desk does: print a
                                        one-time sign-up code and the sign-up URL
  shc-issuer patients list --data DIR
  shc-issuer patients disable ACCOUNT-ID --data DIR   no sign-in from now on; sessions end at once

Every subcommand also takes --store postgres --postgres-dsn DSN, as serve
does (the accounts of replicas live in the issuer's PostgreSQL database).

enrol is the desk's enrolment (issuer/account, the same code as the desk
page and POST /v1/enrolments; audit actor "cli"): the Patient must be in
the lab's data (development: the sample patient pt-1001), --evidence is the
kind of photo ID someone checked (passport, national-id, driving-licence,
residence-permit; never its number) and --ial the identity assurance level
(https://smarthealth.cards/ial, default IAL1.4). --name defaults to the
Patient's name. Enrolling a patient again gives a new code for the same
account (the old code stops working); --replace-passkeys also removes the
passkeys of a lost phone.

The person opens the sign-up URL (BASE/account/signup#code=...; BASE is
--base-url, else --iss, else https://localhost:8443, serve's development
address) on the phone that will hold their passkey, within the code's
lifetime (24 hours, or serve's --enrolment-code-ttl; once), and is then
signed in at BASE/account/. Give the code to that person only.
`

// patients enrols and manages patient accounts from the command line
// (development and scripted use): account.Enroller over the issuer's
// store and identity database, as the desk and the API use it.
func patients(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(stdout, patientsUsage)
		if len(args) == 0 {
			return usageError{"patients needs enrol, list or disable"}
		}
		return nil
	}
	op, rest := args[0], args[1:]
	arg := ""
	switch op {
	case "disable":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			if len(rest) > 0 && isHelp(rest[0]) {
				fmt.Fprint(stdout, patientsUsage)
				return nil
			}
			return usageError{"patients disable needs an account ID (see patients list)"}
		}
		arg, rest = rest[0], rest[1:]
	case "enrol", "list":
	default:
		return usageError{fmt.Sprintf("unknown patients subcommand %q (enrol, list or disable)", op)}
	}
	fs := flagSet("patients")
	data := fs.String("data", "./data", "")
	kind := fs.String("store", "sqlite", "")
	dsn := fs.String("postgres-dsn", "", "")
	patient := fs.String("patient", "", "")
	name := fs.String("name", "", "")
	evidence := fs.String("evidence", "", "")
	ial := fs.String("ial", "IAL1.4", "")
	replace := fs.Bool("replace-passkeys", false, "")
	baseURL := fs.String("base-url", "", "")
	iss := fs.String("iss", "", "")
	if err := parse(fs, rest, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected argument " + fs.Arg(0)}
	}
	base := strings.TrimSuffix(*baseURL, "/")
	if op == "enrol" {
		switch {
		case *patient == "":
			return usageError{"patients enrol needs --patient ID (a Patient in the lab's data)"}
		case !identity.ValidEvidence(*evidence):
			return usageError{"patients enrol needs --evidence, the kind of photo ID checked: " + strings.Join(identity.EvidenceKinds, ", ")}
		case identity.NormalizeIAL(*ial) == "":
			return usageError{"--ial must be IAL1.4, IAL2 or IAL3"}
		}
		if base == "" && strings.HasPrefix(*iss, "https://") {
			base = strings.TrimSuffix(*iss, "/")
		}
		if base == "" {
			base = "https://localhost:8443"
		}
		if !strings.HasPrefix(base, "https://") {
			return usageError{"--base-url must be the service's https base"}
		}
	}
	ids, err := service.OpenIdentity(ctx, *data, *kind, *dsn, identity.Config{}, nil)
	if err != nil {
		return err
	}
	defer ids.Close()
	switch op {
	case "list":
		list, err := ids.Accounts(ctx, true)
		if err != nil {
			return err
		}
		for _, a := range list {
			if a.Role != identity.RolePatient {
				continue
			}
			state := "active"
			switch {
			case a.Disabled:
				state = "disabled"
			case a.Passkeys == 0:
				state = "enrolled"
			}
			pt := a.Patient
			if pt == "" {
				pt = "-"
			}
			fmt.Fprintf(stdout, "%s\tPatient/%s\t%s\t%d passkeys\t%s\t%s\t%s\t%s\n", a.ID, pt, state, a.Passkeys,
				strings.TrimPrefix(a.IAL, identity.IALSystem+"/"), a.Evidence, a.Created.Format(time.RFC3339), a.Name)
		}
		return nil
	}
	st, err := service.OpenStore(ctx, *data, *kind, *dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	en := &account.Enroller{Store: st, Identity: ids, BaseURL: base}
	const actor = "cli"
	switch op {
	case "enrol":
		e, err := en.Enrol(ctx, account.Request{Name: *name, Patient: *patient, Evidence: *evidence, IAL: *ial, By: actor, ReplacePasskeys: *replace})
		if err != nil {
			if c := identity.CodeOf(err); c == identity.CodeInvalidEnrolment || c == identity.CodeNotFound || issuer.CodeOf(err) == issuer.CodeNotFound {
				return usageError{err.Error()}
			}
			return err
		}
		fmt.Fprintf(stdout, "patient account %s (Patient/%s, %s, %s)\nsign-up code: %s (valid until %s, once; give it to the patient only)\nsign-up URL:  %s\n",
			e.Account.ID, e.Account.Patient, strings.TrimPrefix(e.Account.IAL, identity.IALSystem+"/"), e.Account.Evidence,
			e.Code, e.Expires.Format(time.RFC3339), e.SignupURL)
	case "disable":
		if err := en.Disable(ctx, arg, actor); err != nil {
			if identity.CodeOf(err) == identity.CodeNotFound {
				return usageError{"no patient account " + arg}
			}
			return err
		}
		fmt.Fprintf(stdout, "patient account %s disabled: it cannot sign in, its codes are withdrawn and its sessions have ended\n", arg)
	}
	return nil
}
