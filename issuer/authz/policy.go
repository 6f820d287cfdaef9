package authz

import (
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	cedar "github.com/cedar-policy/cedar-go"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"
)

//go:embed schema.cedarschema
var schemaText []byte

//go:embed policies/*.cedar
var defaultPolicies embed.FS

// Schema returns the Cedar schema policies are validated against.
func Schema() []byte { return slices.Clone(schemaText) }

// DefaultPolicyFiles returns the embedded default policy set, file name to
// text.
func DefaultPolicyFiles() map[string][]byte {
	out := map[string][]byte{}
	ents, _ := defaultPolicies.ReadDir("policies")
	for _, e := range ents {
		b, _ := defaultPolicies.ReadFile("policies/" + e.Name())
		out[e.Name()] = b
	}
	return out
}

// Limits of a policy directory.
const (
	maxPolicyFiles     = 256
	maxPolicyFileBytes = 1 << 20
)

var (
	validatorOnce sync.Once
	validator     *validate.Validator
	validatorErr  error
)

func schemaValidator() (*validate.Validator, error) {
	validatorOnce.Do(func() {
		var s schema.Schema
		if err := s.UnmarshalCedar(schemaText); err != nil {
			validatorErr = fmt.Errorf("authz: embedded schema: %w", err)
			return
		}
		r, err := s.Resolve()
		if err != nil {
			validatorErr = fmt.Errorf("authz: embedded schema: %w", err)
			return
		}
		validator = validate.New(r)
	})
	return validator, validatorErr
}

// LoadPolicyDir reads every *.cedar file of dir (not recursive) and
// validates the policies against the schema (ValidatePolicies).
func LoadPolicyDir(dir string) (*cedar.PolicySet, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, policyErr("reading the policy directory: %v", err)
	}
	files := map[string][]byte{}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".cedar") {
			continue
		}
		if len(files) == maxPolicyFiles {
			return nil, policyErr("more than %d policy files in %s", maxPolicyFiles, dir)
		}
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p)
		if err != nil {
			return nil, policyErr("%v", err)
		}
		if fi.Size() > maxPolicyFileBytes {
			return nil, policyErr("%s is over %d bytes", e.Name(), maxPolicyFileBytes)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, policyErr("%v", err)
		}
		files[e.Name()] = b
	}
	if len(files) == 0 {
		return nil, policyErr("%s holds no .cedar policy file", dir)
	}
	return ValidatePolicies(files)
}

// ValidatePolicies parses the policy files (name to Cedar text) and
// validates every policy against the schema (strict mode). Each policy
// needs a unique @id("...") annotation: decisions and the audit trail name
// policies by it.
func ValidatePolicies(files map[string][]byte) (*cedar.PolicySet, error) {
	v, err := schemaValidator()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	out := cedar.NewPolicySet()
	var errs []error
	for _, name := range names {
		ps, err := cedar.NewPolicySetFromBytes(name, files[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", name, err))
			continue
		}
		type entry struct {
			pos int
			p   *cedar.Policy
		}
		var list []entry
		for _, p := range ps.All() {
			list = append(list, entry{p.Position().Offset, p})
		}
		sort.Slice(list, func(i, j int) bool { return list[i].pos < list[j].pos })
		for _, e := range list {
			p := e.p
			pos := p.Position()
			where := fmt.Sprintf("%s:%d:%d", name, pos.Line, pos.Column)
			id := string(p.Annotations()["id"])
			if id == "" {
				errs = append(errs, fmt.Errorf("%s: the policy needs an @id(\"...\") annotation", where))
				continue
			}
			if out.Get(cedar.PolicyID(id)) != nil {
				errs = append(errs, fmt.Errorf("%s: policy id %q is used twice", where, id))
				continue
			}
			if err := v.Policy(id, (*xast.Policy)(p.AST())); err != nil {
				errs = append(errs, fmt.Errorf("%s: policy %q does not match the schema: %v", where, id, err))
				continue
			}
			out.Add(cedar.PolicyID(id), p)
		}
	}
	if len(errs) > 0 {
		return nil, &policyError{errors.Join(errs...)}
	}
	if len(out.Map()) == 0 {
		return nil, policyErr("no policies")
	}
	return out, nil
}

// DefaultPolicySet returns the embedded default policy set, validated.
func DefaultPolicySet() (*cedar.PolicySet, error) { return ValidatePolicies(DefaultPolicyFiles()) }

type policyError struct{ err error }

func (e *policyError) Error() string { return "authz: invalid policy: " + e.err.Error() }
func (e *policyError) Unwrap() error { return e.err }

func policyErr(format string, args ...any) error {
	return &policyError{fmt.Errorf(format, args...)}
}
