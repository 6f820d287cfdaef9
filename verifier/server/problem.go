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
	// RemainingAttempts is set with passcode_wrong (and passcode_required
	// when known): the passcode attempts the link's server says are left.
	RemainingAttempts *int `json:"remainingAttempts,omitempty"`
}

func (p *Problem) Error() string { return string(p.Code) + ": " + p.Detail }

// StatusCode implements echo.HTTPStatusCoder.
func (p *Problem) StatusCode() int { return p.Status }

func newProblem(status int, code verifier.Code, detail string) *Problem {
	return &Problem{
		Type:   problemTypeBase + string(code),
		Title:  plainReason(code),
		Status: status,
		Detail: detail,
		Code:   code,
	}
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
