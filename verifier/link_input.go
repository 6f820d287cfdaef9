package verifier

import "context"

// LinkFromInput returns the SMART Health Link in input, which may be the
// link text (bare or behind a viewer URL) or, when decode is not nil, a
// PNG/JPEG/SVG image of its QR code, so that a caller whose Verify got
// passcode_required can ask for the passcode and call VerifyLink with the
// link. ok is false for anything else.
func LinkFromInput(ctx context.Context, input []byte, decode ImageDecoder) (link string, ok bool) {
	if IsLink(input) {
		return string(input), true
	}
	if decode != nil && (isImage(input) || isSVG(input)) {
		if text, err := decode(ctx, input); err == nil && IsLink([]byte(text)) {
			return text, true
		}
	}
	return "", false
}
