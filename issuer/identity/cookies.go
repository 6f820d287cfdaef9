package identity

import (
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
)

// Session cookies (__Host-: Secure, Path=/, no Domain; HttpOnly,
// SameSite=Strict). Staff and patients have separate cookies, so a staff
// member and a patient in one browser never share a session, and each
// side refuses the other's accounts anyway.
const (
	// StaffCookie is the front desk's session cookie (issuer/desk).
	StaffCookie = "__Host-shc-desk"
	// PatientCookie is the patient pages' session cookie (issuer/account),
	// also read by the authorization server through PatientSession.
	PatientCookie = "__Host-shc-account"
)

// SessionFrom authenticates the session in r's cookie name
// (unauthenticated without one).
func (s *Service) SessionFrom(r *http.Request, name string) (*Session, error) {
	ck, err := r.Cookie(name)
	if err != nil || ck.Value == "" {
		return nil, errf(CodeUnauthenticated, "sign in first")
	}
	return s.Authenticate(r.Context(), ck.Value)
}

// PatientSession returns the signed-in patient of r (PatientCookie). A
// staff account's session is forbidden: staff are not patients on this
// site. Errors: unauthenticated, session_expired, account_disabled,
// forbidden.
func (s *Service) PatientSession(r *http.Request) (*Session, error) {
	ses, err := s.SessionFrom(r, PatientCookie)
	if err != nil {
		return nil, err
	}
	if ses.Account.Role != RolePatient {
		return nil, errf(CodeForbidden, "this is not a patient account")
	}
	return ses, nil
}

// StaffSession returns the signed-in staff member of r (StaffCookie); a
// patient account's session is forbidden.
func (s *Service) StaffSession(r *http.Request) (*Session, error) {
	ses, err := s.SessionFrom(r, StaffCookie)
	if err != nil {
		return nil, err
	}
	if !ses.Account.Role.Valid() {
		return nil, errf(CodeForbidden, "this is not a staff account")
	}
	return ses, nil
}

// SetCookie sets the session cookie name for ses; it lives as long as the
// absolute timeout.
func (s *Service) SetCookie(w http.ResponseWriter, name string, ses *Session) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: ses.Token(), Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(s.cfg.AbsoluteTimeout.Seconds())})
}

// ClearCookie removes the cookie name.
func ClearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// CheckOrigin refuses (CodeCSRF) a request whose Origin header is missing
// or is not origin, the site's own scheme://host: the desk and the patient
// pages call it on every POST, before the session's CSRF token.
func CheckOrigin(r *http.Request, origin string) error {
	if r.Header.Get("Origin") != origin {
		return errf(CodeCSRF, "this request did not come from this site's own pages")
	}
	return nil
}

// SetCeremonyCookie keeps a passkey ceremony's id (from BeginSignIn or
// BeginEnrolFor) in the cookie name for five minutes, until the finish
// request.
func SetCeremonyCookie(w http.ResponseWriter, name, id string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: id, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: 300})
}

// TakeCeremonyCookie returns the ceremony id in r's cookie name ("" without
// one) and clears the cookie: an id is used once.
func TakeCeremonyCookie(w http.ResponseWriter, r *http.Request, name string) string {
	ck, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	ClearCookie(w, name)
	return ck.Value
}

// ClientKey is what enrolment-code attempts are counted by: r's client
// address (Config.ClientIP), without the port. Behind a reverse proxy,
// Config.ClientIP must read the proxy's X-Forwarded-For, or every client
// shares the proxy's key (and its limit).
func (s *Service) ClientKey(r *http.Request) string {
	if s.cfg.ClientIP != nil {
		return s.cfg.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ErrorJSON is the passkey endpoints' answer to err: an HTTP status (429
// rate limited; 403 CSRF, disabled or forbidden; 500 internal; else 400)
// and the body {"code","message"}. An error without a code, or an
// internal one, is answered with a generic message: its text never
// leaves the server.
func ErrorJSON(err error) (int, map[string]string) {
	code := CodeOf(err)
	status := map[Code]int{CodeRateLimited: 429, CodeCSRF: 403, CodeAccountDisabled: 403, CodeForbidden: 403, CodeInternal: 500}[code]
	if status == 0 {
		status = 400
	}
	msg := "the service failed; try again"
	var e *Error
	if errors.As(err, &e) && code != CodeInternal && code != "" {
		msg = e.Msg
	} else {
		code = CodeInternal
	}
	return status, map[string]string{"code": string(code), "message": msg}
}

// PageNonce is a fresh CSP nonce for one page's inline <style> and
// <script>.
func PageNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// SetPageHeaders sets the headers of a passkey page (the desk's, the
// patient pages'): a CSP that allows inline style and script by nonce
// only, no caching, and Referrer-Policy same-origin, not no-referrer: with
// no-referrer browsers send "Origin: null" on form POSTs, which
// CheckOrigin refuses. Nothing leaves the site either way.
func SetPageHeaders(h http.Header, nonce string) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; script-src 'nonce-"+nonce+"'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "same-origin")
}

func b64dec(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// PasskeyScript is the browser side of the passkey ceremonies, for an
// inline <script> with the page's CSP nonce: post(url, body), say(text)
// (into the element with id "status"), passkeyRegister(begin, finish,
// body) and passkeySignIn(begin, finish), each resolving to the finish
// endpoint's JSON answer. The desk and the patient pages share it.
//
//go:embed passkey.js
var PasskeyScript string
