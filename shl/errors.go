package shl

import (
	"errors"
	"fmt"

	"github.com/healthcards/healthcards/errcode"
)

// Code is a stable, machine-readable error code. Codes never change once
// released; messages may.
type Code = errcode.Code

// Error codes returned by this package (see [Error]).
const (
	CodeMalformedLink      Code = "malformed_link"           // the shlink URI or payload is invalid
	CodeUnsupportedVersion Code = "link_unsupported_version" // payload v is newer than 1 (SHL-8)
	CodeLinkExpired        Code = "link_expired"             // payload exp has passed
	CodeLinkNotFound       Code = "link_not_found"           // server answered 404 (unknown, revoked, expired or locked)
	CodePasscodeRequired   Code = "passcode_required"        // P flag and no passcode given
	CodePasscodeWrong      Code = "passcode_wrong"           // server answered 401; see RemainingAttempts
	CodeDecryptFailed           = errcode.DecryptFailed      // JWE malformed, wrong key, wrong alg/enc, or inflate failed
	CodeMalformedManifest  Code = "malformed_manifest"       // manifest or manifest request is invalid
	CodeFetchFailed             = errcode.FetchFailed        // network, status or size problem while fetching
	CodeTooLarge                = errcode.TooLarge           // a size or count bound was exceeded
	CodeInvalidArgument    Code = "invalid_argument"         // a caller-supplied option is invalid
)

// Error is the error type of this package: the module's one coded error
// shape ([errcode.Error]). Match a code with errors.Is against the sentinels
// below (ErrPasscodeWrong and friends), or read it with [CodeOf]; a
// passcode_wrong error tells the attempts left through [RemainingAttempts].
type Error = errcode.Error

// pkg prefixes this package's error messages.
const pkg = "shl"

// PasscodeAttempts is the cause of a passcode_wrong error (and of
// passcode_required when the server sent a count): the server's
// remainingAttempts (SHL-10).
type PasscodeAttempts struct{ Remaining int }

func (a *PasscodeAttempts) Error() string { return fmt.Sprintf("%d attempts left", a.Remaining) }

// RemainingAttempts returns the passcode attempts the server said are left,
// from a passcode_wrong (or passcode_required) error; -1 when unknown.
func RemainingAttempts(err error) int {
	var a *PasscodeAttempts
	if errors.As(err, &a) {
		return a.Remaining
	}
	return -1
}

// Sentinels for errors.Is; each matches any *Error with the same Code.
var (
	ErrMalformedLink      = errcode.Sentinel(pkg, CodeMalformedLink)
	ErrUnsupportedVersion = errcode.Sentinel(pkg, CodeUnsupportedVersion)
	ErrLinkExpired        = errcode.Sentinel(pkg, CodeLinkExpired)
	ErrLinkNotFound       = errcode.Sentinel(pkg, CodeLinkNotFound)
	ErrPasscodeRequired   = errcode.Sentinel(pkg, CodePasscodeRequired)
	ErrPasscodeWrong      = errcode.Sentinel(pkg, CodePasscodeWrong)
	ErrDecryptFailed      = errcode.Sentinel(pkg, CodeDecryptFailed)
	ErrMalformedManifest  = errcode.Sentinel(pkg, CodeMalformedManifest)
	ErrFetchFailed        = errcode.Sentinel(pkg, CodeFetchFailed)
	ErrTooLarge           = errcode.Sentinel(pkg, CodeTooLarge)
	ErrInvalidArgument    = errcode.Sentinel(pkg, CodeInvalidArgument)
)

// CodeOf returns the Code of the first *Error in err's chain, or "" if none.
func CodeOf(err error) Code { return errcode.CodeOf(err) }

func newErr(code Code, format string, args ...any) *Error {
	return &Error{Pkg: pkg, Code: code, Msg: fmt.Sprintf(format, args...)}
}

func wrapErr(code Code, err error, format string, args ...any) *Error {
	return &Error{Pkg: pkg, Code: code, Msg: fmt.Sprintf(format, args...), Err: err}
}
