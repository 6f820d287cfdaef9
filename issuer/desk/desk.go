package desk

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/account"
	"github.com/healthcards/healthcards/issuer/authz"
	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/identity"
	"github.com/healthcards/healthcards/shl/shlqr"
)

// SessionCookie is the name of the desk's session cookie (__Host-: Secure,
// Path=/, no Domain); patients have their own (identity.PatientCookie).
const SessionCookie = identity.StaffCookie

const ceremonyCookie = "__Host-shc-ceremony"

// Config configures the desk. Issuer, Identity and BaseURL are required.
type Config struct {
	Issuer   *issuer.Issuer
	Identity *identity.Service
	// Links shares cards as SMART Health Links; nil hides the button.
	Links *httpapi.Links
	// Authz is the decision point every desk action goes through (the
	// service passes the API's engine); nil means the default policies
	// over the issuer's store, auditing to it.
	Authz *authz.Engine
	// BaseURL is the service's public https base (no trailing slash); POSTs
	// must come from its origin.
	BaseURL string
	// LabName is the performer on every result (configured once).
	LabName string
	// Location interprets the collection time typed in the form; nil is UTC.
	Location *time.Location
	// Logger gets one line per action without PHI; nil discards.
	Logger *slog.Logger
}

// Desk serves the front desk pages.
type Desk struct {
	cfg      Config
	origin   string
	log      *slog.Logger
	enroller *account.Enroller
}

// New checks cfg.
func New(cfg Config) (*Desk, error) {
	if cfg.Issuer == nil || cfg.Identity == nil {
		return nil, errors.New("desk: Config.Issuer and Config.Identity are required")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, errors.New("desk: Config.BaseURL must be an https URL")
	}
	if cfg.LabName == "" {
		cfg.LabName = u.Hostname()
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Authz == nil {
		az, err := authz.New(authz.Config{Source: issuer.StoreSource{Store: cfg.Issuer.Store()}, Audit: cfg.Issuer.Store(), Now: cfg.Issuer.Now})
		if err != nil {
			return nil, err
		}
		cfg.Authz = az
	}
	d := &Desk{cfg: cfg, origin: u.Scheme + "://" + u.Host, log: cfg.Logger,
		enroller: &account.Enroller{Issuer: cfg.Issuer, Identity: cfg.Identity, BaseURL: u.Scheme + "://" + u.Host + strings.TrimSuffix(u.Path, "/")}}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return d, nil
}

// Mount registers the routes (see the package documentation).
func (d *Desk) Mount(e *echo.Echo) {
	e.GET("/desk/", d.page(authz.ActionView, d.home))
	e.GET("/desk/signin", d.signinPage)
	e.POST("/desk/signin/begin", d.signinBegin)
	e.POST("/desk/signin/finish", d.signinFinish)
	e.GET("/desk/enrol", d.enrolPage)
	e.POST("/desk/enrol/begin", d.enrolBegin)
	e.POST("/desk/enrol/finish", d.enrolFinish)
	e.POST("/desk/signout", d.action("", d.signout))
	e.GET("/desk/issue", d.page(authz.ActionIssue, d.issueForm))
	e.POST("/desk/issue", d.action(authz.ActionIssue, d.issue))
	e.POST("/desk/share", d.action(authz.ActionShare, d.share))
	e.POST("/desk/revoke", d.action(authz.ActionRevoke, d.revoke))
	e.GET("/desk/patient", d.page(authz.ActionView, d.patient))
	e.GET("/desk/find", d.page(authz.ActionView, d.find))
	e.POST("/desk/correct", d.action(authz.ActionCorrect, d.correct))
	e.GET("/desk/audit", d.page(authz.ActionAudit, d.audit))
	e.GET("/desk/audit.csv", d.page(authz.ActionAudit, d.auditCSV))
	e.POST("/desk/enrolments", d.action(authz.ActionEnrol, d.enrol))
	e.POST("/desk/enrolments/guardian", d.action(authz.ActionEnrol, d.enrolGuardian))
	for _, a := range []string{"unlink", "revoke-code", "revoke-passkey", "disable"} {
		e.POST("/desk/enrolments/"+a, d.action(authz.ActionEnrol, d.accountAction))
	}
}

type ctxSession struct{}

// render writes a page with its own CSP (the API's default-src 'none' is
// replaced for HTML).
func (d *Desk) render(c *echo.Context, status int, name string, data map[string]any) error {
	n := identity.PageNonce()
	data["Nonce"] = n
	if _, ok := data["Title"]; !ok {
		data["Title"] = "Front desk"
	}
	data["Lab"] = d.cfg.LabName
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		return err
	}
	identity.SetPageHeaders(c.Response().Header(), n)
	return c.HTMLBlob(status, buf.Bytes())
}

// session is the signed-in staff member; a patient account's session is
// refused (forbidden): patients are not staff.
func (d *Desk) session(c *echo.Context) (*identity.Session, error) {
	return d.cfg.Identity.StaffSession(c.Request())
}

// page wraps a GET page: a session is needed (else a redirect to sign in)
// and the role must allow act.
func (d *Desk) page(act authz.Action, h func(*echo.Context, *identity.Session) error) echo.HandlerFunc {
	return func(c *echo.Context) error {
		s, err := d.session(c)
		if err != nil {
			identity.ClearCookie(c.Response(), SessionCookie)
			return c.Redirect(http.StatusSeeOther, "/desk/signin?why="+string(identity.CodeOf(err)))
		}
		if act != "" {
			if dec := d.decide(c, s, act, c.QueryParam("id")); !dec.Allow {
				return d.forbidden(c, s, dec)
			}
		}
		return h(c, s)
	}
}

// decide asks the decision point (issuer/authz, the same policies and
// audit trail as the API) whether the session's account may do act, on the
// patient the request names (patientId in forms, id on the patient page)
// or else on the lab. The session is already checked: a disabled account
// has none.
func (d *Desk) decide(c *echo.Context, s *identity.Session, act authz.Action, patient string) *authz.Decision {
	return d.cfg.Authz.AuthorizeStaff(c.Request().Context(), staff(s), act, authz.Target{Patient: strings.TrimSpace(patient)})
}

// may is for showing a button only; the action itself is decided by allowed.
func (d *Desk) may(s *identity.Session, act authz.Action) bool {
	return d.cfg.Authz.StaffMay(staff(s), act)
}

func staff(s *identity.Session) authz.Staff {
	return authz.Staff{ID: s.Account.ID, Role: string(s.Account.Role)}
}

func (d *Desk) forbidden(c *echo.Context, s *identity.Session, dec *authz.Decision) error {
	d.log.Info("desk: refused", "route", c.Path(), "account", s.Account.ID, "role", string(s.Account.Role), "policies", strings.Join(dec.Policies, ","))
	if issuer.CodeOf(dec.Err) == issuer.CodeNotFound {
		return d.render(c, http.StatusNotFound, "message", map[string]any{"Session": s, "Title": "No such patient",
			"Message": "That is not a patient id of this lab."})
	}
	return d.render(c, http.StatusForbidden, "message", map[string]any{"Session": s, "Title": "Not allowed",
		"Message": "Your role (" + string(s.Account.Role) + ") does not allow this. Ask a supervisor."})
}

// action wraps a form POST: same origin, a session, the role, and the
// session's CSRF token in the form field "csrf".
func (d *Desk) action(act authz.Action, h func(*echo.Context, *identity.Session) error) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if err := identity.CheckOrigin(c.Request(), d.origin); err != nil {
			return d.render(c, http.StatusForbidden, "message", map[string]any{"Title": "Refused", "Message": err.Error()})
		}
		c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, 64<<10)
		s, err := d.session(c)
		if err != nil {
			identity.ClearCookie(c.Response(), SessionCookie)
			return d.render(c, http.StatusUnauthorized, "message", map[string]any{"Title": "Signed out",
				"Message": "Your session has ended (" + string(identity.CodeOf(err)) + "). Sign in again; nothing was saved.", "SignIn": true})
		}
		if err := identity.CheckCSRF(s, c.Request().PostFormValue("csrf")); err != nil {
			return d.render(c, http.StatusForbidden, "message", map[string]any{"Session": s, "Title": "Refused", "Message": err.Error()})
		}
		if act != "" {
			pid := c.Request().PostFormValue("patientId")
			if act == authz.ActionIssue {
				pid = "" // the form enters the patient (checked by the form); the lab is the resource
			}
			if dec := d.decide(c, s, act, pid); !dec.Allow {
				return d.forbidden(c, s, dec)
			}
		}
		return h(c, s)
	}
}

func (d *Desk) home(c *echo.Context, s *identity.Session) error {
	return d.render(c, http.StatusOK, "home", map[string]any{"Session": s, "CanRevoke": d.may(s, authz.ActionRevoke),
		"CanAudit": d.may(s, authz.ActionAudit)})
}

func (d *Desk) signout(c *echo.Context, s *identity.Session) error {
	_ = d.cfg.Identity.SignOut(c.Request().Context(), s.Token())
	identity.ClearCookie(c.Response(), SessionCookie)
	return c.Redirect(http.StatusSeeOther, "/desk/signin")
}

func (d *Desk) signinPage(c *echo.Context) error {
	msg := map[string]string{"session_expired": "Your session has ended. Sign in again.", "account_disabled": "This account is disabled."}[c.QueryParam("why")]
	return d.render(c, http.StatusOK, "signin", map[string]any{"Title": "Sign in", "Message": msg})
}

func (d *Desk) enrolPage(c *echo.Context) error {
	return d.render(c, http.StatusOK, "enrol", map[string]any{"Title": "Set up your passkey"})
}

// jsonErr answers the WebAuthn endpoints' errors (identity.ErrorJSON).
func jsonErr(c *echo.Context, err error) error { return c.JSON(identity.ErrorJSON(err)) }

func (d *Desk) enrolBegin(c *echo.Context) error {
	if err := identity.CheckOrigin(c.Request(), d.origin); err != nil {
		return jsonErr(c, err)
	}
	var req struct {
		Code string `json:"code"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 1024)).Decode(&req); err != nil {
		return jsonErr(c, &identity.Error{Code: identity.CodeInvalidCode, Msg: "send {\"code\": \"…\"}"})
	}
	opts, id, err := d.cfg.Identity.BeginEnrolFor(c.Request().Context(), identity.StaffOnly, req.Code, d.cfg.Identity.ClientKey(c.Request()))
	if err != nil {
		return jsonErr(c, err)
	}
	identity.SetCeremonyCookie(c.Response(), ceremonyCookie, id)
	return c.JSON(http.StatusOK, opts)
}

func (d *Desk) finish(c *echo.Context, fn func(context.Context, string, *http.Request) (*identity.Session, error)) error {
	if err := identity.CheckOrigin(c.Request(), d.origin); err != nil {
		return jsonErr(c, err)
	}
	c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, 64<<10)
	s, err := fn(c.Request().Context(), identity.TakeCeremonyCookie(c.Response(), c.Request(), ceremonyCookie), c.Request())
	if err != nil {
		d.log.Info("desk: passkey refused", "route", c.Path(), "code", string(identity.CodeOf(err)))
		return jsonErr(c, err)
	}
	if !s.Account.Role.Valid() { // a patient's passkey: not a desk sign-in
		_ = d.cfg.Identity.SignOut(c.Request().Context(), s.Token())
		return jsonErr(c, &identity.Error{Code: identity.CodeForbidden, Msg: "this passkey belongs to a patient account; patients sign in at /account/signin"})
	}
	d.cfg.Identity.SetCookie(c.Response(), SessionCookie, s)
	d.log.Info("desk: signed in", "account", s.Account.ID, "role", string(s.Account.Role))
	return c.JSON(http.StatusOK, map[string]string{"next": "/desk/"})
}

func (d *Desk) enrolFinish(c *echo.Context) error { return d.finish(c, d.cfg.Identity.FinishEnrol) }

func (d *Desk) signinBegin(c *echo.Context) error {
	if err := identity.CheckOrigin(c.Request(), d.origin); err != nil {
		return jsonErr(c, err)
	}
	opts, id, err := d.cfg.Identity.BeginSignIn(c.Request().Context())
	if err != nil {
		return jsonErr(c, err)
	}
	identity.SetCeremonyCookie(c.Response(), ceremonyCookie, id)
	return c.JSON(http.StatusOK, opts)
}

func (d *Desk) signinFinish(c *echo.Context) error { return d.finish(c, d.cfg.Identity.FinishSignIn) }

func (d *Desk) formData(s *identity.Session, f *Form) map[string]any {
	return map[string]any{"Session": s, "Title": "Enter a result", "Form": f, "Groups": TestGroups(), "Specimens": Specimens,
		"Results": Results, "Checks": IdentityChecks}
}

func (d *Desk) issueForm(c *echo.Context, s *identity.Session) error {
	f := &Form{Collected: d.cfg.Issuer.Now().In(d.cfg.Location).Format("2006-01-02T15:04"), Identity: "photo-id"}
	return d.render(c, http.StatusOK, "issue", d.formData(s, f))
}

func actor(s *identity.Session) string { return "staff:" + s.Account.ID }

// issue validates the form, builds the bundle, stores the results and
// issues the cards through the issuer library (as POST /v1/results and
// POST /v1/cards do).
func (d *Desk) issue(c *echo.Context, s *identity.Session) error {
	r := c.Request()
	f := &Form{Given: r.PostFormValue("given"), Family: r.PostFormValue("family"), BirthDate: r.PostFormValue("birthDate"),
		PatientID: r.PostFormValue("patientId"), Contact: r.PostFormValue("contact"), Test: r.PostFormValue("test"),
		Specimen: r.PostFormValue("specimen"), Collected: r.PostFormValue("collected"), Result: r.PostFormValue("result"),
		Identity: r.PostFormValue("identity")}
	collected, ok := f.validate(d.cfg.Issuer.Now(), d.cfg.Location)
	if !ok {
		return d.render(c, http.StatusUnprocessableEntity, "issue", d.formData(s, f))
	}
	bundle, err := f.Bundle(d.cfg.LabName, collected)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, _, err := d.cfg.Issuer.PutResults(ctx, bundle, actor(s)); err != nil {
		return d.issueFailed(c, s, f, err)
	}
	cards, err := d.cfg.Issuer.IssueBundle(ctx, bundle, issuer.IssueOptions{Actor: actor(s), Delivery: issuer.DeliverQR})
	if err != nil || len(cards) == 0 {
		return d.issueFailed(c, s, f, err)
	}
	d.log.Info("desk: issued", "account", s.Account.ID, "cards", len(cards))
	cd := cards[0]
	return d.render(c, http.StatusCreated, "issued", map[string]any{"Session": s, "Title": "Card issued", "Card": cd,
		"PatientID": f.PatientID, "Name": f.Given + " " + f.Family, "Bundle": string(bundle), "CanShare": d.cfg.Links != nil && d.may(s, authz.ActionShare)})
}

func (d *Desk) issueFailed(c *echo.Context, s *identity.Session, f *Form, err error) error {
	code := issuer.CodeOf(err)
	d.log.Warn("desk: issuing failed", "account", s.Account.ID, "code", string(code))
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	f.Errors["form"] = "The card could not be issued (" + string(code) + "). Check the entries; if it persists, tell the administrator."
	return d.render(c, http.StatusUnprocessableEntity, "issue", d.formData(s, f))
}

// share makes a SMART Health Link for an issued card, with a new 6-digit
// passcode (shown once) and the configured default expiry.
func (d *Desk) share(c *echo.Context, s *identity.Session) error {
	if d.cfg.Links == nil {
		return echo.ErrNotFound
	}
	ctx := c.Request().Context()
	cd, err := d.cfg.Issuer.Store().Card(ctx, c.Request().PostFormValue("card"))
	if err != nil {
		return d.render(c, http.StatusNotFound, "message", map[string]any{"Session": s, "Title": "Not found", "Message": "No such card."})
	}
	var n [4]byte
	_, _ = rand.Read(n[:])
	pass := leftPad(binary.BigEndian.Uint32(n[:])%1000000, 6)
	link, err := d.cfg.Links.ShareCards(ctx, actor(s), cd.PatientID, pass, "Test result", cd.JWS)
	if err != nil {
		return err
	}
	png, err := shlqr.PNG(link.ShLink, 0)
	if err != nil {
		return err
	}
	_ = d.cfg.Issuer.Store().Audit(ctx, auditEvent(d.cfg.Issuer.Now(), actor(s), "link.create", link.ID))
	d.log.Info("desk: shared", "account", s.Account.ID)
	return d.render(c, http.StatusCreated, "shared", map[string]any{"Session": s, "Title": "Link created", "Link": link, "Passcode": pass,
		"Expires": time.Unix(link.Payload.Exp, 0).In(d.cfg.Location).Format("2 January 2006, 15:04"),
		"QR":      template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))})
}

func leftPad(v uint32, n int) string {
	s := []byte{}
	for i := 0; i < n; i++ {
		s = append([]byte{byte('0' + v%10)}, s...)
		v /= 10
	}
	return string(s)
}

// revoke revokes a patient's cards issued before now (REV-5 timestamp
// form), as a correction needs; supervisors and admins only.
func (d *Desk) revoke(c *echo.Context, s *identity.Session) error {
	pid := strings.TrimSpace(c.Request().PostFormValue("patientId"))
	res, err := d.cfg.Issuer.Revoke(c.Request().Context(), issuer.RevokeRequest{PatientID: pid, Actor: actor(s), Reason: "desk"})
	if err != nil {
		return d.render(c, http.StatusBadRequest, "message", map[string]any{"Session": s, "Title": "Not revoked",
			"Message": "The cards could not be revoked (" + string(issuer.CodeOf(err)) + ")."})
	}
	d.log.Info("desk: revoked", "account", s.Account.ID, "entries", len(res.Entries))
	return d.render(c, http.StatusOK, "message", map[string]any{"Session": s, "Title": "Revoked",
		"Message": "The patient's cards issued until now are revoked. Cards issued from now on are valid."})
}
