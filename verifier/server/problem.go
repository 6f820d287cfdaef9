package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/healthcards/healthcards/errcode"
	"github.com/healthcards/healthcards/verifier"
)

// ProblemMediaType is the media type of error responses (RFC 7807).
const ProblemMediaType = "application/problem+json"

// problemTypeBase prefixes Problem.Type; the code completes it.
const problemTypeBase = "urn:healthcards:problem:"

// Request-level problem codes of this package. Card-level codes are the
// library's (verifier.Code*, shc.Code*, qr.Code*).
const (
	CodeBodyTooLarge       verifier.Code = "body_too_large"
	CodeUnsupportedMedia                 = errcode.UnsupportedMediaType
	CodeBadRequest                       = errcode.BadRequest
	CodeMalformedMultipart verifier.Code = "malformed_multipart"
	CodeMissingInput       verifier.Code = "missing_input"
	CodeRateLimited                      = errcode.RateLimited
	CodeNotReady           verifier.Code = "not_ready"
	CodeNotFound                         = errcode.NotFound
	CodeMethodNotAllowed                 = errcode.MethodNotAllowed
	CodeTimeout            verifier.Code = "timeout"
	CodeInternal                         = errcode.Internal
)

// Problem is an RFC 7807 problem document. Code is the stable machine
// readable code (the last part of Type); Title is a sentence in plain words
// fit to show to the person at the door; Detail is technical and never holds
// card content.
type Problem struct {
	Type   string        `json:"type"`
	Title  string        `json:"title"`
	Status int           `json:"status"`
	Detail string        `json:"detail,omitempty"`
	Code   verifier.Code `json:"code"`
	// Verdict is what the answer means for the card the request carried
	// (verifier.VerdictFor the code; every request-level problem, such as
	// timeout, rate_limited or not_ready, is unable_to_check), and Advice
	// the one line telling staff what to do.
	Verdict verifier.Verdict `json:"verdict"`
	Advice  string           `json:"advice"`
	// RemainingAttempts is set with passcode_wrong (and passcode_required
	// when known): the passcode attempts the link's server says are left.
	RemainingAttempts *int `json:"remainingAttempts,omitempty"`
}

func (p *Problem) Error() string { return string(p.Code) + ": " + p.Detail }

// StatusCode implements echo.HTTPStatusCoder.
func (p *Problem) StatusCode() int { return p.Status }

func newProblem(status int, code verifier.Code, detail string) *Problem {
	return &Problem{
		Type:    problemTypeBase + string(code),
		Title:   plainReason(code),
		Status:  status,
		Detail:  detail,
		Code:    code,
		Verdict: problemVerdict(code),
		Advice:  problemAdvice(code),
	}
}

// requestCodes are this package's request-level codes: none says anything
// about a card, so each is unable_to_check.
var requestCodes = map[verifier.Code]string{
	CodeBodyTooLarge:       "Send a smaller photo or file.",
	CodeUnsupportedMedia:   "Send card text, a .smart-health-card file or a PNG/JPEG photo.",
	CodeBadRequest:         "Try again; if it keeps failing, reload the page.",
	CodeMalformedMultipart: "Try again; if it keeps failing, reload the page.",
	CodeMissingInput:       "Scan or paste a card, then check again.",
	CodeRateLimited:        "Wait a minute and try again.",
	CodeNotReady:           "Wait a moment and try again.",
	CodeNotFound:           "Reload the page and try again.",
	CodeMethodNotAllowed:   "Reload the page and try again.",
	CodeTimeout:            "Check your connection and try again.",
	CodeInternal:           "Try again; if it keeps failing, check the card another way.",
}

// problemVerdict is the verdict a problem with code gives the card.
func problemVerdict(code verifier.Code) verifier.Verdict {
	if _, ok := requestCodes[code]; ok {
		return verifier.VerdictUnableToCheck
	}
	return verifier.VerdictFor(code)
}

// problemAdvice is the line for staff of a problem with code.
func problemAdvice(code verifier.Code) string {
	if s, ok := requestCodes[code]; ok {
		return s
	}
	return verifier.AdviceFor(code)
}

func writeProblem(w http.ResponseWriter, p *Problem) {
	b, err := json.Marshal(p)
	if err != nil { // cannot happen: only strings and an int
		b = []byte(`{"type":"` + problemTypeBase + `internal_error","title":"Internal error","status":500,"code":"internal_error"}`)
		p.Status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", ProblemMediaType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(b)
}
