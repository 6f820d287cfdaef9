package verifier

// LinkFromInput returns the SMART Health Link in input, which may be the
// link text (bare or behind a viewer URL) or a PNG/JPEG image of its QR
// code, so that a caller whose Verify got passcode_required can ask for the
// passcode and call VerifyLink with the link. ok is false for anything else.
func LinkFromInput(input []byte) (link string, ok bool) {
	if IsLink(input) {
		return string(input), true
	}
	if isImage(input) {
		if text, err := decodeImage(input); err == nil && IsLink([]byte(text)) {
			return text, true
		}
	}
	return "", false
}
