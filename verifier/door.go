package verifier

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// IALSystem is the code system of identity assurance levels in a Patient's
// meta.security (SMART Health Cards, based on NIST SP 800-63-3).
const IALSystem = "https://smarthealth.cards/ial"

// IdentityAssurance is how the issuer checked the holder's name and birth
// date: the level's code and what it means, in words for staff.
type IdentityAssurance struct {
	Level string `json:"level"` // e.g. IAL1.4
	Text  string `json:"text"`
}

// ialText says what each level means at a door. The code system is case
// insensitive.
var ialText = map[string]string{
	"IAL1":   "Name and birth date were not checked by the issuer (the person stated them).",
	"IAL1.2": "The issuer checked name and birth date against an ID document (type not stated).",
	"IAL1.4": "The issuer checked name and birth date against a government photo ID.",
	"IAL2":   "The issuer verified the person's identity (in person or remotely, NIST IAL2).",
	"IAL3":   "The issuer verified the person's identity in person, examining their documents (NIST IAL3).",
}

// identityAssurance reads the first IAL coding of a Patient's
// meta.security, or nil. Member names are matched exactly; anything
// unreadable is left out (the card stays verified; this is display only).
func identityAssurance(security json.RawMessage) *IdentityAssurance {
	if len(security) == 0 {
		return nil
	}
	var codings []map[string]json.RawMessage
	if json.Unmarshal(security, &codings) != nil {
		return nil
	}
	for _, c := range codings {
		var system, code string
		if json.Unmarshal(c["system"], &system) != nil || json.Unmarshal(c["code"], &code) != nil || system != IALSystem {
			continue
		}
		level := strings.ToUpper(code)
		text, ok := ialText[level]
		if !ok {
			if len(code) > 16 {
				continue
			}
			text = "The issuer states an identity assurance level this verifier does not know (" + code + ")."
		}
		return &IdentityAssurance{Level: level, Text: text}
	}
	return nil
}

// parseFHIRDate reads a FHIR date or dateTime (YYYY, YYYY-MM, YYYY-MM-DD,
// or a full time with zone) and reports whether it has a time of day.
func parseFHIRDate(s string) (t time.Time, withTime bool, ok bool) {
	if strings.Contains(s, "T") {
		t, err := time.Parse(time.RFC3339Nano, s)
		return t, true, err == nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, false, true
		}
	}
	return time.Time{}, false, false
}

// ageText says how long before now a FHIR date was, for staff: "3 hours
// ago", "2 days ago", "today" (a date without time), or "in the future".
func ageText(date string, now time.Time) string {
	t, withTime, ok := parseFHIRDate(date)
	if !ok {
		return ""
	}
	if !withTime {
		y, m, d := now.UTC().Date()
		days := int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(t).Hours() / 24)
		switch {
		case days < 0:
			return "in the future"
		case days == 0:
			return "today"
		}
		return ago(days, "day")
	}
	d := now.Sub(t)
	switch {
	case d < -DefaultLeeway:
		return "in the future"
	case d < time.Hour:
		return "less than an hour ago"
	case d < 48*time.Hour:
		return ago(int(d/time.Hour), "hour")
	}
	return ago(int(d/(24*time.Hour)), "day")
}

// ago formats "1 day ago", "3 hours ago" in one allocation (it runs for
// every dated result of every verified card).
func ago(n int, unit string) string { return counted(n, unit, " ago") }

// count formats "1 day", "3 hours".
func count(n int, unit string) string { return counted(n, unit, "") }

func counted(n int, unit, suffix string) string {
	var buf [32]byte
	b := strconv.AppendInt(buf[:0], int64(n), 10)
	b = append(b, ' ')
	b = append(b, unit...)
	if n != 1 {
		b = append(b, 's')
	}
	b = append(b, suffix...)
	return string(b)
}

// setAges fills the age of each dated result as of now.
func (s *Summary) setAges(now time.Time) {
	if s == nil {
		return
	}
	for i := range s.LabResults {
		s.LabResults[i].Age = ageText(s.LabResults[i].Date, now)
	}
	for i := range s.Immunizations {
		s.Immunizations[i].Age = ageText(s.Immunizations[i].Date, now)
	}
}
