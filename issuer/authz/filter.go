package authz

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/auth"
)

// cardFilter decides card by card what an allowed issue or share request
// gets: sensitive results only with consent, then the token's read scopes
// (supporting resources are implied by the clinical resource's scope),
// then its authorization_details.
type cardFilter struct {
	e            *Engine
	self         bool // the patient's own request: consent does not apply
	actor        string
	purpose      string
	consents     []consent
	scoped       bool // SMART read scopes limit the cards
	needCategory bool // a scope or detail restricts categories
	scopes       []Scope
	details      []Detail // nil: no healthcards:cards details

	kept, withheld, withheldCards int
	noScope                       map[string]bool // clinical types with no read scope at all
	restricted                    map[string]bool // types outside a granular restriction
	byDetails                     int             // cards outside authorization_details
	byScope                       int             // cards outside the read scopes
}

func (e *Engine) newFilter(p *auth.Principal, pr principal, action Action, rel *relations, details []Detail) *cardFilter {
	f := &cardFilter{
		e: e, self: pr.kind == kindPatient && pr.id == rel.patientID,
		actor: pr.ref(), purpose: pr.purpose(), consents: rel.consents, details: details,
		noScope: map[string]bool{}, restricted: map[string]bool{},
	}
	// SMART tokens are limited by their read scopes; lab systems and
	// system clients with the lab scope cards:issue issue what they hold.
	if p != nil && p.Kind == "jwt" && !p.Has(auth.ScopeCardsIssue) {
		f.scoped = true
		f.scopes = readScopes(p.Scopes, pr.levels()...)
		for _, sc := range f.scopes {
			for _, r := range sc.Restrictions {
				f.needCategory = f.needCategory || r.Param == "category"
			}
		}
	}
	for _, d := range details {
		f.needCategory = f.needCategory || len(d.Categories.Include)+len(d.Categories.Exclude) > 0
	}
	return f
}

func (f *cardFilter) keep(c issuer.CardContent) bool {
	fs := make([]*facts, len(c.Clinical))
	for i, r := range c.Clinical {
		fs[i] = resourceFacts(r, f.needCategory)
	}
	var cats []string
	for _, r := range fs {
		for _, cat := range f.e.sensitiveCategories(r) {
			if !slices.Contains(cats, cat) {
				cats = append(cats, cat)
			}
		}
	}
	if !f.self {
		if len(cats) > 0 && !permits(f.consents, f.actor, f.purpose, cats) {
			f.withheld += len(fs)
			f.withheldCards++
			return false
		}
	}
	if f.scoped {
		for _, r := range fs {
			if !f.covered(r) {
				f.byScope++
				return false
			}
		}
	}
	if f.details != nil {
		ok, sensitiveOnly := false, false
		for i := range f.details {
			if f.details[i].keeps(fs) {
				if f.details[i].ExcludeSensitive && len(cats) > 0 {
					sensitiveOnly = true // withheld, never named (like a missing Consent)
					continue
				}
				ok = true
				break
			}
		}
		if !ok && sensitiveOnly {
			f.withheld += len(fs)
			f.withheldCards++
			return false
		}
		if !ok {
			f.byDetails++
			return false
		}
	}
	f.kept++
	return true
}

// covered reports whether a read scope covers r, noting why not.
func (f *cardFilter) covered(r *facts) bool {
	typed := false
	for _, sc := range f.scopes {
		if sc.covers(r) {
			return true
		}
		typed = typed || sc.Type == "*" || sc.Type == r.Type
	}
	if typed {
		f.restricted[r.Type] = true
	} else {
		f.noScope[r.Type] = true
	}
	return false
}

func (f *cardFilter) leftOut() int {
	return f.byDetails + f.byScope
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (f *cardFilter) explain() (string, bool) {
	var parts []string
	for _, t := range keys(f.noScope) {
		parts = append(parts, fmt.Sprintf("the token has no read scope for %s (for example patient/%s.rs; supporting resources need none)", t, t))
	}
	for _, t := range keys(f.restricted) {
		parts = append(parts, fmt.Sprintf("the %s results are outside the category/code restrictions of the token's %s scopes", t, t))
	}
	if f.byDetails > 0 {
		parts = append(parts, fmt.Sprintf("%d card(s) are outside the token's authorization_details", f.byDetails))
	}
	if len(parts) == 0 {
		return "", false
	}
	return "no card could be issued under the token's permissions: " + strings.Join(parts, "; "), true
}
