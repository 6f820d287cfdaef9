package verifier

// VerdictFor returns the verdict a failure with code gives a card. It is
// the one place that decides verdicts: the pipeline, ErrorResult, the
// service and the on-device (WebAssembly) build all go through it, so the
// same failure gets the same colour everywhere.
//
//   - "" (no failure): VerdictVerified.
//   - CodeUntrustedIssuer: VerdictUntrusted.
//   - The check could not be made, through no fault of the card: the issuer
//     or the network could not be reached (issuer_unreachable,
//     revocation_unavailable, fetch_limited, deadline_exceeded, a link's
//     server unreachable), the photo could not be read (no_qr_found,
//     image_too_large), the input is not a health card at all
//     (malformed_input: say a QR code of a web address), a chunk is
//     missing, too many cards at once, a link needing a passcode, a link
//     without signed cards, or the verifier is misconfigured:
//     VerdictUnableToCheck. It is never shown as a bad card.
//   - Anything else (forged, tampered, expired, revoked, not yet valid,
//     malformed card content, unknown key, and any code this table does
//     not know): VerdictInvalid. Unknown codes fail closed.
func VerdictFor(code Code) Verdict {
	if code == "" {
		return VerdictVerified
	}
	if code == CodeUntrustedIssuer {
		return VerdictUntrusted
	}
	if unableCodes[code] {
		return VerdictUnableToCheck
	}
	return VerdictInvalid
}

// unableCodes are the codes that say "not checked", not "bad card".
var unableCodes = map[Code]bool{
	CodeIssuerUnreachable:     true,
	CodeRevocationUnavailable: true,
	CodeFetchLimited:          true,
	CodeDeadline:              true,
	CodeTooManyCards:          true,
	CodeConfig:                true,
	CodeMalformedInput:        true,
	CodeChunkMissing:          true,
	CodeNoQRFound:             true,
	CodeImageTooLarge:         true,
	CodeImageUnsupported:      true,
	CodeLinkFetchFailed:       true,
	CodePasscodeRequired:      true,
	CodePasscodeWrong:         true,
	CodeLinkWithoutCards:      true,
}

// VerdictRank orders verdicts from best (0) to worst: verified,
// unable_to_check, issuer_not_trusted, invalid. A definite answer outranks
// an unknown one: a card that is expired and whose revocation list could
// not be fetched is invalid; of two cards, one untrusted and one not
// checked, the pair is untrusted. An unknown verdict ranks worst.
func VerdictRank(v Verdict) int {
	switch v {
	case VerdictVerified:
		return 0
	case VerdictUnableToCheck:
		return 1
	case VerdictUntrusted:
		return 2
	}
	return 3
}

// Advice for staff, one line per verdict and, where a more useful line
// exists, per code. The words are the library's so every front end (the
// service, the CLI, the on-device build) says the same thing.
const (
	adviceVerified  = "Check the name and birth date against a photo ID."
	adviceInvalid   = "Do not accept this card."
	adviceUntrusted = "Do not accept this card here: its issuer is not on this venue's list. Ask for a card from a listed issuer."
	adviceUnable    = "The card was not checked. Try again; if it keeps failing, check it another way."
	adviceNetwork   = "Check your connection and try again."
)

var adviceByCode = map[Code]string{
	CodeIssuerUnreachable:     adviceNetwork,
	CodeRevocationUnavailable: adviceNetwork,
	CodeLinkFetchFailed:       adviceNetwork,
	CodeDeadline:              adviceNetwork,
	CodeFetchLimited:          "Wait a minute and try again.",
	CodeTooManyCards:          "Check fewer cards at a time.",
	CodeConfig:                "Ask whoever runs this verifier to fix its configuration.",
	CodeMalformedInput:        "This is not a health card. Ask the visitor for their SMART Health Card QR code.",
	CodeChunkMissing:          "Scan every QR code of the card, then check again.",
	CodeNoQRFound:             "Ask the visitor to brighten the screen and scan again.",
	CodeImageTooLarge:         "Scan again with the QR code filling more of the picture.",
	CodeImageUnsupported:      "This verifier reads card text only: scan the QR code with a camera app or scanner instead of sending a photo.",
	CodePasscodeRequired:      "Ask the visitor for the link's passcode and enter it.",
	CodePasscodeWrong:         "Ask the visitor for the correct passcode and enter it.",
	CodeLinkWithoutCards:      "Ask the visitor for a signed SMART Health Card.",
	CodeExpired:               "Do not accept this card: it has expired. The visitor can ask the issuer for a current one.",
	CodeRevoked:               "Do not accept this card: its issuer has withdrawn it.",
	CodeNotYetValid:           "Do not accept this card yet: it is dated in the future. Check the device's clock.",
	CodeBadSignature:          "Do not accept this card: it may have been altered or forged.",
}

// AdviceFor returns the one line telling staff what to do after a failure
// with code ("" for a verified card). It never names the card holder.
func AdviceFor(code Code) string {
	if s, ok := adviceByCode[code]; ok {
		return s
	}
	switch VerdictFor(code) {
	case VerdictVerified:
		return adviceVerified
	case VerdictUntrusted:
		return adviceUntrusted
	case VerdictUnableToCheck:
		return adviceUnable
	}
	return adviceInvalid
}
