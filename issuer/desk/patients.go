package desk

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/authz"
	"github.com/healthcards/healthcards/issuer/identity"
	"github.com/healthcards/healthcards/issuer/store"
)

// resultRow is one stored Observation as the patient page shows it.
type resultRow struct {
	ID, Test, LOINC, Result, When string
}

type fhirObs struct {
	ID   string `json:"id"`
	Code struct {
		Coding []struct{ Code, Display string } `json:"coding"`
	} `json:"code"`
	Effective string `json:"effectiveDateTime"`
	Value     struct {
		Coding []struct{ Code, Display string } `json:"coding"`
	} `json:"valueCodeableConcept"`
}

type fhirPatient struct {
	Name []struct {
		Family string   `json:"family"`
		Given  []string `json:"given"`
	} `json:"name"`
	BirthDate string `json:"birthDate"`
}

// patient is GET /desk/patient?id=: the patient's stored results, with a
// correction form for supervisors.
func (d *Desk) patient(c *echo.Context, s *identity.Session) error {
	pid := strings.TrimSpace(c.QueryParam("id"))
	ctx := c.Request().Context()
	st := d.cfg.Issuer.Store()
	raw, err := st.Patient(ctx, pid)
	if err != nil || !fhirID.MatchString(pid) {
		return d.render(c, http.StatusNotFound, "message", map[string]any{"Session": s, "Title": "Not found",
			"Message": "No patient with this lab patient id. Check the id, or enter the result first."})
	}
	var p fhirPatient
	_ = json.Unmarshal(raw, &p)
	name := ""
	if len(p.Name) > 0 {
		name = strings.Join(p.Name[0].Given, " ") + " " + p.Name[0].Family
	}
	res, err := st.Resources(ctx, pid, []string{"Observation"}, time.Time{})
	if err != nil {
		return err
	}
	var rows []resultRow
	for _, r := range res {
		var o fhirObs
		if json.Unmarshal(r.JSON, &o) != nil {
			continue
		}
		row := resultRow{ID: r.ID, When: o.Effective}
		if len(o.Code.Coding) > 0 {
			row.Test, row.LOINC = o.Code.Coding[0].Display, o.Code.Coding[0].Code
		}
		if len(o.Value.Coding) > 0 {
			row.Result = o.Value.Coding[0].Display
		}
		rows = append(rows, row)
	}
	var cards []cardRow
	if ps := d.searcher(); ps != nil {
		list, err := ps.PatientCards(ctx, pid, 0)
		if err != nil {
			return err
		}
		if cards, err = cardStates(ctx, st, list); err != nil {
			return err
		}
	}
	data := map[string]any{"Session": s, "Title": "Patient", "PatientID": pid, "Name": name,
		"BirthDate": p.BirthDate, "Rows": rows, "Cards": cards, "Results": Results, "CanCorrect": d.may(s, authz.ActionCorrect)}
	if d.may(s, authz.ActionEnrol) {
		acc, err := d.accountSection(c, pid)
		if err != nil {
			return err
		}
		data["CanEnrol"] = true
		for k, v := range acc {
			data[k] = v
		}
	}
	return d.render(c, http.StatusOK, "patient", data)
}

// correct is POST /desk/correct: the patient's cards issued until now are
// revoked (REV-5 timestamp form), the Observation's result is replaced and
// a corrected card is issued through the issuer library; both steps are in
// the audit trail ("revoke", "correct", "issue").
func (d *Desk) correct(c *echo.Context, s *identity.Session) error {
	r := c.Request()
	pid, obsID := strings.TrimSpace(r.PostFormValue("patientId")), r.PostFormValue("observation")
	res := resultOf(r.PostFormValue("result"))
	ctx := r.Context()
	st := d.cfg.Issuer.Store()
	patient, err := st.Patient(ctx, pid)
	if err != nil || res == nil {
		return d.render(c, http.StatusBadRequest, "message", map[string]any{"Session": s, "Title": "Not corrected", "Message": "Choose a patient and a new result."})
	}
	list, err := st.Resources(ctx, pid, []string{"Observation"}, time.Time{})
	if err != nil {
		return err
	}
	var obs map[string]any
	for _, x := range list {
		if x.ID == obsID {
			_ = json.Unmarshal(x.JSON, &obs)
		}
	}
	if obs == nil {
		return d.render(c, http.StatusNotFound, "message", map[string]any{"Session": s, "Title": "Not corrected", "Message": "No such result for this patient."})
	}
	if _, err := d.cfg.Issuer.Revoke(ctx, issuer.RevokeRequest{PatientID: pid, Actor: actor(s), Reason: "correction"}); err != nil {
		return d.render(c, http.StatusBadRequest, "message", map[string]any{"Session": s, "Title": "Not corrected", "Message": "The old cards could not be revoked (" + string(issuer.CodeOf(err)) + "); nothing was changed."})
	}
	obs["valueCodeableConcept"] = map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": res.Code, "display": res.Display()}}}
	delete(obs, "specimen") // the card carries the corrected result; the specimen stays in the store
	perf := "Organization/lab"
	obs["performer"] = []any{map[string]any{"reference": perf, "display": d.cfg.LabName}}
	var pat map[string]any
	_ = json.Unmarshal(patient, &pat)
	bundle, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "collection", "entry": []any{
		map[string]any{"fullUrl": "Patient/" + pid, "resource": pat},
		map[string]any{"fullUrl": perf, "resource": map[string]any{"resourceType": "Organization", "id": "lab", "name": d.cfg.LabName}},
		map[string]any{"fullUrl": "Observation/" + obsID, "resource": obs},
	}})
	if _, _, err := d.cfg.Issuer.PutResults(ctx, bundle, actor(s)); err != nil {
		return d.render(c, http.StatusUnprocessableEntity, "message", map[string]any{"Session": s, "Title": "Not corrected", "Message": "The corrected result was refused (" + string(issuer.CodeOf(err)) + "); the old cards are revoked."})
	}
	cards, err := d.cfg.Issuer.IssueBundle(ctx, bundle, issuer.IssueOptions{Actor: actor(s), Delivery: issuer.DeliverQR})
	if err != nil || len(cards) == 0 {
		return d.render(c, http.StatusUnprocessableEntity, "message", map[string]any{"Session": s, "Title": "Not corrected", "Message": "The corrected card could not be issued (" + string(issuer.CodeOf(err)) + ")."})
	}
	_ = st.Audit(ctx, auditEvent(d.cfg.Issuer.Now(), actor(s), "correct", "observation "+obsID+" -> "+res.Value))
	d.log.Info("desk: corrected", "account", s.Account.ID)
	return d.render(c, http.StatusCreated, "issued", map[string]any{"Session": s, "Title": "Corrected card issued", "Card": cards[0],
		"PatientID": pid, "Name": "the corrected result", "Bundle": string(bundle), "CanShare": d.cfg.Links != nil && d.may(s, authz.ActionShare)})
}

// audit is GET /desk/audit: the newest events (who issued, revoked,
// corrected, shared; when). Events hold ids, never names or birth dates.
func (d *Desk) audit(c *echo.Context, s *identity.Session) error {
	evs, err := d.cfg.Issuer.Store().AuditLog(c.Request().Context(), 500)
	if err != nil {
		return err
	}
	return d.render(c, http.StatusOK, "audit", map[string]any{"Session": s, "Title": "Audit trail", "Events": evs})
}

// auditCSV is GET /desk/audit.csv: the same events as a CSV download; the
// export itself is audited.
func (d *Desk) auditCSV(c *echo.Context, s *identity.Session) error {
	ctx := c.Request().Context()
	evs, err := d.cfg.Issuer.Store().AuditLog(ctx, 100000)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"id", "time", "actor", "action", "kid", "rid", "types", "detail"})
	for _, e := range evs {
		_ = w.Write([]string{strconv.FormatInt(e.ID, 10), e.Time.UTC().Format(time.RFC3339), csvSafe(e.Actor), csvSafe(e.Action), e.Kid, e.RID, strings.Join(e.CardTypes, " "), csvSafe(e.Detail)})
	}
	w.Flush()
	_ = d.cfg.Issuer.Store().Audit(ctx, store.Event{Time: d.cfg.Issuer.Now(), Actor: actor(s), Action: "audit.export", Detail: strconv.Itoa(len(evs)) + " events"})
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="audit-`+d.cfg.Issuer.Now().UTC().Format("2006-01-02")+`.csv"`)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// csvSafe stops a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
