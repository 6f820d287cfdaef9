package issuer

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/healthcards/healthcards/errcode"
	"github.com/healthcards/healthcards/keys"
)

// Code is a stable, machine-readable error code of this package. Codes
// appear in OperationOutcome documents and never change meaning.
type Code = errcode.Code

// Error codes.
const (
	CodeInvalidBundle     Code = "invalid_bundle"             // not a FHIR R4 Bundle we accept (structure, types)
	CodeMissingPatient    Code = "missing_patient"            // no Patient, several, or a Patient without id
	CodeUnresolvedRef     Code = "unresolved_reference"       // a Reference names no entry of the bundle
	CodeUnsupportedType   Code = "unsupported_resource"       // a resource type the issuer does not issue
	CodeTooLarge               = errcode.TooLarge             // input over a size or count bound
	CodeCardTooLargeForQR Code = "card_too_large_for_qr"      // signed card exceeds one V22 QR at the chosen level
	CodeNoContent         Code = "no_clinical_content"        // nothing to put on a card
	CodeInvalidParameters Code = "invalid_parameters"         // $health-cards-issue Parameters malformed (OP-4)
	CodeNotFound               = errcode.NotFound             // patient, card or key unknown
	CodeInvalidRevocation Code = "invalid_revocation"         // revocation request malformed
	CodeNoSigningKey           = keys.CodeNoActiveKey         // the key ring has no active key
	CodeUpstream          Code = "upstream_error"             // the upstream FHIR server failed
	CodeUnauthenticated        = errcode.Unauthenticated      // no valid bearer token
	CodeForbidden              = errcode.Forbidden            // the token does not allow this request
	CodeBadRequest             = errcode.BadRequest           // the HTTP request is not what the endpoint takes
	CodeMethodNotAllowed       = errcode.MethodNotAllowed     // the endpoint does not take this method
	CodeUnsupportedMedia       = errcode.UnsupportedMediaType // the Content-Type is not accepted
	CodeRateLimited            = errcode.RateLimited          // too many requests
	CodeInternal               = errcode.Internal             // store or signing failure
)

// Error is the error type of this package: the module's one coded error
// shape ([errcode.Error]). Match a code with errors.Is against the Err*
// sentinels below, or read it with CodeOf.
type Error = errcode.Error

// pkg prefixes this package's error messages.
const pkg = "issuer"

// Sentinels for errors.Is.
var (
	ErrInvalidBundle     = errcode.Sentinel(pkg, CodeInvalidBundle)
	ErrMissingPatient    = errcode.Sentinel(pkg, CodeMissingPatient)
	ErrUnresolvedRef     = errcode.Sentinel(pkg, CodeUnresolvedRef)
	ErrUnsupportedType   = errcode.Sentinel(pkg, CodeUnsupportedType)
	ErrTooLarge          = errcode.Sentinel(pkg, CodeTooLarge)
	ErrCardTooLargeForQR = errcode.Sentinel(pkg, CodeCardTooLargeForQR)
	ErrNoContent         = errcode.Sentinel(pkg, CodeNoContent)
	ErrInvalidParameters = errcode.Sentinel(pkg, CodeInvalidParameters)
	ErrNotFound          = errcode.Sentinel(pkg, CodeNotFound)
	ErrInvalidRevocation = errcode.Sentinel(pkg, CodeInvalidRevocation)
	ErrNoSigningKey      = errcode.Sentinel(pkg, CodeNoSigningKey)
	ErrUpstream          = errcode.Sentinel(pkg, CodeUpstream)
	ErrInternal          = errcode.Sentinel(pkg, CodeInternal)
)

// CodeOf returns the Code of the first *Error in err's chain, or "".
func CodeOf(err error) Code { return errcode.CodeOf(err) }

func errf(code Code, format string, args ...any) *Error {
	return &Error{Pkg: pkg, Code: code, Msg: fmt.Sprintf(format, args...)}
}

func wrapErr(code Code, msg string, err error) *Error {
	return &Error{Pkg: pkg, Code: code, Msg: msg, Err: err}
}

// OperationOutcome is a minimal FHIR R4 OperationOutcome for error replies.
type OperationOutcome struct {
	ResourceType string         `json:"resourceType"`
	Issue        []OutcomeIssue `json:"issue"`
}

// OutcomeIssue is one OperationOutcome.issue.
type OutcomeIssue struct {
	Severity    string          `json:"severity"`
	Code        string          `json:"code"`
	Details     *OutcomeDetails `json:"details,omitempty"`
	Diagnostics string          `json:"diagnostics,omitempty"`
	Expression  []string        `json:"expression,omitempty"`
}

// OutcomeDetails carries the stable error code as a Coding.
type OutcomeDetails struct {
	Coding []OutcomeCoding `json:"coding,omitempty"`
	Text   string          `json:"text,omitempty"`
}

// OutcomeCoding is a FHIR Coding.
type OutcomeCoding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

// ErrorCodeSystem is the Coding.system of the codes in OperationOutcomes.
const ErrorCodeSystem = "urn:healthcards:issuer:error"

// Outcome turns err into an OperationOutcome. Only *Error messages are
// shown; any other error becomes a generic internal error, so store or
// network details never reach the client.
func Outcome(err error) OperationOutcome {
	code, msg, issueType := CodeInternal, "internal error", "exception"
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal {
		code, msg = e.Code, e.Msg
		if msg == "" {
			msg = string(e.Code)
		}
		switch e.Code {
		case CodeNotFound:
			issueType = "not-found"
		case CodeTooLarge, CodeCardTooLargeForQR:
			issueType = "too-costly"
		case CodeUpstream, CodeNoSigningKey:
			issueType = "transient"
		default:
			issueType = "invalid"
		}
	}
	return OperationOutcome{ResourceType: "OperationOutcome", Issue: []OutcomeIssue{{
		Severity: "error", Code: issueType,
		Details: &OutcomeDetails{Coding: []OutcomeCoding{{System: ErrorCodeSystem, Code: string(code)}}, Text: msg},
	}}}
}

// MarshalOutcome is json.Marshal(Outcome(err)).
func MarshalOutcome(err error) []byte {
	b, _ := json.Marshal(Outcome(err))
	return b
}
