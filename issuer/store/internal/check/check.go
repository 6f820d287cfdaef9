// Package check holds the argument checks and normalisations that every
// store implementation applies before it writes, so that SQLite and
// PostgreSQL refuse exactly the same inputs with the same errors.
//
// Errors wrap store.ErrInvalid and name the field, never its value when the
// value may be clinical data (JSON, JWS, details).
package check

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/healthcards/healthcards/issuer/store"
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{store.ErrInvalid}, args...)...)
}

// ID checks a required identifier (non-empty, at most store.MaxIDBytes,
// valid UTF-8, no NUL).
func ID(field, s string) error {
	if s == "" {
		return invalid("%s is empty", field)
	}
	return Text(field, s, store.MaxIDBytes)
}

// Text checks an optional string against a byte limit; it must be valid
// UTF-8 without NUL bytes (PostgreSQL text cannot hold NUL).
func Text(field, s string, max int) error {
	if len(s) > max {
		return invalid("%s is %d bytes, over the limit of %d", field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return invalid("%s is not valid UTF-8", field)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return invalid("%s contains a NUL byte", field)
		}
	}
	return nil
}

// List checks a list of identifiers (at most store.MaxListItems).
func List(field string, l []string) error {
	if len(l) > store.MaxListItems {
		return invalid("%s has %d items, over the limit of %d", field, len(l), store.MaxListItems)
	}
	for i, s := range l {
		if err := ID(fmt.Sprintf("%s[%d]", field, i), s); err != nil {
			return err
		}
	}
	return nil
}

// JSON checks a JSON document without quoting it.
func JSON(field string, b []byte) error {
	if len(b) == 0 {
		return invalid("%s is empty", field)
	}
	if len(b) > store.MaxJSONBytes {
		return invalid("%s is %d bytes, over the limit of %d", field, len(b), store.MaxJSONBytes)
	}
	if !json.Valid(b) {
		return invalid("%s is not valid JSON", field)
	}
	return nil
}

// Micro returns t in UTC, truncated to microseconds (the precision both
// stores keep).
func Micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// OrNow returns Micro(t), or Micro(now) when t is zero.
func OrNow(t time.Time, now time.Time) time.Time {
	if t.IsZero() {
		return Micro(now)
	}
	return Micro(t)
}

// PutResources checks PutResources arguments and returns the resources with
// PatientID filled in.
func PutResources(patientID string, patient json.RawMessage, res []store.Resource) ([]store.Resource, error) {
	if err := ID("patient id", patientID); err != nil {
		return nil, err
	}
	if patient != nil {
		if err := JSON("patient", patient); err != nil {
			return nil, err
		}
	}
	if len(res) > store.MaxResourcesPerPut {
		return nil, invalid("%d resources, over the limit of %d", len(res), store.MaxResourcesPerPut)
	}
	out := make([]store.Resource, len(res))
	for i, r := range res {
		if r.PatientID == "" {
			r.PatientID = patientID
		} else if r.PatientID != patientID {
			return nil, invalid("resource %d belongs to another patient", i)
		}
		if err := ID(fmt.Sprintf("resource %d type", i), r.Type); err != nil {
			return nil, err
		}
		if err := ID(fmt.Sprintf("resource %d id", i), r.ID); err != nil {
			return nil, err
		}
		if err := JSON(fmt.Sprintf("resource %d", i), r.JSON); err != nil {
			return nil, err
		}
		if !r.Date.IsZero() {
			r.Date = Micro(r.Date)
		}
		out[i] = r
	}
	return out, nil
}

// Event checks an audit event and fills a zero Time.
func Event(ev store.Event, now time.Time) (store.Event, error) {
	if err := ID("event action", ev.Action); err != nil {
		return ev, err
	}
	for _, f := range [...]struct{ name, v string }{{"event actor", ev.Actor}, {"event kid", ev.Kid}, {"event rid", ev.RID}} {
		if err := Text(f.name, f.v, store.MaxIDBytes); err != nil {
			return ev, err
		}
	}
	if err := List("event card types", ev.CardTypes); err != nil {
		return ev, err
	}
	if err := Text("event detail", ev.Detail, store.MaxDetailBytes); err != nil {
		return ev, err
	}
	ev.Time = OrNow(ev.Time, now)
	return ev, nil
}

// Card checks an issued card and fills a zero IssuedAt.
func Card(c store.IssuedCard, now time.Time) (store.IssuedCard, error) {
	if err := ID("card id", c.ID); err != nil {
		return c, err
	}
	if err := ID("card patient id", c.PatientID); err != nil {
		return c, err
	}
	if err := ID("card kid", c.Kid); err != nil {
		return c, err
	}
	if err := Text("card rid", c.RID, store.MaxIDBytes); err != nil {
		return c, err
	}
	if err := List("card types", c.Types); err != nil {
		return c, err
	}
	if c.JWS == "" {
		return c, invalid("card jws is empty")
	}
	if len(c.JWS) > store.MaxJWSBytes {
		return c, invalid("card jws is %d bytes, over the limit of %d", len(c.JWS), store.MaxJWSBytes)
	}
	if err := Text("card jws", c.JWS, store.MaxJWSBytes); err != nil {
		return c, err
	}
	c.IssuedAt = OrNow(c.IssuedAt, now)
	return c, nil
}

// Token checks a token and fills a zero CreatedAt.
func Token(t store.Token, now time.Time) (store.Token, error) {
	if err := ID("token id", t.ID); err != nil {
		return t, err
	}
	if len(t.Hash) == 0 || len(t.Hash) > 64 {
		return t, invalid("token hash is %d bytes, want 1..64", len(t.Hash))
	}
	if err := List("token scopes", t.Scopes); err != nil {
		return t, err
	}
	if err := Text("token label", t.Label, store.MaxIDBytes); err != nil {
		return t, err
	}
	t.CreatedAt = OrNow(t.CreatedAt, now)
	if t.RevokedAt != nil {
		r := Micro(*t.RevokedAt)
		t.RevokedAt = &r
	}
	return t, nil
}

// Hash checks a token hash used for lookup.
func Hash(h []byte) error {
	if len(h) == 0 || len(h) > 64 {
		return invalid("token hash is %d bytes, want 1..64", len(h))
	}
	return nil
}

func isB64URL(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// Kid checks a key id (base64url, 1..store.MaxIDBytes characters).
func Kid(kid string) error {
	if kid == "" || len(kid) > store.MaxIDBytes {
		return invalid("kid must be 1..%d characters", store.MaxIDBytes)
	}
	for i := 0; i < len(kid); i++ {
		if !isB64URL(kid[i]) {
			return invalid("kid %q is not base64url", kid)
		}
	}
	return nil
}

// Entry checks a CRL entry: a rid of 1..64 base64url characters,
// optionally followed by "." and 1..19 digits (REV-5).
func Entry(e string) error {
	i := 0
	for i < len(e) && isB64URL(e[i]) {
		i++
	}
	if i == 0 || i > 64 {
		return invalid("crl entry %q: rid must be 1..64 base64url characters (REV-5)", trunc(e))
	}
	if i == len(e) {
		return nil
	}
	if e[i] != '.' {
		return invalid("crl entry %q: want rid or rid.TIMESTAMP (REV-5)", trunc(e))
	}
	digits := e[i+1:]
	if len(digits) == 0 || len(digits) > 19 {
		return invalid("crl entry %q: timestamp must be 1..19 digits (REV-5)", trunc(e))
	}
	for j := 0; j < len(digits); j++ {
		if digits[j] < '0' || digits[j] > '9' {
			return invalid("crl entry %q: timestamp must be decimal digits (REV-5)", trunc(e))
		}
	}
	return nil
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// Revoke checks Revoke arguments and fills the event's zero Time.
func Revoke(entries []store.RevocationEntry, ev store.Event, now time.Time) (store.Event, error) {
	if len(entries) == 0 {
		return ev, invalid("no revocation entries")
	}
	if len(entries) > store.MaxRevokeEntries {
		return ev, invalid("%d revocation entries, over the limit of %d", len(entries), store.MaxRevokeEntries)
	}
	for _, e := range entries {
		if err := Kid(e.Kid); err != nil {
			return ev, err
		}
		if err := Entry(e.Entry); err != nil {
			return ev, err
		}
	}
	return Event(ev, now)
}

// AuditLimit checks and caps an AuditLog limit.
func AuditLimit(limit int) (int, error) {
	if limit < 0 {
		return 0, invalid("negative audit log limit %d", limit)
	}
	return min(limit, store.MaxAuditLimit), nil
}

// Types checks a Resources type filter.
func Types(types []string) error { return List("resource types", types) }

var birthDate = regexp.MustCompile(`^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$`)

// PatientQuery checks q and returns it normalized: names trimmed and
// lower-cased, Limit in 1..MaxSearchResults.
func PatientQuery(q store.PatientQuery) (store.PatientQuery, error) {
	q.Family = strings.ToLower(strings.TrimSpace(q.Family))
	q.Given = strings.ToLower(strings.TrimSpace(q.Given))
	q.BirthDate = strings.TrimSpace(q.BirthDate)
	if q.Family == "" && q.Given == "" && q.BirthDate == "" {
		return q, invalid("patient query: give a family name, a given name or a birth date")
	}
	if err := Text("family name", q.Family, store.MaxIDBytes); err != nil {
		return q, err
	}
	if err := Text("given name", q.Given, store.MaxIDBytes); err != nil {
		return q, err
	}
	if q.BirthDate != "" && !birthDate.MatchString(q.BirthDate) {
		return q, invalid("patient query: birth date must be YYYY, YYYY-MM or YYYY-MM-DD")
	}
	switch {
	case q.Limit < 0:
		return q, invalid("patient query: negative limit")
	case q.Limit == 0 || q.Limit > store.MaxSearchResults:
		q.Limit = store.MaxSearchResults
	}
	return q, nil
}

// CardsLimit is limit for PatientCards: 1..MaxPatientCards.
func CardsLimit(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, invalid("patient cards: negative limit")
	case limit == 0 || limit > store.MaxPatientCards:
		return store.MaxPatientCards, nil
	}
	return limit, nil
}

// NameKey is one name of a Patient as FindPatients searches it: Family
// lower-cased, Given the lower-cased given names each preceded by a space
// (so " john paul" matches the given prefix "pa" as "% pa%").
type NameKey struct{ Family, Given, BirthDate string }

// NameKeys returns the search keys of a stored Patient resource: one per
// name (at most 16), or one with empty names if it has none. A resource
// that does not parse gives none.
func NameKeys(patient []byte) []NameKey {
	var p struct {
		Name []struct {
			Family string   `json:"family"`
			Given  []string `json:"given"`
		} `json:"name"`
		BirthDate string `json:"birthDate"`
	}
	if patient == nil || json.Unmarshal(patient, &p) != nil {
		return nil
	}
	bd := p.BirthDate
	if !birthDate.MatchString(bd) {
		bd = ""
	}
	var out []NameKey
	for _, n := range p.Name {
		if len(out) == 16 {
			break
		}
		k := NameKey{Family: clip(strings.ToLower(strings.TrimSpace(n.Family))), BirthDate: bd}
		var b strings.Builder
		for _, g := range n.Given {
			if g = strings.ToLower(strings.TrimSpace(g)); g != "" {
				b.WriteString(" " + g)
			}
		}
		k.Given = clip(b.String())
		out = append(out, k)
	}
	if len(out) == 0 {
		out = append(out, NameKey{BirthDate: bd})
	}
	return out
}

// clip makes a stored name key valid UTF-8 without NUL bytes and at most
// MaxIDBytes long.
func clip(s string) string {
	s = strings.ReplaceAll(s, "\x00", "")
	if len(s) > store.MaxIDBytes {
		s = s[:store.MaxIDBytes]
	}
	return strings.ToValidUTF8(s, "")
}

// Matches reports whether a key matches a normalized query.
func (k NameKey) Matches(q store.PatientQuery) bool {
	return strings.HasPrefix(k.Family, q.Family) &&
		(q.Given == "" || strings.Contains(k.Given, " "+q.Given)) &&
		(q.BirthDate == "" || k.BirthDate == q.BirthDate)
}

// LikePrefix escapes s for LIKE ... ESCAPE '\' and appends %.
func LikePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}
