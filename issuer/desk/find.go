package desk

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/identity"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/shc"
)

// Card states on the patient page.
const (
	StateValid      = "valid"
	StateRevoked    = "revoked"
	StateSuperseded = "superseded"
)

// matchRow is one patient the search found.
type matchRow struct{ ID, Name, BirthDate string }

// cardRow is one issued card on the patient page.
type cardRow struct{ ID, Issued, Types, State string }

// searcher is the store's patient search, when it has one (every
// store.Store does; an issuer.Store need not).
func (d *Desk) searcher() store.PatientSearch {
	ps, _ := d.cfg.Issuer.Store().(store.PatientSearch)
	return ps
}

// find is GET /desk/find?family=&given=&birthDate=: the patients whose
// family and given names start with the ones typed (case-insensitive) and
// who were born on birthDate, at most 50. Names are never logged.
func (d *Desk) find(c *echo.Context, s *identity.Session) error {
	q := store.PatientQuery{Family: c.QueryParam("family"), Given: c.QueryParam("given"), BirthDate: c.QueryParam("birthDate"), Limit: 50}
	view := map[string]any{"Session": s, "Title": "Find a patient", "Q": q}
	ps := d.searcher()
	if ps == nil {
		return d.render(c, http.StatusNotImplemented, "message", map[string]any{"Session": s, "Title": "Not available",
			"Message": "This store cannot search by name; use the lab patient id."})
	}
	ms, err := ps.FindPatients(c.Request().Context(), q)
	if err != nil {
		if !errors.Is(err, store.ErrInvalid) {
			return err
		}
		view["Error"] = "Give a family name, a given name or a birth date (YYYY-MM-DD)."
		return d.render(c, http.StatusBadRequest, "find", view)
	}
	rows := make([]matchRow, 0, len(ms))
	for _, m := range ms {
		name, born := patientName(m.Patient)
		rows = append(rows, matchRow{ID: m.ID, Name: name, BirthDate: born})
	}
	view["Matches"] = rows
	view["Full"] = len(ms) == q.Limit
	return d.render(c, http.StatusOK, "find", view)
}

// patientName is a stored Patient's first name and birth date for display.
func patientName(raw json.RawMessage) (name, born string) {
	var p fhirPatient
	_ = json.Unmarshal(raw, &p)
	if len(p.Name) > 0 {
		name = strings.TrimSpace(strings.Join(p.Name[0].Given, " ") + " " + p.Name[0].Family)
	}
	return name, p.BirthDate
}

// cardStates lists a patient's cards with their state, computed from the
// revocation lists as a verifier does (REV-5): a bare rid entry revokes
// every card, "rid.T" those with nbf before T. A card revoked by a
// timestamp entry is "superseded" when a newer valid card holds a clinical
// resource type it held (a correction or a re-issue replaced it), else
// "revoked".
// nbf is read from the card's own JWS (signed by this issuer, from its own
// store); the stored issue time is used if it does not parse.
func cardStates(ctx context.Context, st issuer.Store, cards []store.IssuedCard) ([]cardRow, error) {
	crls := map[string]map[string]float64{} // kid -> rid -> T (+Inf for a bare rid)
	type judged struct {
		types   string
		revoked bool
		byTime  bool
	}
	js := make([]judged, len(cards))
	for i, c := range cards {
		m, ok := crls[c.Kid]
		if !ok {
			l, err := st.CRL(ctx, c.Kid)
			if err != nil {
				return nil, err
			}
			m = map[string]float64{}
			for _, e := range l.RIDs {
				rid, ts, timed := strings.Cut(e, ".")
				t := math.Inf(1)
				if timed {
					v, err := strconv.ParseInt(ts, 10, 64)
					if err != nil {
						continue
					}
					t = float64(v)
				}
				if old, seen := m[rid]; !seen || t > old {
					m[rid] = t
				}
			}
			crls[c.Kid] = m
		}
		nbf := float64(c.IssuedAt.UnixMilli()) / 1000
		if card, err := shc.Parse(c.JWS); err == nil {
			if p := card.UnsafePayloadWithoutVerification(); p != nil {
				nbf = float64(p.NotBefore)
			}
		}
		t, listed := m[c.RID]
		js[i] = judged{types: strings.Join(c.Types, " "), revoked: listed && nbf < t, byTime: listed && !math.IsInf(t, 1)}
	}
	rows := make([]cardRow, len(cards))
	for i, c := range cards {
		state := StateValid
		if js[i].revoked {
			state = StateRevoked
			for j := i + 1; j < len(cards) && js[i].byTime; j++ {
				if !js[j].revoked && sameResult(cards[i].Types, cards[j].Types) {
					state = StateSuperseded
					break
				}
			}
		}
		rows[i] = cardRow{ID: c.ID, Issued: c.IssuedAt.UTC().Format("2006-01-02 15:04:05"), Types: js[i].types, State: state}
	}
	return rows, nil
}

// sameResult reports whether two cards share a resource type other than
// Patient (a corrected card may leave out the Specimen, for example).
func sameResult(a, b []string) bool {
	for _, x := range a {
		if x != "Patient" && slices.Contains(b, x) {
			return true
		}
	}
	return false
}
