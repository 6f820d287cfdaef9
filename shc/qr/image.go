package qr

import (
	"bytes"
	"context"
)

// DecodeImage returns the text of the QR code in a PNG, JPEG or SVG image,
// whatever it holds (SMART Health Card text or a SMART Health Link): SVG
// goes to DecodeSVG, anything else to DecodeRawBytes, with their size caps.
// Its signature is verifier.ImageDecoder's, so a program that reads images
// wires it in with verifier.WithImageDecoder(qr.DecodeImage); a program that
// does not links none of this package. The caller must treat the text as
// untrusted input. It stops with CodeCanceled once ctx is done (see
// DecodeSVGContext and DecodeRawBytesContext).
func DecodeImage(ctx context.Context, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	head := bytes.TrimSpace(data[:min(len(data), 256)])
	if bytes.HasPrefix(head, []byte("<svg")) || bytes.HasPrefix(head, []byte("<?xml")) {
		return DecodeSVGContext(ctx, data)
	}
	return DecodeRawBytesContext(ctx, data)
}
