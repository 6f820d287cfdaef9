package authz

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/healthcards/healthcards/issuer"
)

// Scope is one parsed SMART on FHIR read scope, v1 (patient/Observation.read)
// or v2 (patient/Observation.rs?category=laboratory).
type Scope struct {
	Level string // "patient", "user" or "system"
	Type  string // a FHIR resource type or "*"
	// Restrictions are v2 granular query restrictions: a resource matches
	// when it matches every one (AND); each one matches when any of its
	// tokens matches (a comma-separated list means OR, as in FHIR search).
	Restrictions []Restriction
}

// Restriction is one granular scope parameter: category or code.
type Restriction struct {
	Param  string // "category" or "code"
	Tokens []Token
}

// Token is a FHIR token search value: "system|code", "code" (any system)
// or "|code" (no system).
type Token struct {
	System    string
	AnySystem bool
	Code      string
}

// String returns the token in FHIR search syntax.
func (t Token) String() string {
	if t.AnySystem {
		return t.Code
	}
	return t.System + "|" + t.Code
}

// Matches reports whether a coding (system, code) matches the token.
func (t Token) Matches(system, code string) bool {
	return code == t.Code && (t.AnySystem || system == t.System)
}

// Scope parse limits: a scope string is at most maxScopeLen bytes with at
// most maxTokens tokens.
const (
	maxScopeLen = 1024
	maxTokens   = 32
)

// errNotRead marks a well-formed scope that grants no read access (a
// write-only scope, openid, launch/patient, lab scopes): not an error for
// callers, just nothing to use.
var errNotRead = errors.New("authz: not a read scope")

// ParseScope parses a SMART read scope. Scopes that are not resource read
// scopes return errNotRead; malformed or unsupported granular scopes (an
// unknown parameter, a modifier, a bad token) return another error, and
// callers ignore such a scope: an unsupported restriction never widens
// access (fail closed).
func ParseScope(s string) (Scope, error) {
	if len(s) > maxScopeLen {
		return Scope{}, fmt.Errorf("authz: scope longer than %d bytes", maxScopeLen)
	}
	level, rest, ok := strings.Cut(s, "/")
	if !ok || (level != "patient" && level != "user" && level != "system") {
		return Scope{}, errNotRead
	}
	rest, query, hasQuery := strings.Cut(rest, "?")
	typ, perm, ok := strings.Cut(rest, ".")
	if !ok || !(typ == "*" || issuer.ValidResourceType(typ)) {
		return Scope{}, errNotRead
	}
	v1 := perm == "read" || perm == "*"
	if !v1 && !v2Read(perm) {
		return Scope{}, errNotRead
	}
	sc := Scope{Level: level, Type: typ}
	if !hasQuery {
		return sc, nil
	}
	if v1 {
		return Scope{}, errors.New("authz: v1 scopes take no query restrictions")
	}
	if query == "" {
		return Scope{}, errors.New("authz: empty scope query")
	}
	n := 0
	for _, part := range strings.Split(query, "&") {
		name, val, ok := strings.Cut(part, "=")
		if !ok || val == "" {
			return Scope{}, fmt.Errorf("authz: scope parameter %q needs a value", name)
		}
		if name != "category" && name != "code" {
			return Scope{}, fmt.Errorf("authz: unsupported scope parameter %q (category and code are honoured)", name)
		}
		val, err := url.QueryUnescape(val)
		if err != nil {
			return Scope{}, fmt.Errorf("authz: scope parameter %q: bad escape", name)
		}
		r := Restriction{Param: name}
		for _, v := range strings.Split(val, ",") {
			if n++; n > maxTokens {
				return Scope{}, fmt.Errorf("authz: more than %d scope tokens", maxTokens)
			}
			t, err := ParseToken(v)
			if err != nil {
				return Scope{}, err
			}
			r.Tokens = append(r.Tokens, t)
		}
		sc.Restrictions = append(sc.Restrictions, r)
	}
	return sc, nil
}

// ParseToken parses a FHIR token value ("system|code", "code", "|code").
func ParseToken(v string) (Token, error) {
	sys, code, hasSys := strings.Cut(v, "|")
	if !hasSys {
		sys, code = "", v
	}
	if code == "" || strings.Contains(code, "|") || len(v) > 512 || !printable(v) {
		return Token{}, fmt.Errorf("authz: %q is not a token (system|code or code)", trunc(v))
	}
	return Token{System: sys, Code: code, AnySystem: !hasSys}, nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// v2Read accepts SMART v2 permission strings (ordered subset of "cruds")
// that include "r" (reading a card needs read; search alone is not enough).
func v2Read(perm string) bool {
	if perm == "" || !strings.Contains(perm, "r") {
		return false
	}
	last := -1
	for _, c := range perm {
		i := strings.IndexRune("cruds", c)
		if i <= last {
			return false
		}
		last = i
	}
	return true
}

// readScopes parses the read scopes of the given levels from a token's
// scopes; unparseable ones are skipped (fail closed).
func readScopes(scopes []string, levels ...string) []Scope {
	var out []Scope
	for _, s := range scopes {
		sc, err := ParseScope(s)
		if err != nil {
			continue
		}
		for _, l := range levels {
			if sc.Level == l {
				out = append(out, sc)
				break
			}
		}
	}
	return out
}

// covers reports whether sc lets its holder read resource r.
func (sc Scope) covers(r *facts) bool {
	if sc.Type != "*" && sc.Type != r.Type {
		return false
	}
	for _, rs := range sc.Restrictions {
		codings := r.Code
		if rs.Param == "category" {
			codings = r.Category
		}
		if !anyTokenMatches(rs.Tokens, codings) {
			return false
		}
	}
	return true
}

func anyTokenMatches(ts []Token, cs []coding) bool {
	for _, t := range ts {
		for _, c := range cs {
			if t.Matches(c.System, c.Code) {
				return true
			}
		}
	}
	return false
}
