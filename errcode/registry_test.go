package errcode_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestREADMEIsTheRegistry keeps the README's error-code table the single
// registry of codes: every code string is defined as a constant once in the
// module (other packages re-export it by name), every defined code has a row,
// and every row names a defined code. Error values carry named constants, never
// string literals.
func TestREADMEIsTheRegistry(t *testing.T) {
	root := ".."
	defined := map[string][]string{} // code -> where
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || (strings.HasPrefix(n, ".") && path != root) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GenDecl:
				if n.Tok != token.CONST {
					return true
				}
				for _, spec := range n.Specs {
					vs := spec.(*ast.ValueSpec)
					if !isCodeType(vs.Type) {
						continue
					}
					for _, v := range vs.Values {
						if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
							code, _ := strconv.Unquote(lit.Value)
							defined[code] = append(defined[code], fset.Position(lit.Pos()).String())
						}
					}
				}
			case *ast.CompositeLit:
				if !strings.HasSuffix(exprString(n.Type), "Error") {
					return true
				}
				for _, el := range n.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok || exprString(kv.Key) != "Code" {
						continue
					}
					if lit, ok := kv.Value.(*ast.BasicLit); ok {
						t.Errorf("%s: error code %s is a string literal; define a constant and register it", fset.Position(lit.Pos()), lit.Value)
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(defined) < 20 {
		t.Fatalf("found only %d codes: the scan is broken", len(defined))
	}
	for code, where := range defined {
		if len(where) > 1 {
			sort.Strings(where)
			t.Errorf("code %q is defined %d times (%s): define it once (errcode for shared codes) and re-export it", code, len(where), strings.Join(where, ", "))
		}
	}

	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	registered := registryRows(t, string(readme))
	for code := range defined {
		if !registered[code] {
			t.Errorf("code %q (%s) has no row in the README's error-code table", code, defined[code][0])
		}
	}
	for code := range registered {
		if defined[code] == nil {
			t.Errorf("README registers %q, which no package defines", code)
		}
	}
}

func isCodeType(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "Code"
	case *ast.SelectorExpr:
		return e.Sel.Name == "Code"
	}
	return false
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return exprString(e.X) + "." + e.Sel.Name
	case *ast.UnaryExpr:
		return exprString(e.X)
	}
	return ""
}

var rowRE = regexp.MustCompile("^\\| `([a-z0-9_]+)` \\|")

// registryRows reads the codes of the table under "## Error codes".
func registryRows(t *testing.T, readme string) map[string]bool {
	_, section, ok := strings.Cut(readme, "\n## Error codes\n")
	if !ok {
		t.Fatal(`README has no "## Error codes" section`)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		if m := rowRE.FindStringSubmatch(line); m != nil {
			if rows[m[1]] {
				t.Errorf("README registers %q twice", m[1])
			}
			rows[m[1]] = true
		}
	}
	return rows
}
