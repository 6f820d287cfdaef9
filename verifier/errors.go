package verifier

import (
	"errors"
	"fmt"

	"github.com/healthcards/healthcards/errcode"
	"github.com/healthcards/healthcards/shc"
)

// Code is a stable, machine-readable error code. It is the same type as
// shc.Code, so the format codes of package shc keep their values here and
// callers can switch on one set of constants. Codes never change meaning.
type Code = errcode.Code

// Format codes, re-exported from package shc with the same values.
const (
	CodeMalformedInput     = shc.CodeMalformedInput
	CodeMalformedQR        = shc.CodeMalformedQR
	CodeNoQRFound          = shc.CodeNoQRFound     // from an ImageDecoder such as qr.DecodeImage
	CodeImageTooLarge      = shc.CodeImageTooLarge // from an ImageDecoder such as qr.DecodeImage
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
	CodeKeyNotFound = errcode.KeyNotFound
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
	// CodeImageUnsupported: the input is an image (PNG, JPEG or SVG) but
	// the verifier has no image decoder (WithImageDecoder).
	CodeImageUnsupported Code = "image_unsupported"
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

// Error is the error type of every verification failure: the module's one
// coded error shape ([errcode.Error]). Code is stable; Step names the
// pipeline step that failed; Err is the underlying cause (a format error of
// package shc, for example). Match with errors.Is against the Err* sentinels
// (or the shc sentinels for format codes: they are the same type and follow
// the same rule), or read the code with CodeOf.
type Error = errcode.Error

// pkg prefixes this package's error messages.
const pkg = "verifier"

// Sentinels for errors.Is, one per code added by this package.
var (
	ErrUntrustedIssuer       = errcode.Sentinel(pkg, CodeUntrustedIssuer)
	ErrKeyNotFound           = errcode.Sentinel(pkg, CodeKeyNotFound)
	ErrNotYetValid           = errcode.Sentinel(pkg, CodeNotYetValid)
	ErrExpired               = errcode.Sentinel(pkg, CodeExpired)
	ErrRevoked               = errcode.Sentinel(pkg, CodeRevoked)
	ErrRevocationUnavailable = errcode.Sentinel(pkg, CodeRevocationUnavailable)
	ErrIssuerUnreachable     = errcode.Sentinel(pkg, CodeIssuerUnreachable)
	ErrImageUnsupported      = errcode.Sentinel(pkg, CodeImageUnsupported)
	ErrConfig                = errcode.Sentinel(pkg, CodeConfig)
)

// CodeOf returns the Code of the first *Error in err\'s chain, or "" if none.
func CodeOf(err error) Code { return errcode.CodeOf(err) }

func newErr(code Code, step string, format string, args ...any) *Error {
	return &Error{Pkg: pkg, Code: code, Step: step, Err: fmt.Errorf(format, args...)}
}

func wrapErr(code Code, step string, err error) *Error {
	return &Error{Pkg: pkg, Code: code, Step: step, Err: err}
}

// asError turns any error into an *Error, keeping shc codes.
func asError(step string, err error) *Error {
	var e *Error
	if errors.As(err, &e) && e.Pkg == pkg {
		return e
	}
	code := CodeOf(err)
	if code == "" {
		code = CodeMalformedInput
	}
	return &Error{Pkg: pkg, Code: code, Step: step, Err: err}
}
