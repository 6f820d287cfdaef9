package did

import (
	"github.com/healthcards/healthcards/errcode"
)

// Code is a stable, machine-readable error code.
type Code = errcode.Code

// Error codes returned by this package.
const (
	CodeMalformedDID      Code = "malformed_did"          // not a well-formed did:key / did:web DID
	CodeUnsupportedMethod Code = "unsupported_did_method" // a DID method other than key and web
	CodeUnsupportedKey         = errcode.UnsupportedKey   // did:key of a key type other than P-256
	CodeNotFound          Code = "did_not_found"          // the did:web document does not exist (404/410)
	CodeMismatch          Code = "did_mismatch"           // the document's id is not the DID resolved
	CodeMalformedDocument Code = "malformed_document"     // the DID document is not valid
	CodeTooLarge               = errcode.TooLarge         // a size or count bound was exceeded
	CodeFetch                  = errcode.FetchFailed      // the did:web document could not be fetched
)

// Error is the error type of this package: the module's one coded error
// shape ([errcode.Error]). Match a code with errors.Is against the Err*
// sentinels below, or read it with CodeOf.
type Error = errcode.Error

// pkg prefixes this package's error messages.
const pkg = "did"

// Sentinels for errors.Is.
var (
	ErrMalformedDID      = errcode.Sentinel(pkg, CodeMalformedDID)
	ErrUnsupportedMethod = errcode.Sentinel(pkg, CodeUnsupportedMethod)
	ErrUnsupportedKey    = errcode.Sentinel(pkg, CodeUnsupportedKey)
	ErrNotFound          = errcode.Sentinel(pkg, CodeNotFound)
	ErrMismatch          = errcode.Sentinel(pkg, CodeMismatch)
	ErrMalformedDocument = errcode.Sentinel(pkg, CodeMalformedDocument)
	ErrTooLarge          = errcode.Sentinel(pkg, CodeTooLarge)
	ErrFetch             = errcode.Sentinel(pkg, CodeFetch)
)

// CodeOf returns the Code of the first *Error in err's chain, or "".
func CodeOf(err error) Code { return errcode.CodeOf(err) }

func newErr(code Code, msg string, cause error) error {
	return &Error{Pkg: pkg, Code: code, Msg: msg, Err: cause}
}
