package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/healthcards/healthcards/internal/testvectors"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"shc": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the end-to-end CLI scenarios in testdata/*.txtar. $VECTORS
// is the shared spec-examples folder and $EXAMPLES the project's sample bundles.
func TestScripts(t *testing.T) {
	vectors := testvectors.Dir(t)
	examples, _ := filepath.Abs("../../examples/bundles")
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			env.Setenv("VECTORS", vectors)
			env.Setenv("EXAMPLES", examples)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// status N PROG ARG...: PROG exits with status exactly N.
			"status": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 2 || neg {
					ts.Fatalf("usage: status N PROG [ARG...]")
				}
				want, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("status: %v", err)
				}
				got := 0
				if err := ts.Exec(args[1], args[2:]...); err != nil {
					var ee *exec.ExitError
					if !errors.As(err, &ee) {
						ts.Fatalf("status: %v", err)
					}
					got = ee.ExitCode()
				}
				if got != want {
					ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
				}
			},
			// walletid WORD FILE: sets $ID to the wallet card whose list line
			// holds WORD (the first 6 hex digits: a unique prefix).
			"walletid": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 || neg {
					ts.Fatalf("usage: walletid WORD FILE")
				}
				var out, errb strings.Builder
				if code := run([]string{"wallet", "list", "--wallet", ts.Getenv("SHC_WALLET_DIR")}, &out, &errb); code != 0 {
					ts.Fatalf("wallet list: %s", errb.String())
				}
				for _, l := range strings.Split(out.String(), "\n") {
					if strings.Contains(strings.ToLower(l), strings.ToLower(map[string]string{"lab": "Observation", "imm": "Immunization"}[args[0]])) && len(l) > 16 {
						ts.Setenv("ID", l[:6])
						return
					}
				}
				ts.Fatalf("no card %s in:\n%s", args[0], out.String())
			},
			// tamper FILE: changes one character of the JWS signature in FILE
			// to another base64url character.
			"tamper": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 || neg {
					ts.Fatalf("usage: tamper FILE")
				}
				b := []byte(strings.TrimSpace(ts.ReadFile(args[0])))
				i := len(b) - 10
				if b[i] == 'A' {
					b[i] = 'B'
				} else {
					b[i] = 'A'
				}
				ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o600))
			},
			// perm MODE FILE...: each file has exactly the octal permission MODE.
			"perm": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 2 {
					ts.Fatalf("usage: perm MODE FILE...")
				}
				want, err := strconv.ParseUint(args[0], 8, 32)
				if err != nil {
					ts.Fatalf("perm: %v", err)
				}
				for _, f := range args[1:] {
					st, err := os.Stat(ts.MkAbs(f))
					ts.Check(err)
					if got := uint64(st.Mode().Perm()); (got == want) == neg {
						ts.Fatalf("%s has mode %#o, want %s%#o", f, got, map[bool]string{true: "not ", false: ""}[neg], want)
					}
				}
			},
		},
	})
}
