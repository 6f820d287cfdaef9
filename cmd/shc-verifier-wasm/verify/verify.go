// Package verify is the on-device verifier behind shc-verifier-wasm: a
// verifier.Verifier built from a trust snapshot, offline, with the caller's
// clock, whose answers have the shape of the verifier service's POST
// /v1/verify (so the scanning page renders both alike). It has no build
// tags: the parity test runs it natively against the service, and the same
// code runs in the browser.
//
// # Security considerations
//
// The snapshot decides what the device trusts; the page fetches it from
// its own origin only. When the snapshot is older than its revocation bound
// and the policy is required, a card whose key has a revocation list is
// unable_to_check, never verified: the lists no longer answer for it. A
// rid on the old list still revokes the card. Nothing is logged.
package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/healthcards/healthcards/verifier"
)

// Device verifies cards against one trust snapshot. It is safe for
// concurrent use.
type Device struct {
	mu   sync.Mutex
	now  time.Time
	info verifier.TrustSnapshotInfo
	v    *verifier.Verifier
}

// NewDevice reads a snapshot made by verifier.TrustSnapshot.
func NewDevice(snapshot []byte) (*Device, error) {
	info, opts, err := verifier.ReadTrustSnapshot(snapshot)
	if err != nil {
		return nil, err
	}
	d := &Device{info: info}
	opts = append(opts, verifier.WithClock(func() time.Time { return d.now }))
	if d.v, err = verifier.New(opts...); err != nil {
		return nil, err
	}
	return d, nil
}

// Info returns what the snapshot says about itself.
func (d *Device) Info() verifier.TrustSnapshotInfo { return d.info }

// Response is the answer for an input that held cards (the shape of the
// service's VerifyResponse).
type Response struct {
	MediaType string           `json:"mediaType"`
	Verdict   verifier.Verdict `json:"verdict"`
	Message   string           `json:"message"`
	Advice    string           `json:"advice"`
	Cards     []Card           `json:"cards"`
	// OnDevice is always true: the page shows which mode answered.
	OnDevice bool `json:"onDevice"`
}

// Card is one card's result, as in the service's CardResult.
type Card struct {
	*verifier.Result
	Message   string `json:"message"`
	IssuedAt  string `json:"issuedAt,omitempty"`
	ExpiresAt string `json:"expiresAt,omitempty"`
}

// ProblemBody is the answer for an input that held no card (the shape of
// the service's problem+json).
type ProblemBody struct {
	Title    string           `json:"title"`
	Code     verifier.Code    `json:"code"`
	Verdict  verifier.Verdict `json:"verdict"`
	Advice   string           `json:"advice"`
	OnDevice bool             `json:"onDevice"`
}

// Problem returns the JSON of a problem with code and title.
func Problem(code verifier.Code, title string) []byte {
	b, _ := json.Marshal(ProblemBody{Title: title, Code: code, Verdict: verifier.VerdictFor(code), Advice: verifier.AdviceFor(code), OnDevice: true})
	return b
}

const verifiedMessage = "This card is genuine, from a trusted issuer, and has not been revoked."

// Verify verifies input at the time nowMillis (Unix milliseconds) and
// returns the JSON answer.
func (d *Device) Verify(input []byte, nowMillis int64) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.now = time.UnixMilli(nowMillis)
	results, err := d.v.Verify(context.Background(), input)
	if err != nil {
		code := verifier.CodeOf(err)
		if code == "" {
			code = verifier.CodeMalformedInput
		}
		return Problem(code, err.Error())
	}
	stale := d.info.Required && d.now.Sub(d.info.Time) > d.info.RevocationMaxAge
	resp := Response{MediaType: "application/vnd.healthcards.verify-response.v1+json", Verdict: verifier.VerdictVerified, OnDevice: true}
	for _, r := range results {
		if r == nil {
			continue
		}
		if stale && r.Verdict == verifier.VerdictVerified && checked(r, verifier.StepRevocation) {
			// REV-*: the snapshot's lists are past the bound; under the
			// required policy the status is unknown.
			r.Verdict, r.Valid = verifier.VerdictUnableToCheck, false
			r.Advice = verifier.AdviceFor(verifier.CodeRevocationUnavailable)
			r.Errors = append(r.Errors, verifier.ErrorInfo{Code: verifier.CodeRevocationUnavailable,
				Message: fmt.Sprintf("the trust snapshot is %s old, older than the revocation bound %s",
					d.now.Sub(d.info.Time).Round(time.Second), d.info.RevocationMaxAge)})
		}
		r.FHIRBundle = nil // as the service without ?include=bundle: the summary is enough
		c := Card{Result: r, Message: verifiedMessage}
		if len(r.Errors) > 0 {
			c.Message = r.Errors[0].Message
		}
		if r.NotBefore != nil {
			c.IssuedAt = r.NotBefore.Time().UTC().Format(time.RFC3339)
		}
		if r.Expires != nil {
			c.ExpiresAt = r.Expires.Time().UTC().Format(time.RFC3339)
		}
		if len(resp.Cards) == 0 || verifier.VerdictRank(r.Verdict) > verifier.VerdictRank(resp.Verdict) {
			resp.Verdict, resp.Message, resp.Advice = r.Verdict, c.Message, r.Advice
		}
		resp.Cards = append(resp.Cards, c)
	}
	if len(resp.Cards) == 0 {
		return Problem(verifier.CodeMalformedInput, "no card in the input")
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return Problem("internal", "the answer could not be written")
	}
	return b
}

// checked reports whether the step ran and passed (or passed with a
// warning).
func checked(r *verifier.Result, step string) bool {
	for _, c := range r.Checks {
		if c.Name == step && (c.Status == verifier.CheckPassed || c.Status == verifier.CheckWarning) {
			return true
		}
	}
	return false
}
