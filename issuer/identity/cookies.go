package identity

import (
	_ "embed"
	"encoding/base64"
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

func b64dec(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// PasskeyScript is the browser side of the passkey ceremonies, for an
// inline <script> with the page's CSP nonce: post(url, body), say(text)
// (into the element with id "status"), passkeyRegister(begin, finish,
// body) and passkeySignIn(begin, finish), each resolving to the finish
// endpoint's JSON answer. The desk and the patient pages share it.
//
//go:embed passkey.js
var PasskeyScript string
