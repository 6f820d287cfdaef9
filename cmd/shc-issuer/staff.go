package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/healthcards/healthcards/issuer/identity"
	"github.com/healthcards/healthcards/issuer/service"
)

const staffUsage = `Usage:
  shc-issuer staff add NAME --role desk|supervisor|admin --data DIR   print a one-time invitation code
  shc-issuer staff list --data DIR
  shc-issuer staff code ID --data DIR      a new invitation code (the old ones stop working)
  shc-issuer staff disable ID --data DIR   no sign-in from now on; sessions end at once

Every subcommand also takes --store postgres --postgres-dsn DSN (the
accounts of replicas live in the issuer's PostgreSQL database; an
identity.db in DIR is imported into it once, then renamed
identity.db.imported).

desk enters results, issues, prints and shares; supervisor also revokes,
corrects and reads the audit trail; admin also manages staff and tokens.
The person opens BASE/desk/enrol, types the code (valid 24 hours, once) and
registers a passkey on their device. No passwords are stored.
`

// staff manages desk accounts in DIR/identity.db or in PostgreSQL
// (issuer/identity, service.OpenIdentity).
func staff(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(stdout, staffUsage)
		if len(args) == 0 {
			return usageError{"staff needs add, list, code or disable"}
		}
		return nil
	}
	op, rest := args[0], args[1:]
	arg := ""
	switch op {
	case "add", "code", "disable":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			if len(rest) > 0 && isHelp(rest[0]) {
				fmt.Fprint(stdout, staffUsage)
				return nil
			}
			return usageError{"staff " + op + " needs " + map[string]string{"add": "a NAME", "code": "an account ID", "disable": "an account ID"}[op]}
		}
		arg, rest = rest[0], rest[1:]
	case "list":
	default:
		return usageError{fmt.Sprintf("unknown staff subcommand %q (add, list, code or disable)", op)}
	}
	fs := flagSet("staff")
	data := fs.String("data", "./data", "")
	role := fs.String("role", "", "")
	kind := fs.String("store", "sqlite", "")
	dsn := fs.String("postgres-dsn", "", "")
	if err := parse(fs, rest, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected argument " + fs.Arg(0)}
	}
	if op == "add" && !identity.Role(*role).Valid() {
		return usageError{"--role must be desk, supervisor or admin"}
	}
	// A disabled account loses its apps' grants too (as at the desk).
	cutOff := func(ctx context.Context, accountID string) error {
		st, err := service.OpenOAuth(ctx, *data, *kind, *dsn)
		if err != nil {
			return err
		}
		defer st.Close()
		return st.WithdrawAccount(ctx, accountID)
	}
	ids, err := service.OpenIdentity(ctx, *data, *kind, *dsn, identity.Config{OnCutOff: cutOff}, nil)
	if err != nil {
		return err
	}
	defer ids.Close()
	switch op {
	case "add":
		a, code, err := ids.AddAccount(ctx, arg, identity.Role(*role))
		if err != nil {
			return usageError{err.Error()}
		}
		fmt.Fprintf(stdout, "account %s (%s) added\ninvitation code: %s (valid %s, once; give it to the person only)\n", a.ID, a.Role, code, identity.DefaultCodeTTL)
	case "code":
		code, err := ids.NewCode(ctx, arg)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "invitation code: %s (valid %s, once; earlier codes withdrawn)\n", code, identity.DefaultCodeTTL)
	case "disable":
		if err := ids.Disable(ctx, arg); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "account %s disabled: it cannot sign in and its sessions have ended\n", arg)
	case "list":
		list, err := ids.Accounts(ctx, false)
		if err != nil {
			return err
		}
		for _, a := range list {
			state := "active"
			switch {
			case a.Disabled:
				state = "disabled"
			case a.Passkeys == 0:
				state = "invited"
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%d passkeys\t%s\t%s\n", a.ID, a.Role, state, a.Passkeys, a.Created.Format(time.RFC3339), a.Name)
		}
	}
	return nil
}
