package account

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/identity"
)

// AppsPath is the connected-apps page (served by the authorization
// server, issuer/oauth, on the same site); the home page links to it.
const AppsPath = "/account/apps"

const ceremonyCookie = "__Host-shc-account-ceremony"

// Config configures the patient pages. Identity and BaseURL are required.
type Config struct {
	Identity *identity.Service
	// Issuer, if set, gives the birth date shown on the home page (from
	// the person's Patient resource).
	Issuer *issuer.Issuer
	// BaseURL is the service's public https base (no trailing slash); POSTs
	// must come from its origin.
	BaseURL string
	// SiteName is shown in the header; "" means the BaseURL host.
	SiteName string
	// Logger gets one line per sign-in or refusal, without PHI; nil
	// discards.
	Logger *slog.Logger
}

// Pages serves the patient's own pages (see the package documentation).
type Pages struct {
	cfg    Config
	origin string
	log    *slog.Logger
}

// New checks cfg.
func New(cfg Config) (*Pages, error) {
	if cfg.Identity == nil {
		return nil, errors.New("account: Config.Identity is required")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || strings.HasSuffix(cfg.BaseURL, "/") {
		return nil, errors.New("account: Config.BaseURL must be an https URL without trailing slash")
	}
	if cfg.SiteName == "" {
		cfg.SiteName = u.Hostname()
	}
	p := &Pages{cfg: cfg, origin: u.Scheme + "://" + u.Host, log: cfg.Logger}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

// Mount registers the routes.
func (p *Pages) Mount(e *echo.Echo) {
	e.GET("/account/", p.home)
	e.GET("/account", func(c *echo.Context) error { return c.Redirect(http.StatusSeeOther, "/account/") })
	e.GET(SignupPath, p.signupPage)
	e.POST(SignupPath+"/begin", p.signupBegin)
	e.POST(SignupPath+"/finish", p.signupFinish)
	e.GET("/account/signin", p.signinPage)
	e.POST("/account/signin/begin", p.signinBegin)
	e.POST("/account/signin/finish", p.signinFinish)
	e.POST("/account/signout", p.signout)
}

// render writes a page with its own CSP (inline style and script by
// nonce only).
func (p *Pages) render(c *echo.Context, status int, name string, data map[string]any) error {
	n := identity.PageNonce()
	data["Nonce"] = n
	data["Site"] = p.cfg.SiteName
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		return err
	}
	identity.SetPageHeaders(c.Response().Header(), n)
	return c.HTMLBlob(status, buf.Bytes())
}

// jsonErr answers the passkey endpoints' errors (identity.ErrorJSON),
// with Retry-After when rate limited.
func jsonErr(c *echo.Context, err error) error {
	status, body := identity.ErrorJSON(err)
	if status == http.StatusTooManyRequests {
		c.Response().Header().Set("Retry-After", "60")
	}
	return c.JSON(status, body)
}

func (p *Pages) signupPage(c *echo.Context) error {
	return p.render(c, http.StatusOK, "signup", map[string]any{"Title": "Set up your account"})
}

func (p *Pages) signupBegin(c *echo.Context) error {
	if err := identity.CheckOrigin(c.Request(), p.origin); err != nil {
		return jsonErr(c, err)
	}
	var req struct {
		Code string `json:"code"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 1024)).Decode(&req); err != nil {
		return jsonErr(c, &identity.Error{Pkg: "issuer", Code: identity.CodeInvalidCode, Msg: "send {\"code\": \"…\"}"})
	}
	opts, id, err := p.cfg.Identity.BeginEnrolFor(c.Request().Context(), identity.PatientsOnly, req.Code, p.cfg.Identity.ClientKey(c.Request()))
	if err != nil {
		p.log.Info("account: sign-up code refused", "error", string(identity.CodeOf(err)))
		return jsonErr(c, err)
	}
	identity.SetCeremonyCookie(c.Response(), ceremonyCookie, id)
	return c.JSON(http.StatusOK, opts)
}

func (p *Pages) signupFinish(c *echo.Context) error {
	return p.finish(c, "/account/?welcome=1", p.cfg.Identity.FinishEnrol)
}

// finish completes a ceremony: the session must be a patient's (a staff
// passkey is signed out again and refused), then the cookie is set and
// the page goes to next.
func (p *Pages) finish(c *echo.Context, next string, fn func(context.Context, string, *http.Request) (*identity.Session, error)) error {
	if err := identity.CheckOrigin(c.Request(), p.origin); err != nil {
		return jsonErr(c, err)
	}
	c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, 64<<10)
	ses, err := fn(c.Request().Context(), identity.TakeCeremonyCookie(c.Response(), c.Request(), ceremonyCookie), c.Request())
	if err != nil {
		p.log.Info("account: passkey refused", "route", c.Path(), "error", string(identity.CodeOf(err)))
		return jsonErr(c, err)
	}
	if ses.Account.Role != identity.RolePatient {
		_ = p.cfg.Identity.SignOut(c.Request().Context(), ses.Token())
		p.log.Info("account: staff passkey refused", "account", ses.Account.ID)
		return jsonErr(c, &identity.Error{Pkg: "issuer", Code: identity.CodeForbidden, Msg: "this is a staff passkey; staff sign in at /desk/signin"})
	}
	p.cfg.Identity.SetCookie(c.Response(), identity.PatientCookie, ses)
	p.log.Info("account: signed in", "account", ses.Account.ID)
	return c.JSON(http.StatusOK, map[string]string{"next": next})
}

// next is the validated ?next= of a request, or /account/.
func next(c *echo.Context) string {
	if n := c.QueryParam("next"); SafeNext(n) {
		return n
	}
	return "/account/"
}

func (p *Pages) signinPage(c *echo.Context) error {
	n := next(c)
	if _, err := p.cfg.Identity.PatientSession(c.Request()); err == nil {
		return c.Redirect(http.StatusSeeOther, n) // already signed in
	}
	msg := map[string]string{"session_expired": "Your session has ended. Sign in again.", "account_disabled": "This account is disabled. Ask the lab's front desk.",
		"forbidden": "That was not a patient account."}[c.QueryParam("why")]
	return p.render(c, http.StatusOK, "signin", map[string]any{"Title": "Sign in", "Message": msg,
		"Finish": "/account/signin/finish?next=" + url.QueryEscape(n)})
}

func (p *Pages) signinBegin(c *echo.Context) error {
	if err := identity.CheckOrigin(c.Request(), p.origin); err != nil {
		return jsonErr(c, err)
	}
	opts, id, err := p.cfg.Identity.BeginSignIn(c.Request().Context())
	if err != nil {
		return jsonErr(c, err)
	}
	identity.SetCeremonyCookie(c.Response(), ceremonyCookie, id)
	return c.JSON(http.StatusOK, opts)
}

func (p *Pages) signinFinish(c *echo.Context) error {
	return p.finish(c, next(c), p.cfg.Identity.FinishSignIn)
}

// session is the signed-in patient, or a redirect to sign in (a staff
// session gets a refusal page: staff are not patients here).
func (p *Pages) session(c *echo.Context) (*identity.Session, error) {
	ses, err := p.cfg.Identity.PatientSession(c.Request())
	if err == nil {
		return ses, nil
	}
	code := identity.CodeOf(err)
	if code == identity.CodeInternal {
		return nil, err
	}
	if code == identity.CodeForbidden {
		return nil, p.render(c, http.StatusForbidden, "message", map[string]any{"Title": "Not a patient account",
			"Message": "You are signed in with a staff account. Staff use the front desk; patients sign in with their own passkey."})
	}
	identity.ClearCookie(c.Response(), identity.PatientCookie)
	q := "/account/signin?next=" + url.QueryEscape(c.Request().URL.RequestURI())
	if code == identity.CodeSessionExpired || code == identity.CodeAccountDisabled {
		q += "&why=" + string(code)
	}
	return nil, c.Redirect(http.StatusSeeOther, q)
}

func (p *Pages) home(c *echo.Context) error {
	ses, err := p.session(c)
	if ses == nil {
		return err
	}
	ctx := c.Request().Context()
	wards, err := p.cfg.Identity.Wards(ctx, ses.Account.ID)
	if err != nil {
		return err
	}
	birth := ""
	if p.cfg.Issuer != nil && ses.Account.Patient != "" {
		if raw, err := p.cfg.Issuer.Store().Patient(ctx, ses.Account.Patient); err == nil {
			var pt struct {
				BirthDate string `json:"birthDate"`
			}
			_ = json.Unmarshal(raw, &pt)
			birth = pt.BirthDate
		}
	}
	return p.render(c, http.StatusOK, "home", map[string]any{"Title": "Your account", "Session": ses, "Wards": wards, "BirthDate": birth,
		"IAL": strings.TrimPrefix(ses.Account.IAL, identity.IALSystem+"/"), "Evidence": evidenceLabel(ses.Account.Evidence),
		"Apps": AppsPath, "Welcome": c.QueryParam("welcome") == "1"})
}

// evidenceLabel says a document kind in words.
func evidenceLabel(kind string) string {
	return map[string]string{"passport": "passport", "national-id": "national identity card", "driving-licence": "driving licence",
		"residence-permit": "residence permit"}[kind]
}

func (p *Pages) signout(c *echo.Context) error {
	if err := identity.CheckOrigin(c.Request(), p.origin); err != nil {
		return p.render(c, http.StatusForbidden, "message", map[string]any{"Title": "Refused", "Message": err.Error()})
	}
	c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, 4<<10)
	ses, err := p.cfg.Identity.PatientSession(c.Request())
	if err != nil {
		identity.ClearCookie(c.Response(), identity.PatientCookie)
		return c.Redirect(http.StatusSeeOther, "/account/signin")
	}
	if err := identity.CheckCSRF(ses, c.Request().PostFormValue("csrf")); err != nil {
		return p.render(c, http.StatusForbidden, "message", map[string]any{"Session": ses, "Title": "Refused", "Message": err.Error()})
	}
	_ = p.cfg.Identity.SignOut(c.Request().Context(), ses.Token())
	identity.ClearCookie(c.Response(), identity.PatientCookie)
	return c.Redirect(http.StatusSeeOther, "/account/signin")
}
