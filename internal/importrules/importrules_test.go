package importrules

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/healthcards/healthcards"

// rule forbids the packages matched by forbid in the dependencies of the
// packages that pattern lists (go list patterns, relative to the module root).
type rule struct {
	pattern string
	forbid  []string // an import path prefix; "x/" forbids x and everything under it
	why     string
}

var rules = []rule{
	{"./verifier", []string{
		"github.com/labstack/echo/", "github.com/gin-gonic/", "github.com/go-chi/", "github.com/gorilla/",
		"github.com/jackc/pgx/", "modernc.org/sqlite", "github.com/mattn/go-sqlite3", "database/sql",
		mod + "/issuer/",
		mod + "/shc/qr/", "github.com/makiuchi-d/gozxing/", "github.com/skip2/go-qrcode", "golang.org/x/image/",
		"golang.org/x/text/encoding/",
		mod + "/shl/host/", mod + "/shl/sqlstore/", "golang.org/x/crypto/argon2",
	}, "issue 9: a program that verifies text links no framework, database, issuer, image code or link host"},
	{"./shc/... ./keys/... ./did/... ./safehttp/...", []string{
		"github.com/labstack/echo/", "github.com/gin-gonic/", "github.com/go-chi/", "github.com/gorilla/",
	}, "issue 9: the format, key and DID packages reach no HTTP framework"},
	{"./shl", []string{mod + "/shl/host/", mod + "/shl/sqlstore/", "golang.org/x/crypto/argon2", "database/sql"},
		"issue 9: the link format and client do not link the host or its passcode hashing"},
	{"./verifier/...", []string{mod + "/issuer/"},
		"issue 9: nothing under verifier/ imports issuer/ (cross-service fixtures live in internal/)"},
}

// pkg is the part of go list -json output the check reads.
type pkg struct {
	ImportPath string
	Name       string
	Imports    []string
	DepOnly    bool
	Standard   bool
}

func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no go command found")
		}
		t.Skip("no go command found: the import rules need go list")
	}
	return p
}

// offlineEnv keeps the go command from touching the network: the build
// must resolve from the module cache.
func offlineEnv() []string {
	return append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly", "GOWORK=off", "GOTOOLCHAIN=local")
}

// list runs go list -deps -json on patterns from the module root.
func list(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	cmd := exec.Command(goTool(t), append([]string{"list", "-deps", "-json=ImportPath,Name,Imports,DepOnly,Standard"}, patterns...)...)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = offlineEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", patterns, err, stderr.Bytes())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func forbidden(path string, forbid []string) bool {
	for _, f := range forbid {
		if base, ok := strings.CutSuffix(f, "/"); ok {
			if path == base || strings.HasPrefix(path, f) {
				return true
			}
		} else if path == f || strings.HasPrefix(path, f+"/") {
			return true
		}
	}
	return false
}

// violations returns, for each forbidden package reached, one import chain
// from a root (a package the pattern named) to it.
func violations(pkgs []pkg, forbid []string) []string {
	byPath := map[string]pkg{}
	var roots []string
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
		if !p.DepOnly {
			roots = append(roots, p.ImportPath)
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, root := range roots {
		if forbidden(root, forbid) {
			continue // the rule is about what a package reaches, not what it is
		}
		// Breadth-first from root, remembering parents for the chain.
		parent := map[string]string{root: ""}
		queue := []string{root}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			for _, imp := range byPath[cur].Imports {
				if _, ok := parent[imp]; ok {
					continue
				}
				parent[imp] = cur
				if forbidden(imp, forbid) {
					if !seen[root+" "+imp] {
						seen[root+" "+imp] = true
						chain := []string{imp}
						for p := cur; p != ""; p = parent[p] {
							chain = append(chain, p)
						}
						slices.Reverse(chain)
						out = append(out, strings.Join(chain, " → "))
					}
					continue
				}
				queue = append(queue, imp)
			}
		}
	}
	return out
}

func TestImportRules(t *testing.T) {
	for _, r := range rules {
		t.Run(r.pattern, func(t *testing.T) {
			pkgs := list(t, strings.Fields(r.pattern)...)
			if len(pkgs) == 0 {
				t.Fatalf("go list %s listed nothing", r.pattern)
			}
			for _, v := range violations(pkgs, r.forbid) {
				t.Errorf("forbidden import (%s):\n\t%s", r.why, v)
			}
		})
	}
}

// TestRulesCanFail: the checker reports a forbidden package that is really
// reached (the service does link echo and shc/qr), with its import chain,
// so a passing TestImportRules means something.
func TestRulesCanFail(t *testing.T) {
	pkgs := list(t, "./verifier/server")
	v := violations(pkgs, []string{"github.com/labstack/echo/", mod + "/shc/qr/"})
	if len(v) < 2 {
		t.Fatalf("violations = %q, want echo and shc/qr reached from verifier/server", v)
	}
	for _, c := range v {
		if !strings.HasPrefix(c, mod+"/verifier/server → ") {
			t.Errorf("chain %q does not start at the root", c)
		}
	}
	if got := violations([]pkg{{ImportPath: "a", Imports: []string{"b"}}, {ImportPath: "b", DepOnly: true, Imports: []string{"c/d"}}, {ImportPath: "c/d", DepOnly: true}}, []string{"c/"}); !slices.Equal(got, []string{"a → b → c/d"}) {
		t.Fatalf("synthetic chain = %q", got)
	}
	for path, want := range map[string]bool{"c": true, "c/d": true, "cd": false, "golang.org/x/crypto/argon2": true, "golang.org/x/crypto/argon2x": false} {
		if got := forbidden(path, []string{"c/", "golang.org/x/crypto/argon2"}); got != want {
			t.Errorf("forbidden(%q) = %v", path, got)
		}
	}
}

// TestEmbedderModuleBuilds builds examples/embedder, a separate module that
// constructs every exported configuration taking the guarded fetcher
// (issue 9). It builds offline from the module cache: when a dependency
// changes, refresh its requirements with
//
//	cd examples/embedder && cp ../../go.sum . && GOPROXY=off GOFLAGS=-mod=mod go mod tidy -e
func TestEmbedderModuleBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a separate module")
	}
	dir := filepath.Join("..", "..", "examples", "embedder")
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("examples/embedder: %v", err)
	}
	cmd := exec.Command(goTool(t), "vet", ".")
	cmd.Dir = dir
	cmd.Env = offlineEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet in examples/embedder (offline): %v\n%s", err, out)
	}
}

// TestNoInternalTypesInExportedAPI (issue 9): no exported declaration of a
// public package names a type of an internal package, which an embedder
// could not build (the former *safefetch.Client fields, for instance). It
// reads `go doc -all` of every public package: a declaration line (not a
// comment, not an initializer) that qualifies an exported name with the
// name of an internal package it imports is a violation.
func TestNoInternalTypesInExportedAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go doc on every package")
	}
	pkgs := list(t, "./...")
	internalName := map[string]string{} // import path → package name
	for _, p := range pkgs {
		if strings.HasPrefix(p.ImportPath, mod+"/") && (strings.Contains(p.ImportPath, "/internal/") || strings.HasSuffix(p.ImportPath, "/internal")) {
			internalName[p.ImportPath] = p.Name
		}
	}
	if len(internalName) == 0 {
		t.Fatal("no internal packages listed")
	}
	for _, p := range pkgs {
		if p.DepOnly || !strings.HasPrefix(p.ImportPath, mod) || internalName[p.ImportPath] != "" || p.Name == "main" {
			continue
		}
		var names []string
		for _, imp := range p.Imports {
			if n := internalName[imp]; n != "" {
				names = append(names, regexp.QuoteMeta(n))
			}
		}
		if len(names) == 0 {
			continue
		}
		re := regexp.MustCompile(`\b(` + strings.Join(names, "|") + `)\.[A-Z]`)
		cmd := exec.Command(goTool(t), "doc", "-all", p.ImportPath)
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = offlineEnv()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go doc %s: %v", p.ImportPath, err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			trim := strings.TrimSpace(line)
			if strings.HasPrefix(line, "    ") || strings.HasPrefix(trim, "//") || strings.Contains(trim, " = ") {
				continue // doc text, comments and constant/variable values
			}
			if re.MatchString(trim) {
				t.Errorf("%s: exported API names an internal type: %s", p.ImportPath, trim)
			}
		}
	}
}
