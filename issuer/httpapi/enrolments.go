package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/internal/jsonlite"
	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/account"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/authz"
	"github.com/healthcards/healthcards/issuer/identity"
)

// EnrolmentsConfig configures the enrolment API (/v1/enrolments, issue
// 13). Issuer, Auth, Identity and BaseURL are required.
type EnrolmentsConfig struct {
	Issuer   *issuer.Issuer
	Auth     *auth.Authenticator
	Identity *identity.Service
	// Authz decides every request (action enrol): lab API tokens with
	// enrolments:write, staff sessions of role desk and up. nil means the
	// embedded default policies over the issuer's store.
	Authz *authz.Engine
	// BaseURL is the service's public https base (no trailing slash).
	BaseURL string
}

// Enrolments serves /v1/enrolments: desk enrolments of patients and
// guardians for lab systems (a bearer token) and the desk's own scripts
// (a staff session; state-changing requests carry the session's CSRF
// token in X-CSRF-Token and the site's Origin). Register it with
// Config.Mount.
type Enrolments struct {
	cfg    EnrolmentsConfig
	en     *account.Enroller
	authz  *authz.Engine
	origin string
}

// NewEnrolments checks cfg.
func NewEnrolments(cfg EnrolmentsConfig) (*Enrolments, error) {
	if cfg.Issuer == nil || cfg.Auth == nil || cfg.Identity == nil {
		return nil, errors.New("httpapi: EnrolmentsConfig.Issuer, Auth and Identity are required")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || strings.HasSuffix(cfg.BaseURL, "/") {
		return nil, errors.New("httpapi: EnrolmentsConfig.BaseURL must be an https URL without trailing slash")
	}
	az := cfg.Authz
	if az == nil {
		if az, err = authz.New(authz.Config{Source: issuer.StoreSource{Store: cfg.Issuer.Store()}, Audit: cfg.Issuer.Store(), Now: cfg.Issuer.Now}); err != nil {
			return nil, err
		}
	}
	return &Enrolments{cfg: cfg, authz: az, origin: u.Scheme + "://" + u.Host,
		en: &account.Enroller{Issuer: cfg.Issuer, Identity: cfg.Identity, BaseURL: cfg.BaseURL}}, nil
}

// Mount registers the routes.
func (h *Enrolments) Mount(e *echo.Echo) {
	e.POST("/v1/enrolments", h.create)
	e.GET("/v1/enrolments", h.list)
	e.GET("/v1/enrolments/:id", h.get)
	e.DELETE("/v1/enrolments/:id", h.revokeCode)
	e.DELETE("/v1/enrolments/:id/passkeys/:passkey", h.revokePasskey)
	e.DELETE("/v1/enrolments/:id/account", h.disable)
	e.POST("/v1/enrolments/:id/wards", h.link)
	e.DELETE("/v1/enrolments/:id/wards/:patient", h.unlink)
}

// caller is who asks: a lab system's token, or a signed-in staff member.
type caller struct {
	p     *auth.Principal
	staff *identity.Session
}

func (c caller) actor() string {
	if c.staff != nil {
		return "staff:" + c.staff.Account.ID
	}
	return c.p.Actor()
}

// caller authenticates the request: a bearer token if one is sent, else
// the desk's session cookie (with the CSRF header and Origin on
// state-changing methods).
func (h *Enrolments) caller(c *echo.Context) (caller, error) {
	r := c.Request()
	if r.Header.Get("Authorization") != "" {
		p, err := h.cfg.Auth.Authenticate(r.Context(), r.Header.Get("Authorization"))
		return caller{p: p}, err
	}
	ses, err := h.cfg.Identity.StaffSession(r)
	if err != nil {
		if identity.CodeOf(err) == identity.CodeForbidden {
			return caller{}, forbidden("a patient account does not manage enrolments")
		}
		return caller{}, auth.ErrUnauthenticated
	}
	if r.Method != http.MethodGet {
		if r.Header.Get("Origin") != h.origin {
			return caller{}, &issuer.Error{Code: identity.CodeCSRF, Msg: "a request made with a session must come from this site's own pages"}
		}
		if err := identity.CheckCSRF(ses, r.Header.Get("X-CSRF-Token")); err != nil {
			return caller{}, err
		}
	}
	return caller{staff: ses}, nil
}

// allow asks the decision point whether the caller may enrol for patient.
func (h *Enrolments) allow(ctx context.Context, who caller, patient string) error {
	var d *authz.Decision
	if who.staff != nil {
		d = h.authz.AuthorizeStaff(ctx, authz.Staff{ID: who.staff.Account.ID, Role: string(who.staff.Account.Role)}, authz.ActionEnrol, authz.Target{Patient: patient})
	} else {
		d = h.authz.Authorize(ctx, who.p, authz.ActionEnrol, authz.Target{Patient: patient})
	}
	if !d.Allow {
		if issuer.CodeOf(d.Err) == issuer.CodeForbidden || d.Err == nil {
			return forbidden("enrolments need the scope " + auth.ScopeEnrolments + " or a desk session")
		}
		return d.Err
	}
	return nil
}

// EnrolmentRequest is the body of POST /v1/enrolments.
type EnrolmentRequest struct {
	// Name is the person's display name; "" takes it from the Patient.
	Name string `json:"name,omitempty"`
	// PatientID is the person's own lab patient id ("" for a guardian
	// only; then Wards is required).
	PatientID string `json:"patientId,omitempty"`
	// Evidence is the kind of photo ID checked: passport, national-id,
	// driving-licence, residence-permit. Never its number.
	Evidence string `json:"evidence"`
	// IAL is IAL1.4, IAL2 or IAL3 (https://smarthealth.cards/ial).
	IAL string `json:"ial"`
	// CheckedBy names the person who checked the document in the lab's
	// own system (kept with the caller's audit actor).
	CheckedBy string `json:"checkedBy,omitempty"`
	// Wards are the people a guardian acts for.
	Wards []account.WardRequest `json:"wards,omitempty"`
	// ReplacePasskeys revokes an existing account's passkeys (lost phone).
	ReplacePasskeys bool `json:"replacePasskeys,omitempty"`
}

// EnrolmentCreated is the answer of POST /v1/enrolments: the code and the
// QR are shown to the person once and stored nowhere (the code only as a
// hash).
type EnrolmentCreated struct {
	Enrolment EnrolmentView `json:"enrolment"`
	Code      string        `json:"code"`
	Expires   time.Time     `json:"expires"`
	SignupURL string        `json:"signupUrl"`
	QRSVG     string        `json:"qrSvg"`
}

// EnrolmentView is a patient account as the API shows it.
type EnrolmentView struct {
	ID          string             `json:"id"`
	Name        string             `json:"name"`
	PatientID   string             `json:"patientId,omitempty"`
	IAL         string             `json:"ial"`
	Evidence    string             `json:"evidence"`
	CheckedBy   string             `json:"checkedBy"`
	Proofed     time.Time          `json:"proofed"`
	Disabled    bool               `json:"disabled"`
	CodeOpen    bool               `json:"codeOpen"`
	CodeExpires *time.Time         `json:"codeExpires,omitempty"`
	Passkeys    []identity.Passkey `json:"passkeys"`
	Wards       []identity.Ward    `json:"wards"`
}

func badEnrolment(msg string) error {
	return &issuer.Error{Code: identity.CodeInvalidEnrolment, Msg: msg}
}

func (h *Enrolments) view(ctx context.Context, a identity.Account) (EnrolmentView, error) {
	v := EnrolmentView{ID: a.ID, Name: a.Name, PatientID: a.Patient, IAL: a.IAL, Evidence: a.Evidence, CheckedBy: a.CheckedBy, Proofed: a.Proofed,
		Disabled: a.Disabled, Passkeys: []identity.Passkey{}, Wards: []identity.Ward{}}
	ids := h.cfg.Identity
	pks, err := ids.Passkeys(ctx, a.ID)
	if err != nil {
		return v, err
	}
	v.Passkeys = append(v.Passkeys, pks...)
	exp, open, err := ids.OpenCode(ctx, a.ID)
	if err != nil {
		return v, err
	}
	if open {
		v.CodeOpen, v.CodeExpires = true, &exp
	}
	ws, err := ids.Wards(ctx, a.ID)
	if err != nil {
		return v, err
	}
	v.Wards = append(v.Wards, ws...)
	return v, nil
}

func (h *Enrolments) create(c *echo.Context) error {
	ctx := c.Request().Context()
	who, err := h.caller(c)
	if err != nil {
		return err
	}
	body, err := readLimited(c, 64<<10)
	if err != nil {
		return err
	}
	var req EnrolmentRequest
	if err := jsonlite.DecodeExact(body, &req); err != nil {
		return badEnrolment(`body must be {"patientId"?, "name"?, "evidence", "ial", "checkedBy"?, "wards"?: [{"patientId", "relationship"}], "replacePasskeys"?}`)
	}
	if req.PatientID == "" && len(req.Wards) == 0 {
		return badEnrolment("give patientId, or wards for a guardian")
	}
	for _, pid := range append([]string{req.PatientID}, wardPatients(req.Wards)...) {
		if pid == "" {
			continue
		}
		if err := h.allow(ctx, who, pid); err != nil {
			return err
		}
	}
	by := who.actor()
	if cb := strings.TrimSpace(req.CheckedBy); cb != "" {
		if len(cb) > 40 || strings.ContainsAny(cb, "\x00\r\n") {
			return badEnrolment("checkedBy is at most 40 characters on one line")
		}
		by += " (" + cb + ")"
	}
	e, err := h.en.Enrol(ctx, account.Request{Name: req.Name, Patient: req.PatientID, Evidence: req.Evidence, IAL: req.IAL, By: by,
		Wards: req.Wards, ReplacePasskeys: req.ReplacePasskeys})
	if err != nil {
		return err
	}
	svg, err := account.SignupQR(e.SignupURL)
	if err != nil {
		return err
	}
	v, err := h.view(ctx, e.Account)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Location", "/v1/enrolments/"+e.Account.ID)
	return c.JSON(http.StatusCreated, EnrolmentCreated{Enrolment: v, Code: e.Code, Expires: e.Expires, SignupURL: e.SignupURL, QRSVG: string(svg)})
}

func wardPatients(ws []account.WardRequest) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.Patient)
	}
	return out
}

// account authenticates the caller, loads the account of the :id path
// parameter and authorizes the caller on its patient (its own record,
// else its first ward).
func (h *Enrolments) account(c *echo.Context) (identity.Account, caller, error) {
	who, err := h.caller(c)
	if err != nil {
		return identity.Account{}, who, err
	}
	ctx := c.Request().Context()
	notFound := &issuer.Error{Code: issuer.CodeNotFound, Msg: "no such enrolment"}
	a, err := h.cfg.Identity.Account(ctx, c.Param("id"))
	if identity.CodeOf(err) == identity.CodeNotFound || (err == nil && a.Role != identity.RolePatient) {
		return a, who, notFound
	}
	if err != nil {
		return a, who, err
	}
	pid := a.Patient
	if pid == "" {
		ws, err := h.cfg.Identity.Wards(ctx, a.ID)
		if err != nil {
			return a, who, err
		}
		if len(ws) == 0 {
			return a, who, notFound // a guardian without wards is reached through the desk's staff tools only
		}
		pid = ws[0].Patient
	}
	return a, who, h.allow(ctx, who, pid)
}

// list is GET /v1/enrolments?patientId=: the patient's account and their
// guardians' accounts.
func (h *Enrolments) list(c *echo.Context) error {
	ctx := c.Request().Context()
	who, err := h.caller(c)
	if err != nil {
		return err
	}
	pid := c.QueryParam("patientId")
	if !issuer.ValidID(pid) {
		return badEnrolment("give ?patientId= (a FHIR id)")
	}
	if err := h.allow(ctx, who, pid); err != nil {
		return err
	}
	out := []EnrolmentView{}
	accts, err := h.cfg.Identity.Guardians(ctx, pid)
	if err != nil {
		return err
	}
	if a, err := h.cfg.Identity.PatientAccount(ctx, pid); err == nil {
		accts = append([]identity.Account{a}, accts...)
	} else if identity.CodeOf(err) != identity.CodeNotFound {
		return err
	}
	for _, a := range accts {
		v, err := h.view(ctx, a)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]any{"enrolments": out})
}

func (h *Enrolments) get(c *echo.Context) error {
	a, _, err := h.account(c)
	if err != nil {
		return err
	}
	v, err := h.view(c.Request().Context(), a)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, v)
}

// do runs an account action after authentication and authorization, and
// answers 204.
func (h *Enrolments) do(c *echo.Context, fn func(ctx context.Context, a identity.Account, who caller) error) error {
	a, who, err := h.account(c)
	if err != nil {
		return err
	}
	if err := fn(c.Request().Context(), a, who); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// revokeCode is DELETE /v1/enrolments/{id}: the open sign-up code is
// withdrawn (the account and its passkeys stay).
func (h *Enrolments) revokeCode(c *echo.Context) error {
	return h.do(c, func(ctx context.Context, a identity.Account, who caller) error {
		return h.en.RevokeCode(ctx, a.ID, who.actor())
	})
}

func (h *Enrolments) revokePasskey(c *echo.Context) error {
	return h.do(c, func(ctx context.Context, a identity.Account, who caller) error {
		return h.en.RevokePasskey(ctx, a.ID, c.Param("passkey"), who.actor())
	})
}

func (h *Enrolments) disable(c *echo.Context) error {
	return h.do(c, func(ctx context.Context, a identity.Account, who caller) error {
		return h.en.Disable(ctx, a.ID, who.actor())
	})
}

// link is POST /v1/enrolments/{id}/wards {"patientId","relationship"}.
func (h *Enrolments) link(c *echo.Context) error {
	a, who, err := h.account(c)
	if err != nil {
		return err
	}
	body, err := readLimited(c, 4<<10)
	if err != nil {
		return err
	}
	var w account.WardRequest
	if err := jsonlite.DecodeExact(body, &w); err != nil {
		return badEnrolment(`body must be {"patientId", "relationship"}`)
	}
	if err := h.allow(c.Request().Context(), who, w.Patient); err != nil {
		return err
	}
	ward, err := h.en.LinkGuardian(c.Request().Context(), a.ID, w, who.actor())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, ward)
}

func (h *Enrolments) unlink(c *echo.Context) error {
	return h.do(c, func(ctx context.Context, a identity.Account, who caller) error {
		if err := h.allow(ctx, who, c.Param("patient")); err != nil {
			return err
		}
		return h.en.UnlinkGuardian(ctx, a.ID, c.Param("patient"), who.actor())
	})
}
