package desk

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/account"
	"github.com/healthcards/healthcards/issuer/identity"
)

// EvidenceChoice is a document the desk can record as checked.
type EvidenceChoice struct{ Value, Label string }

// EvidenceChoices are the documents offered by the enrolment form
// (identity.EvidenceKinds, in words).
var EvidenceChoices = []EvidenceChoice{
	{"passport", "Passport"}, {"national-id", "National identity card"}, {"driving-licence", "Driving licence (photo card)"},
	{"residence-permit", "Residence permit"},
}

// IALChoice is an identity assurance level the enrolment form offers.
type IALChoice struct{ Value, Label string }

// IALChoices are the spec's levels a desk enrolment may record
// (https://smarthealth.cards/ial; identity.EnrolmentIALs).
var IALChoices = []IALChoice{
	{"IAL1.4", "IAL1.4: government photo ID seen"},
	{"IAL2", "IAL2: photo ID seen and checked against the person (NIST IAL2)"},
	{"IAL3", "IAL3: in person, documents examined and verified (NIST IAL3)"},
}

// accountView is what the patient page shows of a patient account.
type accountView struct {
	Account  identity.Account
	IAL      string
	Passkeys []identity.Passkey
	CodeOpen bool
	CodeExp  string
	Wards    []identity.Ward
}

// accountSection loads the patient account, its guardians and the
// people the patient acts for, for the patient page.
func (d *Desk) accountSection(c *echo.Context, pid string) (map[string]any, error) {
	ctx := c.Request().Context()
	ids := d.cfg.Identity
	out := map[string]any{"Evidence": EvidenceChoices, "IALs": IALChoices, "Relationships": account.Relationships}
	view := func(a identity.Account) (*accountView, error) {
		v := &accountView{Account: a, IAL: strings.TrimPrefix(a.IAL, identity.IALSystem+"/")}
		var err error
		if v.Passkeys, err = ids.Passkeys(ctx, a.ID); err != nil {
			return nil, err
		}
		exp, open, err := ids.OpenCode(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		v.CodeOpen = open
		if open {
			v.CodeExp = exp.In(d.cfg.Location).Format("2006-01-02 15:04")
		}
		if v.Wards, err = ids.Wards(ctx, a.ID); err != nil {
			return nil, err
		}
		return v, nil
	}
	a, err := ids.PatientAccount(ctx, pid)
	switch {
	case err == nil:
		v, err := view(a)
		if err != nil {
			return nil, err
		}
		out["Account"] = v
	case identity.CodeOf(err) != identity.CodeNotFound:
		return nil, err
	}
	gs, err := ids.Guardians(ctx, pid)
	if err != nil {
		return nil, err
	}
	var guardians []*accountView
	for _, g := range gs {
		v, err := view(g)
		if err != nil {
			return nil, err
		}
		guardians = append(guardians, v)
	}
	out["Guardians"] = guardians
	return out, nil
}

// enrolled renders the one-time code and the QR of the sign-up URL.
func (d *Desk) enrolled(c *echo.Context, s *identity.Session, pid string, e *account.Enrolled) error {
	svg, err := account.SignupQR(e.SignupURL)
	if err != nil {
		return err
	}
	d.log.Info("desk: enrolled", "account", s.Account.ID)
	return d.render(c, http.StatusCreated, "enrolled", map[string]any{"Session": s, "Title": "Sign-up code", "Name": e.Account.Name,
		"Code": e.Code, "URL": e.SignupURL, "QR": template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(svg)),
		"Expires": e.Expires.In(d.cfg.Location).Format("2006-01-02 15:04 MST"), "PatientID": pid, "IAL": strings.TrimPrefix(e.Account.IAL, identity.IALSystem+"/")})
}

// enrolErr shows why an enrolment action was refused, in words, with a
// way back to the patient.
func (d *Desk) enrolErr(c *echo.Context, s *identity.Session, pid string, err error) error {
	code := issuer.CodeOf(err)
	if code == "" || code == issuer.CodeInternal {
		return err
	}
	status := http.StatusBadRequest
	if code == issuer.CodeNotFound {
		status = http.StatusNotFound
	}
	msg := err.Error()
	if e, ok := err.(*identity.Error); ok {
		msg = e.Msg
	}
	return d.render(c, status, "message", map[string]any{"Session": s, "Title": "Not done", "Message": msg + " (" + string(code) + ")",
		"Back": "/desk/patient?id=" + pid})
}

func form(c *echo.Context, k string) string { return strings.TrimSpace(c.Request().PostFormValue(k)) }

// enrol is POST /desk/enrolments: enrol the patient (or again: a new
// phone) with the evidence seen and its level.
func (d *Desk) enrol(c *echo.Context, s *identity.Session) error {
	pid := form(c, "patientId")
	e, err := d.enroller.Enrol(c.Request().Context(), account.Request{Patient: pid, Evidence: form(c, "evidence"), IAL: form(c, "ial"),
		By: actor(s), ReplacePasskeys: form(c, "replace") == "1"})
	if err != nil {
		return d.enrolErr(c, s, pid, err)
	}
	return d.enrolled(c, s, pid, e)
}

// enrolGuardian is POST /desk/enrolments/guardian: link a guardian to the
// patient (the ward): an enrolled patient named by their lab patient id,
// or a new guardian-only account (name, evidence, level) with a code.
func (d *Desk) enrolGuardian(c *echo.Context, s *identity.Session) error {
	ctx := c.Request().Context()
	pid := form(c, "patientId")
	w := account.WardRequest{Patient: pid, Relationship: form(c, "relationship")}
	if g := form(c, "guardian"); g != "" {
		a, err := d.cfg.Identity.PatientAccount(ctx, g)
		if err != nil {
			return d.enrolErr(c, s, pid, &identity.Error{Pkg: "issuer", Code: issuer.CodeNotFound, Msg: "that lab patient id has no patient account; enrol the guardian first, or enter their name instead"})
		}
		if _, err := d.enroller.LinkGuardian(ctx, a.ID, w, actor(s)); err != nil {
			return d.enrolErr(c, s, pid, err)
		}
		return c.Redirect(http.StatusSeeOther, "/desk/patient?id="+pid)
	}
	e, err := d.enroller.Enrol(ctx, account.Request{Name: form(c, "name"), Evidence: form(c, "evidence"), IAL: form(c, "ial"), By: actor(s),
		Wards: []account.WardRequest{w}})
	if err != nil {
		return d.enrolErr(c, s, pid, err)
	}
	return d.enrolled(c, s, pid, e)
}

// accountAction is POST /desk/enrolments/{unlink,revoke-code,
// revoke-passkey,disable} on an account of the patient (their own, or a
// guardian's).
func (d *Desk) accountAction(c *echo.Context, s *identity.Session) error {
	ctx := c.Request().Context()
	pid := form(c, "patientId")
	a, err := d.enroller.PatientAccount(ctx, form(c, "account"), pid)
	if err != nil {
		return d.enrolErr(c, s, pid, err)
	}
	switch strings.TrimPrefix(c.Path(), "/desk/enrolments/") {
	case "unlink":
		err = d.enroller.UnlinkGuardian(ctx, a.ID, pid, actor(s))
	case "revoke-code":
		err = d.enroller.RevokeCode(ctx, a.ID, actor(s))
	case "revoke-passkey":
		err = d.enroller.RevokePasskey(ctx, a.ID, form(c, "passkey"), actor(s))
	case "disable":
		err = d.enroller.Disable(ctx, a.ID, actor(s))
	default:
		return echo.ErrNotFound
	}
	if err != nil {
		return d.enrolErr(c, s, pid, err)
	}
	d.log.Info("desk: account action", "route", c.Path(), "account", s.Account.ID)
	return c.Redirect(http.StatusSeeOther, "/desk/patient?id="+pid)
}
