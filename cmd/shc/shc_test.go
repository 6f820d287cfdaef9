package main

import (
	"os"
	"path/filepath"
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
	})
}
