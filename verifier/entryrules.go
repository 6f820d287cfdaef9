package verifier

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/healthcards/healthcards/internal/jsonlite"
	"github.com/healthcards/healthcards/terminology"
)

// EntryRules is a venue's entry rule: data, not code, read by
// ParseEntryRules and evaluated on the summary of a verified card only.
// The file form:
//
//	{
//	  "name": "Negative COVID-19 test within 72 hours, or vaccinated",
//	  "anyOf": [
//	    {"negativeTest": {"tests": ["lab:covid-19-molecular", "lab:covid-19-antigen"], "within": "72h"}},
//	    {"vaccination": {"vaccines": ["vaccine:covid-19"], "minDoses": 2, "minDaysSinceLastDose": 14}}
//	  ]
//	}
//
// "anyOf" (met when one condition is) or "allOf" (met when every one is),
// with 1 to 16 conditions, each exactly one of:
//
//   - negativeTest: a lab result of a test in one of the terminology groups
//     "tests", with a coded negative result (SNOMED 260385009 Negative or
//     260415000 Not detected; free text never counts), status final (or
//     unset), collected no longer than "within" (a Go duration, e.g. "72h")
//     before the verification and not in the future. A date without a time
//     counts from its first moment (an older reading: fail closed).
//   - vaccination: at least minDoses (default 1) completed doses of vaccines
//     in the groups "vaccines", the last one at least minDaysSinceLastDose
//     days before the verification and, when "within" is given, no longer
//     than that before it.
//
// Cards do not say whether a series is complete; minDoses is the venue's
// reading of "completed". A rule is evaluated on one card: a test on one
// card and a vaccination on another are not combined.
type EntryRules struct {
	Name  string           `json:"name"`
	AnyOf []EntryCondition `json:"anyOf,omitempty"`
	AllOf []EntryCondition `json:"allOf,omitempty"`
}

// EntryCondition is one condition of an entry rule.
type EntryCondition struct {
	NegativeTest *NegativeTestRule `json:"negativeTest,omitempty"`
	Vaccination  *VaccinationRule  `json:"vaccination,omitempty"`
}

// NegativeTestRule: a recent negative test (see EntryRules).
type NegativeTestRule struct {
	Tests  []terminology.Group `json:"tests"`
	Within Duration            `json:"within"`
}

// VaccinationRule: enough doses (see EntryRules).
type VaccinationRule struct {
	Vaccines             []terminology.Group `json:"vaccines"`
	MinDoses             int                 `json:"minDoses,omitempty"`
	MinDaysSinceLastDose int                 `json:"minDaysSinceLastDose,omitempty"`
	Within               Duration            `json:"within,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("72h").
type Duration time.Duration

// UnmarshalJSON reads "72h", "30m", ….
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"72h\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("duration %q: want a positive Go duration such as \"72h\"", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// WithEntryRules evaluates r on every verified card: Result.Entry says
// whether the card meets it, as of the verifier's clock. Cards that are
// not verified are never evaluated.
func WithEntryRules(r *EntryRules) Option {
	return func(c *config) error {
		if r == nil {
			return errors.New("WithEntryRules: nil rules")
		}
		if err := r.check(); err != nil {
			return fmt.Errorf("WithEntryRules: %w", err)
		}
		c.entryRules = r
		return nil
	}
}

// maxEntryConditions bounds the conditions of a rule.
const maxEntryConditions = 16

// ParseEntryRules reads an entry rule (the form in EntryRules) strictly:
// no repeated or case-variant member names at any depth, no unknown
// members, every group known to package terminology, bounded counts.
func ParseEntryRules(b []byte) (*EntryRules, error) {
	if len(b) > 64<<10 {
		return nil, errors.New("entry rules: file larger than 64 KiB")
	}
	if _, err := jsonlite.Parse(b, 8); err != nil {
		return nil, fmt.Errorf("entry rules: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r EntryRules
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("entry rules: %w", err)
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("entry rules: %w", err)
	}
	return &r, nil
}

func (r *EntryRules) check() error {
	conds := r.AnyOf
	switch {
	case strings.TrimSpace(r.Name) == "" || len(r.Name) > 200:
		return errors.New(`"name" is required (at most 200 bytes)`)
	case len(r.AnyOf) > 0 && len(r.AllOf) > 0:
		return errors.New(`give "anyOf" or "allOf", not both`)
	case len(r.AllOf) > 0:
		conds = r.AllOf
	}
	if len(conds) == 0 || len(conds) > maxEntryConditions {
		return fmt.Errorf(`"anyOf" or "allOf" needs 1 to %d conditions`, maxEntryConditions)
	}
	for i, c := range conds {
		if (c.NegativeTest == nil) == (c.Vaccination == nil) {
			return fmt.Errorf("condition %d: exactly one of negativeTest or vaccination", i+1)
		}
		if t := c.NegativeTest; t != nil {
			if t.Within <= 0 {
				return fmt.Errorf(`condition %d: negativeTest needs "within" (e.g. "72h")`, i+1)
			}
			if err := checkGroups(t.Tests, "lab:", "tests"); err != nil {
				return fmt.Errorf("condition %d: %w", i+1, err)
			}
		}
		if v := c.Vaccination; v != nil {
			if v.MinDoses < 0 || v.MinDoses > 10 || v.MinDaysSinceLastDose < 0 || v.MinDaysSinceLastDose > 3660 {
				return fmt.Errorf("condition %d: minDoses 0-10 and minDaysSinceLastDose 0-3660", i+1)
			}
			if err := checkGroups(v.Vaccines, "vaccine:", "vaccines"); err != nil {
				return fmt.Errorf("condition %d: %w", i+1, err)
			}
		}
	}
	return nil
}

func checkGroups(gs []terminology.Group, prefix, field string) error {
	if len(gs) == 0 || len(gs) > 16 {
		return fmt.Errorf("%q needs 1 to 16 groups", field)
	}
	known := map[terminology.Group]bool{}
	for _, g := range terminology.Groups() {
		known[g] = true
	}
	for _, g := range gs {
		if !strings.HasPrefix(string(g), prefix) || !known[g] {
			return fmt.Errorf("%q: unknown group %q (see package terminology)", field, g)
		}
	}
	return nil
}

// EntryResult says whether a verified card meets the venue's rule, and why,
// in words for staff.
type EntryResult struct {
	Rule   string `json:"rule"`
	Met    bool   `json:"met"`
	Reason string `json:"reason"`
}

// Evaluate applies the rule to the summary of a card verified at now. A
// caller must pass only the summary of a card whose verdict is
// VerdictVerified; nil gives "not met".
func (r *EntryRules) Evaluate(s *Summary, now time.Time) EntryResult {
	out := EntryResult{Rule: r.Name}
	if s == nil {
		out.Reason = "the card holds nothing this rule reads"
		return out
	}
	all := len(r.AllOf) > 0
	conds := r.AnyOf
	if all {
		conds = r.AllOf
	}
	var met, unmet []string
	for _, c := range conds {
		ok, why := c.evaluate(s, now)
		if ok {
			met = append(met, why)
		} else {
			unmet = append(unmet, why)
		}
	}
	if all {
		out.Met = len(unmet) == 0
	} else {
		out.Met = len(met) > 0
	}
	if out.Met {
		out.Reason = "Meets the entry rule: " + strings.Join(met, "; ") + "."
	} else {
		out.Reason = "Does not meet the entry rule: " + strings.Join(unmet, "; ") + "."
	}
	return out
}

// negativeResults are the coded results read as negative (SNOMED CT).
var negativeResults = map[string]bool{"260385009": true, "260415000": true}

func (c EntryCondition) evaluate(s *Summary, now time.Time) (bool, string) {
	if t := c.NegativeTest; t != nil {
		within := time.Duration(t.Within)
		for _, l := range s.LabResults {
			if !inAny(l.Test, t.Tests) || l.valueCode.System != terminology.SystemSNOMED || !negativeResults[l.valueCode.Code] ||
				l.Status != "" && l.Status != "final" && l.Status != "amended" && l.Status != "corrected" {
				continue
			}
			at, _, ok := parseFHIRDate(l.Date)
			if !ok || at.After(now.Add(DefaultLeeway)) || now.Sub(at) > within {
				continue
			}
			return true, "negative test collected " + ageText(l.Date, now)
		}
		return false, "no negative test collected within " + humanDuration(within)
	}
	v := c.Vaccination
	minDoses := max(v.MinDoses, 1)
	var doses int
	var last time.Time
	for _, im := range s.Immunizations {
		if !inAny(im.Vaccine, v.Vaccines) || im.Status != "" && im.Status != "completed" {
			continue
		}
		at, _, ok := parseFHIRDate(im.Date)
		if !ok || at.After(now.Add(DefaultLeeway)) {
			continue
		}
		doses++
		if at.After(last) {
			last = at
		}
	}
	switch {
	case doses < minDoses:
		return false, fmt.Sprintf("%d of %d vaccine doses", doses, minDoses)
	case now.Sub(last) < time.Duration(v.MinDaysSinceLastDose)*24*time.Hour:
		return false, fmt.Sprintf("last vaccine dose less than %d days ago", v.MinDaysSinceLastDose)
	case v.Within > 0 && now.Sub(last) > time.Duration(v.Within):
		return false, "last vaccine dose more than " + humanDuration(time.Duration(v.Within)) + " ago"
	}
	return true, fmt.Sprintf("%d vaccine doses, the last %s", doses, ageText(last.Format(time.RFC3339), now))
}

func inAny(c Coding, gs []terminology.Group) bool {
	for _, g := range gs {
		if terminology.InGroup(c.System, c.Code, g) {
			return true
		}
	}
	return false
}

// humanDuration writes 72h as "72 hours" and 336h as "14 days" (whole
// weeks and more in days).
func humanDuration(d time.Duration) string {
	day := 24 * time.Hour
	switch {
	case d%day == 0 && d >= 7*day:
		return count(int(d/day), "day")
	case d%time.Hour == 0:
		return count(int(d/time.Hour), "hour")
	}
	return d.String()
}
