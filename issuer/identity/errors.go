package identity

import (
	"fmt"

	"github.com/healthcards/healthcards/errcode"
)

// Code is a stable error code (see the README's error-code table).
type Code = errcode.Code

// Error codes of this package.
const (
	CodeInvalidCode      Code = "invalid_enrolment_code" // unknown, expired, used or revoked code (one answer for all)
	CodePasskeyFailed    Code = "passkey_failed"         // the WebAuthn ceremony failed or timed out
	CodeSessionExpired   Code = "session_expired"        // idle or absolute session timeout reached
	CodeCSRF             Code = "csrf_rejected"          // missing or wrong CSRF token, or a foreign Origin
	CodeAccountDisabled  Code = "account_disabled"       // the account may not sign in
	CodeInvalidAccount   Code = "invalid_account"        // a bad name or role when adding an account
	CodeInvalidEnrolment Code = "invalid_enrolment"      // a patient enrolment or ward link that is not well-formed
	CodeUnauthenticated       = errcode.Unauthenticated  // no session
	CodeForbidden             = errcode.Forbidden        // the role does not allow the action
	CodeRateLimited           = errcode.RateLimited      // too many code attempts
	CodeNotFound              = errcode.NotFound         // no such account
	CodeInternal              = errcode.Internal         // store failure
)

// Error is the module's coded error shape.
type Error = errcode.Error

const pkg = "identity"

// Sentinels for errors.Is.
var (
	ErrInvalidCode      = errcode.Sentinel(pkg, CodeInvalidCode)
	ErrPasskeyFailed    = errcode.Sentinel(pkg, CodePasskeyFailed)
	ErrSessionExpired   = errcode.Sentinel(pkg, CodeSessionExpired)
	ErrCSRF             = errcode.Sentinel(pkg, CodeCSRF)
	ErrAccountDisabled  = errcode.Sentinel(pkg, CodeAccountDisabled)
	ErrInvalidEnrolment = errcode.Sentinel(pkg, CodeInvalidEnrolment)
	ErrUnauthenticated  = errcode.Sentinel(pkg, CodeUnauthenticated)
	ErrForbidden        = errcode.Sentinel(pkg, CodeForbidden)
	ErrRateLimited      = errcode.Sentinel(pkg, CodeRateLimited)
)

func errf(code Code, format string, a ...any) error {
	return &Error{Pkg: pkg, Code: code, Msg: fmt.Sprintf(format, a...)}
}

func wrap(code Code, msg string, err error) error {
	return &Error{Pkg: pkg, Code: code, Msg: msg, Err: err}
}

// CodeOf returns err's code, or "".
func CodeOf(err error) Code { return errcode.CodeOf(err) }
