package oauth

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Person is someone a signed-in account may act for: the account's own
// patient record, or a ward of a guardian.
type Person struct {
	Patient  string // FHIR Patient id
	FHIRUser string // "Patient/ID" for oneself, "RelatedPerson/ID" for a ward
	Name     string
	Self     bool
}

// Viewer is the signed-in patient account of a request.
type Viewer struct {
	AccountID string
	Name      string
	// CSRF is the session's CSRF token; every form carries it.
	CSRF    string
	Persons []Person
}

// People finds the signed-in patient (issuer/identity sessions, the
// cookie of the patient pages). Viewer returns nil and no error when the
// request has no patient session (then the pages send the person to sign
// in); a staff session is no patient session.
type People interface {
	Viewer(r *http.Request) (*Viewer, error)
}

func (v *Viewer) person(patient string) (Person, bool) {
	for _, p := range v.Persons {
		if p.Patient == patient {
			return p, true
		}
	}
	return Person{}, false
}

// checkForm checks the CSRF token and, when the browser sends one, the
// Origin of a POST.
func (s *Server) checkForm(c *echo.Context, v *Viewer) bool {
	r := c.Request()
	if o := r.Header.Get("Origin"); o != "" && o != s.cfg.BaseURL {
		return false
	}
	got := r.PostForm.Get("csrf")
	return got != "" && v.CSRF != "" && subtle.ConstantTimeCompare([]byte(got), []byte(v.CSRF)) == 1
}

func (s *Server) signIn(c *echo.Context, next string) error {
	return c.Redirect(http.StatusSeeOther, s.cfg.SignInPath+"?next="+url.QueryEscape(next))
}

// consentPage shows the guardian's person picker or the consent form of
// an authorization request.
func (s *Server) consentPage(c *echo.Context) error {
	r := c.Request()
	ctx := r.Context()
	st := &storage{s: s}
	id := r.URL.Query().Get("id")
	a, err := st.request(ctx, id)
	if err != nil {
		if err == errNoRequest {
			return s.errorPage(c, http.StatusBadRequest, "This request has expired or was already answered. Go back to the app and start again.")
		}
		return s.internal(c, err)
	}
	v, err := s.cfg.People.Viewer(r)
	if err != nil {
		return s.internal(c, err)
	}
	if v == nil {
		return s.signIn(c, ConsentPath+"?id="+url.QueryEscape(id))
	}
	// The request belongs to the first account that opens it.
	res, err := s.st.db.ExecContext(ctx, `UPDATE oa_requests SET account_id = ? WHERE id = ? AND (account_id IS NULL OR account_id = ?)`, v.AccountID, id, v.AccountID)
	if err != nil {
		return s.internal(c, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return s.errorPage(c, http.StatusForbidden, "This request was started by someone else. Go back to the app and start again.")
	}
	cl, err := s.st.Client(ctx, a.ClientID)
	if err != nil {
		return s.internal(c, err)
	}
	if len(v.Persons) == 0 {
		return s.errorPage(c, http.StatusForbidden, "Your account is not linked to a patient record yet. Ask the lab's front desk.")
	}
	patient := r.URL.Query().Get("person")
	if patient == "" && len(v.Persons) == 1 {
		patient = v.Persons[0].Patient
	}
	p, ok := v.person(patient)
	if !ok {
		return s.render(c, http.StatusOK, "picker", map[string]any{"Title": "Whose cards?", "App": cl.Name, "ID": id, "Persons": v.Persons, "Viewer": v})
	}
	var ask Ask
	if err := json.Unmarshal(a.Ask, &ask); err != nil {
		return s.internal(c, err)
	}
	// A fresh form token binds this form to this request and view.
	ftok := b64(random(24))
	if _, err := s.st.db.ExecContext(ctx, `UPDATE oa_requests SET form_hash = ? WHERE id = ? AND account_id = ? AND done = 0`, hash(ftok), id, v.AccountID); err != nil {
		return s.internal(c, err)
	}
	prev, err := s.st.activeGrant(ctx, a.ClientID, v.AccountID, p.Patient)
	if err != nil {
		return s.internal(c, err)
	}
	checked := map[string]bool{}
	since, sensitive := ask.Since, false
	for _, ct := range ask.CardTypes {
		checked[ct.URI] = prev == nil || slices.Contains(prev.Consent.CredentialTypes, ct.URI)
	}
	if prev != nil {
		if prev.Consent.Since > since {
			since = prev.Consent.Since
		}
		sensitive = prev.Consent.Sensitive
	}
	return s.render(c, http.StatusOK, "consent", map[string]any{
		"Title": "Allow " + cl.Name + "?", "App": cl.Name, "Client": cl, "ID": id, "Person": p, "Persons": len(v.Persons), "Viewer": v,
		"Ask": ask, "Checked": checked, "Since": since, "Sensitive": sensitive, "Remembered": prev != nil, "FormToken": ftok,
		"Host": redirectHost(a.RedirectURI), "FormAction": redirectSource(a.RedirectURI),
	})
}

// consentSubmit records the person's answer and sends the browser back to
// the app: a code, or access_denied.
func (s *Server) consentSubmit(c *echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxFormBytes)
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		return s.errorPage(c, http.StatusBadRequest, "The form could not be read.")
	}
	v, err := s.cfg.People.Viewer(r)
	if err != nil {
		return s.internal(c, err)
	}
	if v == nil {
		return s.errorPage(c, http.StatusForbidden, "You are signed out. Go back to the app and start again.")
	}
	if !s.checkForm(c, v) {
		return s.errorPage(c, http.StatusForbidden, "This form is out of date or did not come from this site. Go back to the app and start again.")
	}
	st := &storage{s: s}
	id := r.PostForm.Get("id")
	a, err := st.request(ctx, id)
	if err != nil {
		if err == errNoRequest {
			return s.errorPage(c, http.StatusBadRequest, "This request has expired or was already answered. Go back to the app and start again.")
		}
		return s.internal(c, err)
	}
	ftok := r.PostForm.Get("form")
	if a.AccountID != v.AccountID || ftok == "" || a.IsDone {
		return s.errorPage(c, http.StatusForbidden, "This form is out of date or did not come from this site. Go back to the app and start again.")
	}
	octx := op.ContextWithIssuer(ctx, s.cfg.BaseURL)
	if r.PostForm.Get("decision") != "allow" {
		res, err := s.st.db.ExecContext(ctx, `DELETE FROM oa_requests WHERE id = ? AND account_id = ? AND form_hash = ? AND done = 0`, id, v.AccountID, hash(ftok))
		if err != nil {
			return s.internal(c, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return s.errorPage(c, http.StatusForbidden, "This form is out of date or did not come from this site. Go back to the app and start again.")
		}
		op.AuthRequestError(c.Response(), r.WithContext(octx), a, oidc.ErrAccessDenied().WithDescription("the patient did not allow access"), s.provider)
		return nil
	}
	p, ok := v.person(r.PostForm.Get("person"))
	if !ok {
		return s.errorPage(c, http.StatusForbidden, "This form is out of date or did not come from this site. Go back to the app and start again.")
	}
	var ask Ask
	if err := json.Unmarshal(a.Ask, &ask); err != nil {
		return s.internal(c, err)
	}
	consent, ok := ask.narrow(r.PostForm["type"], r.PostForm.Get("since"), r.PostForm.Get("sensitive") == "yes")
	if !ok {
		return s.errorPage(c, http.StatusBadRequest, "The date was not understood. Go back and enter a date such as 2024-01-31.")
	}
	if len(consent.CredentialTypes) == 0 {
		return s.errorPage(c, http.StatusBadRequest, "Choose at least one kind of card, or choose Deny. Go back to change your answer.")
	}
	scopes := consent.NarrowScopes(a.Scopes)
	// The form token is claimed first and the grant written after it, in
	// one transaction: a stale or forged form changes nothing.
	tx, err := s.st.db.BeginTx(ctx, nil)
	if err != nil {
		return s.internal(c, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE oa_requests SET done = 1, patient = ?, fhir_user = ?, auth_us = ?, form_hash = NULL,
		scopes = ? WHERE id = ? AND account_id = ? AND form_hash = ? AND done = 0`, p.Patient, p.FHIRUser, s.st.now().UnixMicro(),
		strings.Join(scopes, " "), id, v.AccountID, hash(ftok))
	if err != nil {
		return s.internal(c, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return s.errorPage(c, http.StatusForbidden, "This form is out of date or did not come from this site. Go back to the app and start again.")
	}
	grantID, err := s.st.putGrantIn(ctx, tx, Grant{ClientID: a.ClientID, AccountID: v.AccountID, Patient: p.Patient, FHIRUser: p.FHIRUser,
		PersonName: p.Name, Scopes: scopes, Consent: consent})
	if err != nil {
		return s.internal(c, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE oa_requests SET grant_id = ? WHERE id = ?`, grantID, id); err != nil {
		return s.internal(c, err)
	}
	if err := tx.Commit(); err != nil {
		return s.internal(c, err)
	}
	if a, err = st.request(ctx, id); err != nil {
		return s.internal(c, err)
	}
	op.AuthResponseCode(c.Response(), r.WithContext(octx), a, s.provider)
	return nil
}

// appsPage lists the apps the person has connected.
func (s *Server) appsPage(c *echo.Context) error {
	r := c.Request()
	v, err := s.cfg.People.Viewer(r)
	if err != nil {
		return s.internal(c, err)
	}
	if v == nil {
		return s.signIn(c, AppsPath)
	}
	gs, err := s.st.Grants(r.Context(), v.AccountID)
	if err != nil {
		return s.internal(c, err)
	}
	return s.render(c, http.StatusOK, "apps", map[string]any{"Title": "Connected apps", "Grants": gs, "Viewer": v,
		"Withdrawn": r.URL.Query().Get("withdrawn") == "1"})
}

// appsWithdraw withdraws one grant: refresh tokens at once, access tokens
// from their next use.
func (s *Server) appsWithdraw(c *echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return s.errorPage(c, http.StatusBadRequest, "The form could not be read.")
	}
	v, err := s.cfg.People.Viewer(r)
	if err != nil {
		return s.internal(c, err)
	}
	if v == nil {
		return s.signIn(c, AppsPath)
	}
	if !s.checkForm(c, v) {
		return s.errorPage(c, http.StatusForbidden, "This form is out of date or did not come from this site. Reload the page and try again.")
	}
	if err := s.st.WithdrawGrant(r.Context(), v.AccountID, r.PostForm.Get("grant")); err != nil {
		if CodeOf(err) == CodeNotFound {
			return s.errorPage(c, http.StatusNotFound, "This app is not connected (any more).")
		}
		return s.internal(c, err)
	}
	return c.Redirect(http.StatusSeeOther, AppsPath+"?withdrawn=1")
}

// redirectSource is the CSP source of the app's (registered) redirect
// URI: the consent form's answer is a redirect there, which form-action
// governs too.
func redirectSource(u string) string {
	p, err := url.Parse(u)
	if err != nil || strings.ContainsAny(u, " ;,'\"") {
		return ""
	}
	if p.Scheme == "http" || p.Scheme == "https" {
		return p.Scheme + "://" + p.Host
	}
	return p.Scheme + ":"
}

func redirectHost(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	if p.Host != "" {
		return p.Host
	}
	return p.Scheme + ":"
}

func (s *Server) errorPage(c *echo.Context, status int, msg string) error {
	return s.render(c, status, "message", map[string]any{"Title": "Cannot continue", "Message": msg})
}

// render writes a page with its own CSP (nonce'd inline style, forms to
// this site only… except the consent form's redirect to the app, which is
// a 302 the CSP does not govern).
func (s *Server) render(c *echo.Context, status int, name string, data map[string]any) error {
	nb := random(16)
	n := base64.StdEncoding.EncodeToString(nb)
	data["Nonce"] = n
	data["Lab"] = s.cfg.Name
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("oauth: page", "err", err.Error())
		return c.String(http.StatusInternalServerError, "internal error")
	}
	h := c.Response().Header()
	formAction := "'self'"
	if fa, _ := data["FormAction"].(string); fa != "" {
		formAction += " " + fa
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+n+"'; img-src 'self' data:; form-action "+formAction+"; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "same-origin")
	return c.HTMLBlob(status, buf.Bytes())
}

var pages = template.Must(template.New("oauth").Funcs(template.FuncMap{
	"date": func(t time.Time) string { return t.Format("2 January 2006") },
	"cardLabel": func(uri string) string {
		for _, ct := range CardTypes {
			if ct.URI == uri {
				return ct.Label
			}
		}
		return uri
	},
	"isWard": func(fhirUser string) bool { return strings.HasPrefix(fhirUser, "RelatedPerson/") },
}).Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · {{.Lab}}</title>
<style nonce="{{.Nonce}}">
:root{--fg:#111;--bg:#fff;--accent:#0b4f9c;--err:#a4000f;--muted:#444}
*{box-sizing:border-box}body{margin:0;font:17px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding:.6rem 1rem;background:#0b2545;color:#fff}
header a{color:#fff}main{max-width:40rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}a{color:var(--accent)}
:focus-visible{outline:3px solid #f5a300;outline-offset:2px}
label{font-weight:600}input[type=date]{font:inherit;width:100%;padding:.55rem;border:2px solid #555;border-radius:4px}
.hint{color:var(--muted);font-size:.95rem}
fieldset{border:1px solid #888;border-radius:6px;margin:1rem 0;padding:.5rem 1rem 1rem}legend{font-weight:700;padding:0 .3rem}
.choice label{display:flex;gap:.6rem;align-items:flex-start;font-weight:400;margin:.5rem 0}.choice input{width:1.3rem;height:1.3rem;margin-top:.2rem;flex:none}
button,.button{font:inherit;font-weight:700;padding:.7rem 1.2rem;border:0;border-radius:6px;background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#333}button.danger{background:var(--err)}
.actions{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.app{font-weight:700}.note{background:#eef4fb;border-left:4px solid var(--accent);padding:.5rem .8rem}
ul.apps{list-style:none;padding:0}ul.apps li{border:1px solid #bbb;border-radius:6px;padding:.6rem 1rem;margin:.8rem 0}
</style></head><body>
<header><strong>{{.Lab}}</strong>{{with .Viewer}}<span>Signed in as {{.Name}}</span>{{end}}</header>
<main id="main">{{end}}

{{define "foot"}}</main></body></html>{{end}}

{{define "message"}}{{template "head" .}}<h1>{{.Title}}</h1><p role="alert">{{.Message}}</p>{{template "foot" .}}{{end}}

{{define "picker"}}{{template "head" .}}<h1>Whose cards should <span class="app">{{.App}}</span> get?</h1>
<form method="get" action="/oauth/consent"><input type="hidden" name="id" value="{{.ID}}">
<fieldset class="choice"><legend>Choose one person</legend>
{{range $i, $p := .Persons}}<label><input type="radio" name="person" value="{{$p.Patient}}" {{if eq $i 0}}checked{{end}}>
<span>{{$p.Name}}{{if $p.Self}} (you){{else}} (you act for them){{end}}</span></label>{{end}}
</fieldset><div class="actions"><button>Continue</button></div></form>{{template "foot" .}}{{end}}

{{define "consent"}}{{template "head" .}}<h1><span class="app">{{.App}}</span> asks for health cards</h1>
<p>The app <strong>{{.App}}</strong> (it will receive the answer at <strong>{{.Host}}</strong>) asks to fetch
{{if .Person.Self}}your{{else}}<strong>{{.Person.Name}}</strong>'s{{end}} SMART Health Cards from {{.Lab}}.
{{if gt .Persons 1}}<a href="/oauth/consent?id={{.ID}}">Choose another person</a>{{end}}</p>
{{if .Remembered}}<p class="note">You allowed this app before; your earlier choices are filled in.</p>{{end}}
<form method="post" action="/oauth/consent">
<input type="hidden" name="csrf" value="{{.Viewer.CSRF}}"><input type="hidden" name="form" value="{{.FormToken}}">
<input type="hidden" name="id" value="{{.ID}}"><input type="hidden" name="person" value="{{.Person.Patient}}">
<fieldset class="choice"><legend>Which cards</legend>
{{range .Ask.CardTypes}}<label><input type="checkbox" name="type" value="{{.URI}}" {{if index $.Checked .URI}}checked{{end}}><span>{{.Label}}</span></label>{{else}}<p>This app asks for no cards this lab issues.</p>{{end}}
</fieldset>
<fieldset><legend>Since when</legend>
<label for="since">Only results from this date on{{if .Ask.Since}} (the app asks from {{.Ask.Since}}){{end}}</label>
<input id="since" name="since" type="date" value="{{.Since}}"{{if .Ask.Since}} min="{{.Ask.Since}}"{{end}}>
<p class="hint">Leave empty for all results{{if .Ask.Since}} since the date the app asks for{{end}}.</p></fieldset>
<fieldset class="choice"><legend>Sensitive results</legend>
<label><input type="checkbox" name="sensitive" value="yes" {{if .Sensitive}}checked{{end}}>
<span>Include sensitive results (for example HIV or mental health). Leave unchecked to keep them out.</span></label></fieldset>
{{if .Ask.Offline}}<p class="hint">The app keeps this access until you withdraw it on the <a href="/account/apps">connected apps</a> page.</p>
{{else}}<p class="hint">The app gets access for a few minutes.</p>{{end}}
<div class="actions"><button name="decision" value="allow">Allow</button><button class="secondary" name="decision" value="deny">Deny</button></div>
</form>{{template "foot" .}}{{end}}

{{define "apps"}}{{template "head" .}}<h1>Connected apps</h1>
{{if .Withdrawn}}<p class="note" role="status">Access withdrawn. The app can no longer fetch cards.</p>{{end}}
{{if .Grants}}<ul class="apps">{{range .Grants}}<li><h2>{{if .ClientName}}{{.ClientName}}{{else}}A removed app{{end}}</h2>
<p>Cards of <strong>{{.PersonName}}</strong>{{if isWard .FHIRUser}} (you act for them){{end}}:
{{range $i, $t := .Consent.CredentialTypes}}{{if $i}}, {{end}}{{cardLabel $t}}{{end}}{{if .Consent.Since}}, results from {{.Consent.Since}}{{end}};
{{if .Consent.Sensitive}}sensitive results included{{else}}sensitive results left out{{end}}.</p>
<p class="hint">Allowed {{date .Created}}{{if ne .Created .Updated}}, last changed {{date .Updated}}{{end}}.</p>
<form method="post" action="/account/apps"><input type="hidden" name="csrf" value="{{$.Viewer.CSRF}}"><input type="hidden" name="grant" value="{{.ID}}">
<button class="danger">Withdraw access</button></form></li>{{end}}</ul>
{{else}}<p>No app can fetch your cards.</p>{{end}}
<p><a href="/account/">Back to your account</a></p>{{template "foot" .}}{{end}}
`))
