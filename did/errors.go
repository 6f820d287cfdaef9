package did

import (
	"errors"

	"github.com/healthcards/healthcards/internal/errfmt"
)

// Code is a stable, machine-readable error code.
type Code string

// Error codes returned by this package.
const (
	CodeMalformedDID      Code = "malformed_did"          // not a well-formed did:key / did:web DID
	CodeUnsupportedMethod Code = "unsupported_did_method" // a DID method other than key and web
	CodeUnsupportedKey    Code = "unsupported_key"        // did:key of a key type other than P-256
	CodeNotFound          Code = "did_not_found"          // the did:web document does not exist (404/410)
	CodeMismatch          Code = "did_mismatch"           // the document's id is not the DID resolved
	CodeMalformedDocument Code = "malformed_document"     // the DID document is not valid
	CodeTooLarge          Code = "too_large"              // a size or count bound was exceeded
	CodeFetch             Code = "fetch_failed"           // the did:web document could not be fetched
)

// Error is the error type of this package; match codes with errors.Is
// against the Err* sentinels, or with CodeOf.
type Error struct {
	Code Code
	Msg  string
	Err  error // optional cause
}

func (e *Error) Error() string { return errfmt.Message("did", string(e.Code), e.Msg, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// Is matches any *Error with the same Code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrMalformedDID      = &Error{Code: CodeMalformedDID}
	ErrUnsupportedMethod = &Error{Code: CodeUnsupportedMethod}
	ErrUnsupportedKey    = &Error{Code: CodeUnsupportedKey}
	ErrNotFound          = &Error{Code: CodeNotFound}
	ErrMismatch          = &Error{Code: CodeMismatch}
	ErrMalformedDocument = &Error{Code: CodeMalformedDocument}
	ErrTooLarge          = &Error{Code: CodeTooLarge}
	ErrFetch             = &Error{Code: CodeFetch}
)

// CodeOf returns the Code of the first *Error in err's chain, or "".
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func newErr(code Code, msg string, cause error) error {
	return &Error{Code: code, Msg: msg, Err: cause}
}
