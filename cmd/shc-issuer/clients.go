package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/healthcards/healthcards/issuer/oauth"
	"github.com/healthcards/healthcards/issuer/service"
)

const clientsUsage = `Usage:
  shc-issuer clients add --redirect-uri URI [--redirect-uri URI ...] [--confidential] [--name NAME] --data DIR
                                        register an app with the built-in authorization server
  shc-issuer clients list --data DIR
  shc-issuer clients remove ID --data DIR   delete it: its grants are withdrawn, its tokens revoked

Every subcommand also takes --store postgres --postgres-dsn DSN (the
authorization server of replicas keeps its clients in the issuer's
PostgreSQL database).

Redirect URIs are matched exactly: https URIs, http on loopback by IP literal
(http://127.0.0.1:PORT/path, http://[::1]/...; not localhost, RFC 8252 8.3) or, for
public clients, a private-use scheme such as org.example.wallet:/callback.
A public client (the default: a wallet app, which cannot keep a secret) may
use any port of a registered loopback URI (RFC 8252). --confidential prints
a client secret once (only its hash is kept). Every client must use PKCE
with S256.
`

// clients manages the built-in authorization server's registered apps in
// DIR/oauth.db or in PostgreSQL (issuer/oauth, service.OpenOAuth).
func clients(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(stdout, clientsUsage)
		if len(args) == 0 {
			return usageError{"clients needs add, list or remove"}
		}
		return nil
	}
	op, rest := args[0], args[1:]
	arg := ""
	switch op {
	case "remove":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			if len(rest) > 0 && isHelp(rest[0]) {
				fmt.Fprint(stdout, clientsUsage)
				return nil
			}
			return usageError{"clients remove needs a client ID"}
		}
		arg, rest = rest[0], rest[1:]
	case "add", "list":
	default:
		return usageError{fmt.Sprintf("unknown clients subcommand %q (add, list or remove)", op)}
	}
	fs := flagSet("clients")
	data := fs.String("data", "./data", "")
	kind := fs.String("store", "sqlite", "")
	dsn := fs.String("postgres-dsn", "", "")
	name := fs.String("name", "", "")
	confidential := fs.Bool("confidential", false, "")
	var redirects []string
	fs.Func("redirect-uri", "", func(v string) error { redirects = append(redirects, v); return nil })
	if err := parse(fs, rest, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected argument " + fs.Arg(0)}
	}
	if op == "add" && len(redirects) == 0 {
		return usageError{"clients add needs --redirect-uri"}
	}
	st, err := service.OpenOAuth(ctx, *data, *kind, *dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	switch op {
	case "add":
		n := *name
		if n == "" {
			n = "Wallet"
		}
		c, secret, err := st.AddClient(ctx, n, redirects, *confidential)
		if err != nil {
			if oauth.CodeOf(err) == oauth.CodeInvalidClientRegistration {
				return usageError{err.Error()}
			}
			return err
		}
		kind := "public (PKCE, no secret)"
		if c.Confidential {
			kind = "confidential"
		}
		fmt.Fprintf(stdout, "client_id: %s\n", c.ID)
		if secret != "" {
			fmt.Fprintf(stdout, "client_secret: %s (shown once; keep it in the app's server only)\n", secret)
		}
		fmt.Fprintf(stdout, "%s client %q, redirect URIs: %s\n", kind, c.Name, strings.Join(c.RedirectURIs, " "))
	case "remove":
		if err := st.RemoveClient(ctx, arg); err != nil {
			if oauth.CodeOf(err) == oauth.CodeNotFound {
				return usageError{"no client " + arg}
			}
			return err
		}
		fmt.Fprintf(stdout, "client %s removed: its grants are withdrawn and its tokens revoked\n", arg)
	case "list":
		list, err := st.Clients(ctx)
		if err != nil {
			return err
		}
		for _, c := range list {
			kind := "public"
			if c.Confidential {
				kind = "confidential"
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\t%s\n", c.ID, kind, c.Created.Format(time.RFC3339), c.Name, strings.Join(c.RedirectURIs, " "))
		}
	}
	return nil
}
