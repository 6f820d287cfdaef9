package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/healthcards/healthcards/issuer/keydb"
	"github.com/healthcards/healthcards/issuer/service"
)

// kekPINEnv holds the PIN of the token with the KEK; it is never a flag.
const kekPINEnv = "SHC_ISSUER_KEK_PKCS11_PIN"

// kekTokenFlags registers --kek-pkcs11-module, --kek-pkcs11-token,
// --kek-pkcs11-key and --kek-pkcs11-pin-file (each also from
// SHC_ISSUER_KEK_PKCS11_*). Call kekPIN after parsing.
func kekTokenFlags(fs *flag.FlagSet, t *service.KEKToken) {
	fs.StringVar(&t.Module, "kek-pkcs11-module", "", "")
	fs.StringVar(&t.Token, "kek-pkcs11-token", "", "")
	fs.StringVar(&t.Key, "kek-pkcs11-key", "", "")
	fs.StringVar(&t.PINFile, "kek-pkcs11-pin-file", "", "")
}

// kekPIN reads the token PIN from SHC_ISSUER_KEK_PKCS11_PIN when a token
// KEK is configured.
func kekPIN(t *service.KEKToken) {
	if t.Module != "" {
		t.PIN = []byte(os.Getenv(kekPINEnv))
	}
}

// initKEK makes the KEK: with --kek-pkcs11-*, an AES-256 key generated on
// the token (sensitive, never extractable) unless it already holds one;
// with --kek-file, a new random file (an existing one is never replaced).
func initKEK(src service.KEKSource, stdout io.Writer) error {
	if err := src.Check(); err != nil {
		return cliErr(err)
	}
	if src.Token.Module == "" {
		if src.File == "" {
			return usageError{"keys init-kek needs --kek-file F or --kek-pkcs11-module, --kek-pkcs11-token and --kek-pkcs11-key"}
		}
		if err := keydb.GenerateKEKFile(src.File); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote a new KEK to %s (mode 0600); keep it off the database host and out of its backups\n", src.File)
		return nil
	}
	kek, closeKEK, created, err := service.OpenKEK(src, true)
	if err != nil {
		return cliErr(err)
	}
	defer closeKEK()
	if created {
		fmt.Fprintf(stdout, "generated AES-256 KEK %q on token %q (never extractable) %v\n", src.Token.Key, src.Token.Token, kek)
	} else {
		fmt.Fprintf(stdout, "token %q already holds KEK %q %v; nothing changed\n", src.Token.Token, src.Token.Key, kek)
	}
	return nil
}

// keysDB runs a keys command on the key ring kept in the database
// (--kek-file or --kek-pkcs11-*). Every replica sees the change within the
// ring's poll bound.
func keysDB(ctx context.Context, op, kid, data, kind, dsn string, kek service.KEKSource, stdout io.Writer) error {
	switch op {
	case "rotate", "list", "retire", "compromised":
	default:
		return usageError{fmt.Sprintf("unknown keys command %q", op)}
	}
	kdb, err := service.OpenKeyDBWith(ctx, data, kind, dsn, kek)
	if err != nil {
		return cliErr(err)
	}
	defer kdb.Close()
	switch op {
	case "rotate":
		k, err := kdb.Rotate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, k)
	case "list":
		l, err := kdb.List(ctx)
		if err != nil {
			return err
		}
		for _, e := range l {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", e.Kid, e.Status, e.Created.Format(time.RFC3339))
		}
	case "retire":
		return kdb.Retire(ctx, kid)
	case "compromised":
		if err := kdb.Compromised(ctx, kid); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "removed from the JWKS and destroyed; run 'shc-issuer keys rotate' if it was the active key, and revoke any certificates bound to it (KEY-10)")
	}
	return nil
}

// migrateKeys moves a data directory's file key ring (DIR/keys, opened with
// its passphrase), rid secret and link location secret into the database,
// sealed under --kek-file. It is one transaction; run again it changes
// nothing, and it refuses a database holding another ring or secret. The
// files are left in place: delete them (and DIR/keys.passphrase) once every
// replica runs with --kek-file.
func migrateKeys(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	fs := flagSet("migrate-keys")
	data := fs.String("data", "./data", "")
	passFile := fs.String("key-passphrase-file", "", "")
	kind := fs.String("store", "sqlite", "")
	dsn := fs.String("postgres-dsn", "", "")
	kekFile := fs.String("kek-file", "", "")
	var kt service.KEKToken
	kekTokenFlags(fs, &kt)
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	kekPIN(&kt)
	src := service.KEKSource{File: *kekFile, Token: kt}
	if fs.NArg() > 0 {
		return usageError{"unexpected argument " + fs.Arg(0)}
	}
	if !src.Set() {
		return usageError{"migrate-keys needs --kek-file or --kek-pkcs11-module"}
	}
	if _, err := os.Stat(filepath.Join(*data, "keys", "ring.json")); err != nil {
		return fmt.Errorf("no key ring in %s: %w", filepath.Join(*data, "keys"), err)
	}
	ring, err := openRing(*data, *passFile)
	if err != nil {
		return err
	}
	secrets := map[string]string{}
	for _, name := range []string{keydb.SecretRID, keydb.SecretLinkLocation} {
		b, err := os.ReadFile(filepath.Join(*data, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		v := strings.TrimSpace(string(b))
		clear(b)
		if len(v) < 32 {
			return fmt.Errorf("%s is too short", filepath.Join(*data, name))
		}
		secrets[name] = v
	}
	kdb, err := service.OpenKeyDBWith(ctx, *data, *kind, *dsn, src)
	if err != nil {
		return cliErr(err)
	}
	defer kdb.Close()
	list := ring.List()
	wrote, err := kdb.Import(ctx, list, ring.Key, secrets)
	if err != nil {
		return err
	}
	if !wrote {
		fmt.Fprintln(stdout, "already migrated: the database holds this key ring and these secrets")
		return nil
	}
	fmt.Fprintf(stdout, "moved %d keys and %d secrets into the %s database, sealed under the KEK; start every replica with the same KEK, then delete %s, %s and %s\n",
		len(list), len(secrets), kdb.Dialect(), filepath.Join(*data, "keys"), filepath.Join(*data, keydb.SecretRID), filepath.Join(*data, keydb.SecretLinkLocation))
	return nil
}
