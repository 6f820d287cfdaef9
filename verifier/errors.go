package verifier

import (
	"errors"
	"fmt"

	"github.com/healthcards/healthcards/shc"
)

// Code is a stable, machine-readable error code. It is the same type as
// shc.Code, so the format codes of package shc keep their values here and
// callers can switch on one set of constants. Codes never change meaning.
type Code = shc.Code

// Format codes, re-exported from package shc with the same values.
const (
	CodeMalformedInput     = shc.CodeMalformedInput
	CodeMalformedQR        = shc.CodeMalformedQR
	CodeChunkMissing       = shc.CodeChunkMissing
	CodeMalformedJWS       = shc.CodeMalformedJWS
	CodeUnsupportedAlg     = shc.CodeUnsupportedAlg
	CodeBadPayloadEncoding = shc.CodeBadPayloadEncoding
	CodePayloadTooLarge    = shc.CodePayloadTooLarge
	CodeBadPayload         = shc.CodeBadPayload
	CodeBadSignature       = shc.CodeBadSignature
)

// Trust, key, time and revocation codes added by this package.
const (
	// CodeUntrustedIssuer: iss is in no configured trust source.
	CodeUntrustedIssuer Code = "untrusted_issuer"
	// CodeKeyNotFound: the issuer has no usable ES256 signing key with the
	// header kid (KEY-5, KEY-10), or the key's thumbprint is not the kid.
	CodeKeyNotFound Code = "key_not_found"
	// CodeNotYetValid: nbf is later than now plus the leeway.
	CodeNotYetValid Code = "not_yet_valid"
	// CodeExpired: exp is before now (PAY-3).
	CodeExpired Code = "expired"
	// CodeRevoked: the card's rid is on the issuer's revocation list (REV-8).
	CodeRevoked Code = "revoked"
	// CodeRevocationUnavailable: the key has crlVersion but its revocation
	// list could not be obtained, and the policy is to fail closed (REV-10).
	CodeRevocationUnavailable Code = "revocation_unavailable"
	// CodeIssuerUnreachable: the issuer's key set or DID document could not
	// be fetched (network error, timeout, size cap, refused address,
	// redirect to another host, bad status, unparseable body).
	CodeIssuerUnreachable Code = "issuer_unreachable"
	// CodeConfig: New was given a missing or contradictory configuration.
	CodeConfig Code = "bad_config"
)

// Steps of the verification pipeline, as reported in Error.Step and
// Check.Name.
const (
	StepDecode     = "decode"     // input form → JWS (QR-*, FILE-*, OP-10)
	StepParse      = "parse"      // JWS structure and claims (HDR-*, PAY-*)
	StepTrust      = "trust"      // issuer trust policy (TRUST-*)
	StepKey        = "key"        // key resolution by (iss, kid) (KEY-*)
	StepSignature  = "signature"  // ES256 signature (HDR-5)
	StepTime       = "time"       // nbf / exp (PAY-2, PAY-3)
	StepRevocation = "revocation" // CRL (REV-*)
	StepConfig     = "config"     // New
)

// Error is the error type of every verification failure. Code is stable;
// Step names the pipeline step that failed; Err is the underlying cause (a
// *shc.Error for format failures). Match with errors.Is against the Err*
// sentinels (or the shc sentinels for format codes), or read Code.
type Error struct {
	Code Code
	Step string
	Err  error
}

func (e *Error) Error() string {
	s := "verifier: " + string(e.Code)
	if e.Step != "" {
		s += " (" + e.Step + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes every *Error match the sentinel with its Code, and the shc
// sentinel with its Code (for format failures).
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case *Error:
		return t.Code == e.Code && t.Step == "" && t.Err == nil
	case *shc.Error:
		if t == shc.ErrMalformed {
			return false // the cause chain answers that
		}
		return t.Code == e.Code && t.Msg == "" && t.Err == nil
	}
	return false
}

// Sentinels for errors.Is, one per code added by this package.
var (
	ErrUntrustedIssuer       = &Error{Code: CodeUntrustedIssuer}
	ErrKeyNotFound           = &Error{Code: CodeKeyNotFound}
	ErrNotYetValid           = &Error{Code: CodeNotYetValid}
	ErrExpired               = &Error{Code: CodeExpired}
	ErrRevoked               = &Error{Code: CodeRevoked}
	ErrRevocationUnavailable = &Error{Code: CodeRevocationUnavailable}
	ErrIssuerUnreachable     = &Error{Code: CodeIssuerUnreachable}
	ErrConfig                = &Error{Code: CodeConfig}
)

// CodeOf returns the Code of the first *Error or *shc.Error in err's chain,
// or "" if there is none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return shc.CodeOf(err)
}

func newErr(code Code, step string, format string, args ...any) *Error {
	return &Error{Code: code, Step: step, Err: fmt.Errorf(format, args...)}
}

func wrapErr(code Code, step string, err error) *Error {
	return &Error{Code: code, Step: step, Err: err}
}

// asError turns any error into an *Error, keeping shc codes.
func asError(step string, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	code := shc.CodeOf(err)
	if code == "" {
		code = CodeMalformedInput
	}
	return &Error{Code: code, Step: step, Err: err}
}
