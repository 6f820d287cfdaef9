package shc

import (
	"errors"
	"fmt"

	"github.com/healthcards/healthcards/internal/errfmt"
)

// Code is a stable, machine-readable error code. Codes are part of the
// public contract: they appear in CLI JSON output and HTTP problem documents
// and never change meaning.
type Code string

// Format error codes.
const (
	CodeMalformedInput     Code = "malformed_input"      // input is not a JWS, shc:/ text, file or image
	CodeMalformedQR        Code = "malformed_qr"         // shc:/ text or QR image is not well formed (QR-*)
	CodeChunkMissing       Code = "chunk_missing"        // a chunked card lacks one of its chunks (QR-5/6)
	CodeMalformedJWS       Code = "malformed_jws"        // not a compact JWS, bad base64url, bad header (HDR-1)
	CodeUnsupportedAlg     Code = "unsupported_alg"      // alg other than ES256, or zip other than DEF (HDR-2/3/8)
	CodeBadPayloadEncoding Code = "bad_payload_encoding" // payload is not raw DEFLATE of JSON (HDR-7)
	CodePayloadTooLarge    Code = "payload_too_large"    // JWS or inflated payload over the limit
	CodeBadPayload         Code = "bad_payload"          // claims missing or of the wrong type (PAY-*)
	CodeBadSignature       Code = "bad_signature"        // ES256 signature does not verify (HDR-5)
	CodeQRTooLarge         Code = "qr_too_large"         // card does not fit one version-22 QR (SIZE-1..3)
	CodeBadBundle          Code = "bad_bundle"           // FHIR bundle cannot be minified or is not a Bundle
	CodeBadKey             Code = "bad_key"              // signing key is not a P-256 ECDSA key (KEY-1)
)

// Error is the error type of every failure in this package. Match a kind of
// failure with errors.Is against the sentinels below (ErrBadSignature, ...),
// or read Code directly with CodeOf.
type Error struct {
	Code Code
	Msg  string // human-readable detail, never containing key material
	Err  error  // underlying cause, if any
}

func (e *Error) Error() string { return errfmt.Message("shc", string(e.Code), e.Msg, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// Is makes every *Error with the same Code match its sentinel, and every
// decoding failure match ErrMalformed.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	if t == ErrMalformed {
		return e.Code != CodeBadSignature && e.Code != CodeQRTooLarge && e.Code != CodeBadKey
	}
	return t.Code == e.Code && t.Msg == "" && t.Err == nil
}

// Sentinels, one per code; compare with errors.Is.
var (
	ErrMalformedInput     = &Error{Code: CodeMalformedInput}
	ErrMalformedQR        = &Error{Code: CodeMalformedQR}
	ErrChunkMissing       = &Error{Code: CodeChunkMissing}
	ErrMalformedJWS       = &Error{Code: CodeMalformedJWS}
	ErrUnsupportedAlg     = &Error{Code: CodeUnsupportedAlg}
	ErrBadPayloadEncoding = &Error{Code: CodeBadPayloadEncoding}
	ErrPayloadTooLarge    = &Error{Code: CodePayloadTooLarge}
	ErrBadPayload         = &Error{Code: CodeBadPayload}
	ErrBadSignature       = &Error{Code: CodeBadSignature}
	ErrQRTooLarge         = &Error{Code: CodeQRTooLarge}
	ErrBadBundle          = &Error{Code: CodeBadBundle}
	ErrBadKey             = &Error{Code: CodeBadKey}

	// ErrMalformed matches every failure to decode untrusted input (all codes
	// except bad_signature, qr_too_large and bad_key).
	ErrMalformed = &Error{Code: "malformed"}
)

// CodeOf returns the Code of the first *Error in err's chain, or "" if none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

func wrap(code Code, msg string, err error) *Error {
	return &Error{Code: code, Msg: msg, Err: err}
}
