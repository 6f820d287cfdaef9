package shc

import (
	"fmt"

	"github.com/healthcards/healthcards/errcode"
)

// Code is a stable, machine-readable error code. Codes are part of the
// public contract: they appear in CLI JSON output and HTTP problem documents
// and never change meaning.
type Code = errcode.Code

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
	// Image codes, raised by the QR image decoder of package shc/qr and
	// defined here so that a text-only program (the verifier library) can
	// name them without linking image code.
	CodeNoQRFound     Code = "no_qr_found"     // no readable QR code in the image
	CodeImageTooLarge Code = "image_too_large" // image over its byte, pixel or decoded-size budget
)

// Error is the error type of every failure in this package: the module's one
// coded error shape ([errcode.Error]). Match a kind of failure with errors.Is
// against the sentinels below (ErrBadSignature, ...), or read the code with
// CodeOf; IsMalformed tells decoding failures of untrusted input apart.
type Error = errcode.Error

// pkg prefixes this package's error messages.
const pkg = "shc"

// Sentinels, one per code; compare with errors.Is.
var (
	ErrMalformedInput     = errcode.Sentinel(pkg, CodeMalformedInput)
	ErrMalformedQR        = errcode.Sentinel(pkg, CodeMalformedQR)
	ErrChunkMissing       = errcode.Sentinel(pkg, CodeChunkMissing)
	ErrMalformedJWS       = errcode.Sentinel(pkg, CodeMalformedJWS)
	ErrUnsupportedAlg     = errcode.Sentinel(pkg, CodeUnsupportedAlg)
	ErrBadPayloadEncoding = errcode.Sentinel(pkg, CodeBadPayloadEncoding)
	ErrPayloadTooLarge    = errcode.Sentinel(pkg, CodePayloadTooLarge)
	ErrBadPayload         = errcode.Sentinel(pkg, CodeBadPayload)
	ErrBadSignature       = errcode.Sentinel(pkg, CodeBadSignature)
	ErrQRTooLarge         = errcode.Sentinel(pkg, CodeQRTooLarge)
	ErrBadBundle          = errcode.Sentinel(pkg, CodeBadBundle)
	ErrBadKey             = errcode.Sentinel(pkg, CodeBadKey)
)

// IsMalformed reports whether err is a failure to decode untrusted input:
// a code of this package other than bad_signature, qr_too_large and bad_key.
func IsMalformed(err error) bool {
	switch CodeOf(err) {
	case CodeMalformedInput, CodeMalformedQR, CodeChunkMissing, CodeMalformedJWS, CodeUnsupportedAlg,
		CodeBadPayloadEncoding, CodePayloadTooLarge, CodeBadPayload, CodeBadBundle:
		return true
	}
	return false
}

// CodeOf returns the Code of the first *Error in err's chain, or "" if none.
func CodeOf(err error) Code { return errcode.CodeOf(err) }

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Pkg: pkg, Code: code, Msg: fmt.Sprintf(format, args...)}
}

func wrap(code Code, msg string, err error) *Error {
	return &Error{Pkg: pkg, Code: code, Msg: msg, Err: err}
}
