package qr

import (
	"errors"
	"fmt"
)

// ErrorCode is a stable, machine-readable error code. Codes never change
// meaning; new ones may be added.
type ErrorCode string

// Error codes returned by this package.
const (
	// CodeQRTooLarge: the text does not fit a version 22 QR code at the
	// requested error-correction level (SIZE-1, SIZE-3).
	CodeQRTooLarge ErrorCode = "qr_too_large"
	// CodeMalformedInput: the text given to Encode is not SMART Health Card
	// QR text, or the image/SVG bytes cannot be parsed.
	CodeMalformedInput ErrorCode = "malformed_input"
	// CodeImageTooLarge: the image exceeds MaxImageBytes or MaxImagePixels.
	CodeImageTooLarge ErrorCode = "image_too_large"
	// CodeNoQRFound: no readable QR code was found in the image.
	CodeNoQRFound ErrorCode = "no_qr_found"
	// CodeMalformedQR: a QR code was read, but it does not hold SMART Health
	// Card QR text (QR-1, QR-4).
	CodeMalformedQR ErrorCode = "malformed_qr"
	// CodeEncodeFailed: the QR library produced a symbol that fails the
	// package's self-check (for example not exactly one byte segment plus
	// one numeric segment, QR-1/QR-3). It indicates a bug, not bad input.
	CodeEncodeFailed ErrorCode = "qr_encode_failed"
)

// Error is the error type of every failure returned by this package.
// Match it with errors.As, or match a code with errors.Is against the
// sentinels (ErrQRTooLarge, ...) or with CodeOf.
type Error struct {
	Code ErrorCode
	Msg  string
	Err  error // optional cause
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return "shc/qr: " + string(e.Code)
	}
	if e.Err != nil {
		return "shc/qr: " + e.Msg + ": " + e.Err.Error()
	}
	return "shc/qr: " + e.Msg
}

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, qr.ErrNoQRFound) works for any message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Msg == ""
}

// Sentinels for errors.Is; they carry only a code.
var (
	ErrQRTooLarge     = &Error{Code: CodeQRTooLarge}
	ErrMalformedInput = &Error{Code: CodeMalformedInput}
	ErrImageTooLarge  = &Error{Code: CodeImageTooLarge}
	ErrNoQRFound      = &Error{Code: CodeNoQRFound}
	ErrMalformedQR    = &Error{Code: CodeMalformedQR}
	ErrEncodeFailed   = &Error{Code: CodeEncodeFailed}
)

// CodeOf returns the code of the first *Error in err's chain, or "" if
// there is none.
func CodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func errorf(code ErrorCode, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Err: cause}
}
