// Package testvectors locates the official SMART Health Cards example
// artifacts that live beside the project in ../shared (see ../shared/README.md).
// They are read in place and never copied into the repository.
//
// When ../shared is absent (a plain clone) tests that need the vectors skip
// with a clear message; when the environment variable CI is "true" they fail
// instead, so CI can never go green without running them.
package testvectors

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var (
	once    sync.Once
	rootDir string
)

// find walks up from the working directory to the module root (go.mod) and
// returns ../shared/conformance/spec-examples next to it, or "" if absent.
func find() string {
	once.Do(func() {
		if env := os.Getenv("HEALTHCARDS_VECTORS"); env != "" {
			rootDir = env
			return
		}
		dir, err := os.Getwd()
		if err != nil {
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				cand := filepath.Join(dir, "..", "shared", "conformance", "spec-examples")
				if st, err := os.Stat(cand); err == nil && st.IsDir() {
					rootDir, _ = filepath.Abs(cand)
				}
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return
			}
			dir = parent
		}
	})
	return rootDir
}

// Available reports whether the vectors can be found, without a testing.T.
func Available() bool { return find() != "" }

// Dir returns the absolute path of the spec-examples folder. It skips the
// test when the folder is missing, or fails it when CI=true.
func Dir(t testing.TB) string {
	t.Helper()
	d := find()
	if d == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("testvectors: ../shared/conformance/spec-examples not found; CI must have it")
		}
		t.Skip("testvectors: ../shared/conformance/spec-examples not found (plain clone); skipping vector test")
	}
	return d
}

// Path returns the absolute path of a vector file given relative to the
// spec-examples folder, e.g. "vci-spec-site/examples/example-00-d-jws.txt".
func Path(t testing.TB, rel string) string {
	t.Helper()
	return filepath.Join(Dir(t), filepath.FromSlash(rel))
}

// Read returns the bytes of a vector file; a missing file fails the test.
func Read(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(Path(t, rel))
	if err != nil {
		t.Fatalf("testvectors: %v", err)
	}
	return b
}

// Glob returns the vector files matching pattern (relative to the folder)
// and fails the test when nothing matches: an empty glob must never make a
// table test pass silently.
func Glob(t testing.TB, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(Dir(t), filepath.FromSlash(pattern)))
	if err != nil || len(m) == 0 {
		t.Fatalf("testvectors: no files match %q (err %v)", pattern, err)
	}
	return m
}
