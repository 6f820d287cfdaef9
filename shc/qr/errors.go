package qr

import (
	"fmt"

	"github.com/healthcards/healthcards/shc"
)

// Every error from this package is a *shc.Error, so shc.CodeOf and
// errors.Is against the shc sentinels work on it as on any format error.
// Codes used: shc.CodeQRTooLarge, shc.CodeMalformedInput, shc.CodeMalformedQR
// and the image-specific codes below.
const (
	// CodeNoQRFound: no readable QR code was found in the image.
	CodeNoQRFound = shc.CodeNoQRFound
	// CodeImageTooLarge: the image or SVG exceeds MaxImageBytes,
	// MaxImagePixels, MaxDecodeBytes (estimated decoding memory, see
	// DecodeCost), MaxSVGBytes or the SVG rasterization work budget.
	CodeImageTooLarge = shc.CodeImageTooLarge
	// CodeCanceled: the context of a *Context decode function was done
	// before a QR code was read; errors.Is also matches ctx.Err().
	CodeCanceled shc.Code = "qr_decode_canceled"
	// CodeEncodeFailed: the QR library produced a symbol that fails the
	// package's self-check (for example not exactly one byte segment plus
	// one numeric segment, QR-1/QR-3). It means a bug, not bad input.
	CodeEncodeFailed shc.Code = "qr_encode_failed"
)

// Sentinels for errors.Is (shc.ErrQRTooLarge, shc.ErrMalformedInput and
// shc.ErrMalformedQR cover the other codes).
var (
	ErrNoQRFound     = &shc.Error{Code: CodeNoQRFound}
	ErrImageTooLarge = &shc.Error{Code: CodeImageTooLarge}
	ErrEncodeFailed  = &shc.Error{Code: CodeEncodeFailed}
	ErrCanceled      = &shc.Error{Code: CodeCanceled}
)

func errorf(code shc.Code, cause error, format string, args ...any) *shc.Error {
	return &shc.Error{Code: code, Msg: "qr: " + fmt.Sprintf(format, args...), Err: cause}
}
