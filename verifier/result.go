package verifier

import (
	"encoding/json"
	"time"

	"github.com/healthcards/healthcards/shc"
)

// ResultMediaType versions the JSON form of Result.
const ResultMediaType = "application/vnd.healthcards.verification-result.v1+json"

// Verdict is the outcome a person can act on.
type Verdict string

// Verdicts.
const (
	// VerdictVerified: signature, issuer trust, time and revocation checks
	// all passed. Only this verdict means "accept the card".
	VerdictVerified Verdict = "verified"
	// VerdictUntrusted: the card is well formed but its issuer is in no
	// trust source. When the verifier was built with
	// WithoutIssuerTrustUnsafe the signature, time and revocation checks ran
	// and passed (see Checks); otherwise nothing was fetched for the issuer
	// and the signature was not checked.
	VerdictUntrusted Verdict = "issuer_not_trusted"
	// VerdictInvalid: the card itself is bad (forged, tampered, expired,
	// revoked, not yet valid, malformed content); Errors says why.
	VerdictInvalid Verdict = "invalid"
	// VerdictUnableToCheck: the card could not be checked, through no fault
	// found in it: the issuer or network could not be reached, revocation
	// status is unknown under RevocationRequired, the photo could not be
	// read, the input is not a health card, a chunk is missing, or the
	// request ran out of time. Never "accept"; never shown as a bad card
	// either: trying again may give another verdict. VerdictFor decides.
	VerdictUnableToCheck Verdict = "unable_to_check"
)

// CheckStatus is the outcome of one check.
type CheckStatus string

// Check statuses.
const (
	CheckPassed  CheckStatus = "passed"
	CheckFailed  CheckStatus = "failed"
	CheckSkipped CheckStatus = "skipped" // not applicable, or not run after an earlier failure
	CheckWarning CheckStatus = "warning" // passed with a warning (e.g. revocation unknown by policy)
)

// Check records one step of the pipeline that ran on a card.
type Check struct {
	Name   string      `json:"name"` // one of the Step* constants
	Status CheckStatus `json:"status"`
	Detail string      `json:"detail,omitempty"`
}

// ErrorInfo is the serializable form of an *Error.
type ErrorInfo struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// Result is the verdict on one card. Verify returns one Result per card of
// the input (a .smart-health-card file or a Parameters response may hold
// several). Only Verdict == VerdictVerified (equivalently Valid) means the
// card is authentic, from a trusted issuer, in its validity period and not
// revoked.
//
// Issuer, KeyID, NotBefore, Expires, Types, RID, FHIRBundle and Summary are
// set only once the signature verified: always for VerdictVerified, for
// VerdictUntrusted under WithoutIssuerTrustUnsafe, and for VerdictInvalid
// when a later check failed (an expired or revoked card still shows whose
// it is). Unverified claims never reach a caller through a Result.
type Result struct {
	MediaType string  `json:"mediaType"`
	Verdict   Verdict `json:"verdict"`
	Valid     bool    `json:"valid"` // Verdict == VerdictVerified
	// Advice is one line in plain words telling staff what to do next
	// (AdviceFor the code that decided the verdict).
	Advice string `json:"advice"`

	// Index is the card's zero-based position in the input.
	Index int `json:"index"`
	// InputKind is the form the card arrived in (jws, qr-text, file,
	// fhir-parameters, qr-image).
	InputKind string `json:"inputKind,omitempty"`

	Issuer     string           `json:"iss,omitempty"`
	IssuerName string           `json:"issuer_name,omitempty"`
	KeyID      string           `json:"kid,omitempty"`
	NotBefore  *shc.NumericDate `json:"nbf,omitempty"`
	Expires    *shc.NumericDate `json:"exp,omitempty"`
	Types      []string         `json:"types,omitempty"`
	RID        string           `json:"rid,omitempty"`
	FHIRBundle json.RawMessage  `json:"fhirBundle,omitempty"`
	Summary    *Summary         `json:"summary,omitempty"`
	// Entry says whether the card meets the venue's entry rule
	// (WithEntryRules); set only for VerdictVerified.
	Entry *EntryResult `json:"entry,omitempty"`

	Checks   []Check     `json:"checks"`
	Warnings []string    `json:"warnings,omitempty"`
	Errors   []ErrorInfo `json:"errors,omitempty"`

	err *Error
}

// Err returns the failure behind a non-verified verdict as an *Error, or
// nil when the card verified.
func (r *Result) Err() error {
	if r == nil || r.err == nil {
		return nil
	}
	return r.err
}

// IssuedAt returns nbf as a time (zero when unset).
func (r *Result) IssuedAt() time.Time {
	if r == nil || r.NotBefore == nil {
		return time.Time{}
	}
	return r.NotBefore.Time()
}

// ErrorResult returns the Result of an input that failed before any card
// was found (the error returned by Verify), so a caller that prints one
// entry per input can print this one too.
func ErrorResult(err error) *Result {
	r := &Result{MediaType: ResultMediaType}
	r.fail(asError(StepDecode, err))
	r.finish()
	return r
}

func (r *Result) check(name string, st CheckStatus, detail string) {
	r.Checks = append(r.Checks, Check{Name: name, Status: st, Detail: detail})
}

func (r *Result) warn(msg string) { r.Warnings = append(r.Warnings, msg) }

// fail records e as a failure of the card; the first one is Err().
func (r *Result) fail(e *Error) {
	if r.err == nil {
		r.err = e
	}
	r.Errors = append(r.Errors, ErrorInfo{Code: e.Code, Message: e.Error()})
	if e.Step != "" {
		st := CheckFailed
		if e.Code == CodeUntrustedIssuer && r.signatureVerified() {
			st = CheckWarning
		}
		r.check(e.Step, st, e.Error())
	}
}
