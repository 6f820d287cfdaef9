package shlqr

import (
	"bytes"
	"fmt"

	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/shl"
)

// Image size bounds, in pixels.
const (
	MinSize     = 64
	MaxSize     = 4096
	DefaultSize = 512
)

// PNG renders uri (a shlink, bare or behind a viewer URL) as a PNG QR code of
// size×size pixels (0 means DefaultSize) at error correction level M
// (SHL-21), in byte mode, with the project's QR encoder (shc/qr). A size
// too small for one pixel per module gives the smallest image that has
// one. uri must parse with shl.Parse.
func PNG(uri string, size int) ([]byte, error) {
	if size == 0 {
		size = DefaultSize
	}
	if size < MinSize || size > MaxSize {
		return nil, &shl.Error{Pkg: "shl", Code: shl.CodeInvalidArgument, Msg: fmt.Sprintf("size must be within [%d, %d]", MinSize, MaxSize)}
	}
	if _, err := shl.Parse(uri); err != nil {
		return nil, err
	}
	c, err := qr.EncodeBytes(uri, qr.M)
	if err != nil {
		return nil, &shl.Error{Pkg: "shl", Code: shl.CodeTooLarge, Msg: "link does not fit in a QR code at level M", Err: err}
	}
	var buf bytes.Buffer
	if err := c.PNGSize(&buf, size); err != nil {
		return nil, &shl.Error{Pkg: "shl", Code: shl.CodeInvalidArgument, Msg: "cannot render the QR code at this size", Err: err}
	}
	return buf.Bytes(), nil
}
