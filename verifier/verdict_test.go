package verifier

import (
	"errors"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shc/qr"
)

// TestVerdictFor pins the verdict of every code the pipeline reports:
// "could not check" is never red, a bad card is never neutral.
func TestVerdictFor(t *testing.T) {
	want := map[Code]Verdict{
		"":                           VerdictVerified,
		CodeUntrustedIssuer:          VerdictUntrusted,
		CodeIssuerUnreachable:        VerdictUnableToCheck,
		CodeRevocationUnavailable:    VerdictUnableToCheck, // REV-10 under RevocationRequired
		CodeFetchLimited:             VerdictUnableToCheck,
		CodeDeadline:                 VerdictUnableToCheck,
		CodeTooManyCards:             VerdictUnableToCheck,
		CodeConfig:                   VerdictUnableToCheck,
		CodeMalformedInput:           VerdictUnableToCheck, // not a health card at all
		CodeChunkMissing:             VerdictUnableToCheck, // QR-6
		qr.CodeNoQRFound:             VerdictUnableToCheck,
		qr.CodeImageTooLarge:         VerdictUnableToCheck,
		CodeImageUnsupported:         VerdictUnableToCheck, // no image decoder wired in
		CodeLinkFetchFailed:          VerdictUnableToCheck,
		CodePasscodeRequired:         VerdictUnableToCheck,
		CodePasscodeWrong:            VerdictUnableToCheck,
		CodeLinkWithoutCards:         VerdictUnableToCheck,
		CodeBadSignature:             VerdictInvalid, // HDR-5: forged or tampered
		CodeExpired:                  VerdictInvalid, // PAY-3
		CodeNotYetValid:              VerdictInvalid, // PAY-2
		CodeRevoked:                  VerdictInvalid, // REV-8
		CodeKeyNotFound:              VerdictInvalid, // KEY-5
		CodeMalformedQR:              VerdictInvalid,
		CodeMalformedJWS:             VerdictInvalid,
		CodeUnsupportedAlg:           VerdictInvalid,
		CodeBadPayloadEncoding:       VerdictInvalid,
		CodeBadPayload:               VerdictInvalid,
		CodePayloadTooLarge:          VerdictInvalid,
		shc.CodeBadBundle:            VerdictInvalid,
		CodeLinkExpired:              VerdictInvalid,
		CodeDecryptFailed:            VerdictInvalid,
		Code("code_from_the_future"): VerdictInvalid, // unknown codes fail closed
	}
	for code, v := range want {
		if got := VerdictFor(code); got != v {
			t.Errorf("VerdictFor(%q) = %s, want %s", code, got, v)
		}
		a := AdviceFor(code)
		if a == "" || strings.Contains(a, "\n") {
			t.Errorf("AdviceFor(%q) = %q: want one non-empty line", code, a)
		}
		if v == VerdictUnableToCheck && strings.HasPrefix(a, "Do not accept") {
			t.Errorf("AdviceFor(%q) = %q: a card that was not checked is not refused", code, a)
		}
		if v == VerdictInvalid && !strings.HasPrefix(a, "Do not accept") {
			t.Errorf("AdviceFor(%q) = %q: an invalid card is refused", code, a)
		}
	}
	if a := AdviceFor(qr.CodeNoQRFound); !strings.Contains(a, "brighten the screen") {
		t.Errorf("no_qr_found advice %q", a)
	}
	if a := AdviceFor(CodeIssuerUnreachable); a != "Check your connection and try again." {
		t.Errorf("issuer_unreachable advice %q", a)
	}
}

// TestVerdictRank: worst first, a definite answer before an unknown one.
func TestVerdictRank(t *testing.T) {
	order := []Verdict{VerdictVerified, VerdictUnableToCheck, VerdictUntrusted, VerdictInvalid}
	for i := 1; i < len(order); i++ {
		if VerdictRank(order[i]) <= VerdictRank(order[i-1]) {
			t.Errorf("%s should rank worse than %s", order[i], order[i-1])
		}
	}
	if VerdictRank(Verdict("bogus")) != VerdictRank(VerdictInvalid) {
		t.Error("an unknown verdict should rank as invalid")
	}
}

// TestFinishWorstError: a card with several failures gets the worst
// verdict and the advice of the failure that decided it; claims of a card
// whose signature was not verified are never kept.
func TestFinishWorstError(t *testing.T) {
	r := &Result{}
	r.check(StepSignature, CheckPassed, "")
	r.fail(newErr(CodeRevocationUnavailable, StepRevocation, "x"))
	r.fail(newErr(CodeExpired, StepTime, "x"))
	r.finish()
	if r.Verdict != VerdictInvalid || r.Advice != AdviceFor(CodeExpired) || r.Valid {
		t.Fatalf("expired and revocation unknown: %s %q", r.Verdict, r.Advice)
	}

	r = &Result{Issuer: "https://unverified.example", Summary: &Summary{}}
	r.fail(newErr(CodeIssuerUnreachable, StepKey, "x"))
	r.finish()
	if r.Verdict != VerdictUnableToCheck || r.Advice != adviceNetwork || r.Issuer != "" || r.Summary != nil {
		t.Fatalf("issuer unreachable: %+v", r)
	}

	r = &Result{}
	r.fail(&Error{Step: StepParse}) // no code: fail closed
	r.finish()
	if r.Verdict != VerdictInvalid || r.Advice != adviceInvalid {
		t.Fatalf("error without code: %s %q", r.Verdict, r.Advice)
	}

	r = &Result{}
	r.finish()
	if r.Verdict != VerdictVerified || !r.Valid || r.Advice != adviceVerified {
		t.Fatalf("no errors: %+v", r)
	}

	er := ErrorResult(errors.New("not coded"))
	if er.Verdict != VerdictUnableToCheck || er.Errors[0].Code != CodeMalformedInput {
		t.Fatalf("ErrorResult of an uncoded error: %+v", er)
	}
	er = ErrorResult(&Error{Code: CodeMalformedJWS})
	if er.Verdict != VerdictInvalid {
		t.Fatalf("ErrorResult of malformed_jws: %+v", er)
	}
}
