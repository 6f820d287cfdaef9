package shl

import (
	"errors"
	"fmt"

	"github.com/healthcards/healthcards/internal/errfmt"
)

// Code is a stable, machine-readable error code. Codes never change once
// released; messages may.
type Code string

// Error codes returned by this package (see [Error]).
const (
	CodeMalformedLink      Code = "malformed_link"           // the shlink URI or payload is invalid
	CodeUnsupportedVersion Code = "link_unsupported_version" // payload v is newer than 1 (SHL-8)
	CodeLinkExpired        Code = "link_expired"             // payload exp has passed
	CodeLinkNotFound       Code = "link_not_found"           // server answered 404 (unknown, revoked, expired or locked)
	CodePasscodeRequired   Code = "passcode_required"        // P flag and no passcode given
	CodePasscodeWrong      Code = "passcode_wrong"           // server answered 401; see Error.RemainingAttempts
	CodeDecryptFailed      Code = "decrypt_failed"           // JWE malformed, wrong key, wrong alg/enc, or inflate failed
	CodeMalformedManifest  Code = "malformed_manifest"       // manifest or manifest request is invalid
	CodeFetchFailed        Code = "fetch_failed"             // network, status or size problem while fetching
	CodeTooLarge           Code = "too_large"                // a size or count bound was exceeded
	CodeInvalidArgument    Code = "invalid_argument"         // a caller-supplied option is invalid
)

// Error is the error type of this package. Match it with errors.As, or
// match its code with errors.Is against the sentinels below (ErrPasscodeWrong
// and friends), or read it with [CodeOf].
type Error struct {
	Code Code
	Msg  string
	// RemainingAttempts is the server's remainingAttempts for
	// CodePasscodeWrong (and CodePasscodeRequired when the server sent it);
	// -1 when unknown.
	RemainingAttempts int
	Err               error
}

func (e *Error) Error() string { return errfmt.Message("shl", string(e.Code), e.Msg, e.Err) }

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same Code, so
// errors.Is(err, shl.ErrPasscodeWrong) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is; each matches any *Error with the same Code.
var (
	ErrMalformedLink      = &Error{Code: CodeMalformedLink}
	ErrUnsupportedVersion = &Error{Code: CodeUnsupportedVersion}
	ErrLinkExpired        = &Error{Code: CodeLinkExpired}
	ErrLinkNotFound       = &Error{Code: CodeLinkNotFound}
	ErrPasscodeRequired   = &Error{Code: CodePasscodeRequired}
	ErrPasscodeWrong      = &Error{Code: CodePasscodeWrong}
	ErrDecryptFailed      = &Error{Code: CodeDecryptFailed}
	ErrMalformedManifest  = &Error{Code: CodeMalformedManifest}
	ErrFetchFailed        = &Error{Code: CodeFetchFailed}
	ErrTooLarge           = &Error{Code: CodeTooLarge}
	ErrInvalidArgument    = &Error{Code: CodeInvalidArgument}
)

// CodeOf returns the Code of the first *Error in err's chain, or "" if none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func newErr(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), RemainingAttempts: -1}
}

func wrapErr(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), RemainingAttempts: -1, Err: err}
}
