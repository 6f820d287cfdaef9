package server

import (
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/verifier"
)

// plainReasons turns codes into sentences for the person at the door. They
// say what happened and, where it helps, what to do; they never name the
// card holder.
var plainReasons = map[verifier.Code]string{
	// Verification failures (verifier.Code*).
	verifier.CodeRevoked:               "This card has been revoked by its issuer.",
	verifier.CodeExpired:               "This card has expired.",
	verifier.CodeNotYetValid:           "This card is not valid yet.",
	verifier.CodeUntrustedIssuer:       "This card's issuer is not on this service's list of trusted issuers.",
	verifier.CodeKeyNotFound:           "The issuer does not recognise the key that signed this card.",
	verifier.CodeIssuerUnreachable:     "The card's issuer could not be contacted to check it. Try again later.",
	verifier.CodeRevocationUnavailable: "The issuer's list of revoked cards could not be checked. Try again later.",
	verifier.CodeConfig:                "The verification service is misconfigured.",
	verifier.CodeTooManyCards:          "Too many cards were sent at once. Check fewer cards per request.",
	verifier.CodeFetchLimited:          "The card's issuer could not be contacted now: too many issuers were looked up. Try again later.",
	verifier.CodeDeadline:              "Checking the card took too long. Try again.",

	// Format failures (shc.Code*, qr.Code*).
	shc.CodeBadSignature:       "The card's signature does not match. It may have been altered or forged.",
	shc.CodeMalformedInput:     "This is not a SMART Health Card.",
	shc.CodeMalformedQR:        "This QR code is not a readable SMART Health Card.",
	shc.CodeChunkMissing:       "Part of this card is missing. Scan every QR code of the card.",
	shc.CodeMalformedJWS:       "This card is damaged or not in the SMART Health Card format.",
	shc.CodeUnsupportedAlg:     "This card uses a signature method that SMART Health Cards do not allow.",
	shc.CodeBadPayloadEncoding: "This card is damaged or not in the SMART Health Card format.",
	shc.CodeBadPayload:         "This card's content is not in the SMART Health Card format.",
	shc.CodePayloadTooLarge:    "This card is too large to check.",
	shc.CodeQRTooLarge:         "This card is too large to check.",
	shc.CodeBadBundle:          "This card's health record is not readable.",
	qr.CodeNoQRFound:           "No QR code could be read in this picture. Try a sharper, closer photo.",
	qr.CodeImageTooLarge:       "This picture is too large. Use a smaller photo.",

	// SMART Health Links (verifier.Code*, shl codes).
	verifier.CodePasscodeRequired:       "This link is protected by a passcode. Ask the person sharing it for the passcode and enter it.",
	verifier.CodePasscodeWrong:          "The passcode is not correct.",
	verifier.CodeLinkNotFound:           "This link no longer works: its owner revoked it, it expired, or it was locked after too many wrong passcodes. Ask for a new link.",
	verifier.CodeLinkExpired:            "This link has expired. Ask the person sharing it for a new link.",
	verifier.CodeMalformedLink:          "This is not a valid SMART Health Link.",
	verifier.CodeLinkUnsupportedVersion: "This link uses a newer version of SMART Health Links than this service supports.",
	verifier.CodeDecryptFailed:          "The content of this link could not be decrypted. The link may be damaged or altered.",
	verifier.CodeMalformedManifest:      "The link's server sent an answer that is not a valid SMART Health Link.",
	verifier.CodeLinkFetchFailed:        "The link's server could not be reached. Try again later.",
	verifier.CodeLinkTooLarge:           "This link holds more data than this service accepts.",
	verifier.CodeLinkWithoutCards:       "This link holds no verifiable health card, only information shared without a signature.",

	// Request problems (this package).
	CodeBodyTooLarge:       "The upload is too large.",
	CodeUnsupportedMedia:   "This kind of upload is not supported. Send card text, a .smart-health-card file or a PNG/JPEG photo.",
	CodeBadRequest:         "The request could not be understood.",
	CodeMalformedMultipart: "The upload could not be read.",
	CodeMissingInput:       "No card was sent.",
	CodeRateLimited:        "Too many checks from this device. Wait a moment and try again.",
	CodeNotReady:           "The verification service is starting up or cannot load its trusted issuers. Try again shortly.",
	CodeNotFound:           "Not found.",
	CodeMethodNotAllowed:   "This method is not allowed here.",
	CodeTimeout:            "Checking the card took too long. Try again.",
	CodeInternal:           "Something went wrong in the verification service.",
}

// plainReason returns the sentence for code, with a generic fallback for
// codes added to the library later.
func plainReason(code verifier.Code) string {
	if s, ok := plainReasons[code]; ok {
		return s
	}
	return "This card could not be verified."
}

// Messages for the overall verdict.
const (
	msgVerified         = "This card is genuine, from a trusted issuer, and has not been revoked. Check the name and birth date against a photo ID."
	msgUntrustedSigned  = "The card's signature is valid, but its issuer is not on this service's list of trusted issuers."
	msgUntrustedUnknown = "This card's issuer is not on this service's list of trusted issuers."
)

// cardMessage is the plain-words line for one card.
func cardMessage(r *verifier.Result) string {
	switch r.Verdict {
	case verifier.VerdictVerified:
		return msgVerified
	case verifier.VerdictUntrusted:
		if signaturePassed(r) {
			return msgUntrustedSigned
		}
		return msgUntrustedUnknown
	}
	if code := firstCode(r); code != "" {
		return plainReason(code)
	}
	return plainReason("")
}

func signaturePassed(r *verifier.Result) bool {
	for _, c := range r.Checks {
		if c.Name == verifier.StepSignature && c.Status == verifier.CheckPassed {
			return true
		}
	}
	return false
}

func firstCode(r *verifier.Result) verifier.Code {
	for _, e := range r.Errors {
		if e.Code != "" {
			return e.Code
		}
	}
	return verifier.CodeOf(r.Err())
}
