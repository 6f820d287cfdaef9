package verifier

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"
	"unicode"

	"github.com/healthcards/healthcards/shc"
)

// msThreshold: a NumericDate above this (year 5138 in seconds) is taken to
// be in milliseconds.
const msThreshold = 1e11

// precheckCards refuses shc:/ text holding more texts than the cards limit
// allows (each card has at most maxQRChunks chunks, QR-5), before the texts
// are split and decoded: a 10 MiB body of "shc:/56 shc:/56 …" is refused
// without allocating per text.
func (v *Verifier) precheckCards(input []byte) *Error {
	s := bytes.TrimLeftFunc(input, unicode.IsSpace) // as shc.ExtractJWS trims
	max := v.cfg.budget.cards()
	if len(s) > 0 && s[0] == '{' {
		// A card file or FHIR Parameters: bound its JSON values before it
		// is decoded (10 MiB of "{}," entries cost 512 MB and seconds in
		// encoding/json). A Parameters response carries a resourceLink per
		// resource on each card, hence the generous allowance per card.
		if n, limit := jsonValues(s), max*maxJSONValuesPerCard; n > limit {
			return newErr(CodePayloadTooLarge, StepDecode, "the input's JSON holds more than %d values; at most %d cards are accepted per input", limit, max)
		}
		return nil
	}
	if len(s) < 5 || !bytes.EqualFold(s[:5], []byte("shc:/")) {
		return nil
	}
	if n := countFields(input); n > max*maxQRChunks {
		return newErr(CodeTooManyCards, StepDecode, "the input holds %d shc:/ texts; at most %d cards are accepted per input", n, max)
	}
	return nil
}

// maxJSONValuesPerCard bounds the JSON values (objects, arrays and
// elements, counted by jsonValues) a JSON input may hold per card allowed.
const maxJSONValuesPerCard = 1024

// jsonValues returns an upper bound on the values of a JSON text: the
// objects, arrays and separators outside strings. It reads b once and
// allocates nothing.
func jsonValues(b []byte) int {
	n, inStr, esc := 0, false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case inStr:
			if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[' || c == ',':
			n++
		}
	}
	return n
}

// verifyCards verifies the cards of one input in order, within the
// request's budgets: at most the per-input number of cards (refused as a
// whole, before any is examined), one fetch budget shared by all cards, and
// the context checked before each card, so the caller's deadline ends the
// work.
func (v *Verifier) verifyCards(ctx context.Context, jws []string, kind string) ([]*Result, error) {
	if max := v.cfg.budget.cards(); len(jws) > max {
		return nil, newErr(CodeTooManyCards, StepDecode, "the input holds %d cards, more than the limit of %d per input", len(jws), max)
	}
	ctx = v.withBudget(ctx)
	out := make([]*Result, len(jws))
	for i, s := range jws {
		if err := ctx.Err(); err != nil {
			return nil, wrapErr(CodeDeadline, StepDecode, fmt.Errorf("stopped after %d of %d cards: %w", i, len(jws), err))
		}
		r := v.verifyJWS(ctx, s)
		r.Index = i
		r.InputKind = kind
		out[i] = r
	}
	return out, nil
}

// verifyJWS runs the pipeline of shc-rules §12 on one card. Every failure
// after the signature check is collected, so an expired card that is also
// revoked reports both.
func (v *Verifier) verifyJWS(ctx context.Context, jws string) *Result {
	r := &Result{MediaType: ResultMediaType, Checks: make([]Check, 0, 8)}
	defer r.finish()
	if e := v.takeCard(ctx); e != nil {
		r.fail(e)
		return r
	}

	// 1-3. Structure: compact JWS, ES256, zip DEF, bounded raw DEFLATE,
	// claims; the payload cap is also bounded by what the request's
	// inflated-bytes budget has left (limits.go).
	limit := v.payloadLimit(ctx)
	if limit == 0 {
		r.fail(newErr(CodePayloadTooLarge, StepParse, "the cards of this input together inflate to more than %d bytes", v.cfg.budget.inflated()))
		return r
	}
	card, err := shc.ParseWithLimits(jws, shc.Limits{MaxPayloadBytes: limit})
	if err != nil {
		if shc.CodeOf(err) == CodePayloadTooLarge {
			v.spendPayload(ctx, limit)
		}
		r.fail(asError(StepParse, err))
		return r
	}
	v.spendPayload(ctx, len(card.UnsafeClaimsJSONWithoutVerification()))
	p := card.UnsafePayloadWithoutVerification()
	iss, kid := p.Issuer, card.KeyID()
	if err := checkIssuerSyntax(iss); err != nil {
		r.fail(wrapErr(CodeBadPayload, StepParse, err))
		return r
	}
	r.check(StepParse, CheckPassed, "compact JWS, ES256, zip DEF, claims present")

	// 4. Trust policy, before anything is fetched for iss.
	now := v.clock()
	ti, warns := v.trust.lookup(ctx, v, iss, now)
	for _, w := range warns {
		r.warn(w)
	}
	var untrusted *Error
	if ti == nil {
		untrusted = newErr(CodeUntrustedIssuer, StepTrust, "issuer %.200s is in no trust source", iss)
		if !v.cfg.anyIssuer {
			r.fail(untrusted)
			r.check(StepSignature, CheckSkipped, "nothing fetched for an untrusted issuer")
			return r
		}
	} else {
		r.check(StepTrust, CheckPassed, "issuer listed by the trust sources")
	}

	// 5. Keys by (iss, kid).
	cands, src, kerr := v.resolveKeys(ctx, ti, iss, kid, r.warn)
	if kerr != nil {
		r.fail(kerr)
		return r
	}

	// 6. Signature, trying every entry with the kid (KEY-7).
	key, err := verifyWith(card.VerifySignature, cands)
	if err != nil {
		r.fail(asError(StepSignature, err))
		return r
	}
	r.check(StepKey, CheckPassed, "kid is the RFC 7638 thumbprint of an ES256 P-256 key from the "+src)
	r.check(StepSignature, CheckPassed, "ES256 signature verified")

	// Signature verified: the claims may now be reported.
	r.Issuer, r.KeyID = iss, kid
	if ti != nil {
		r.IssuerName = ti.name
	}
	nbf := p.NotBefore
	r.NotBefore = &nbf
	r.Expires = p.Expires
	r.Types = p.VC.Type
	r.RID = p.VC.RID
	r.FHIRBundle = p.VC.CredentialSubject.FHIRBundle

	// 8. Time.
	var failures []*Error
	if e := v.checkTime(p, now, r); e != nil {
		failures = append(failures, e)
	}
	// 9. Revocation.
	if err := ctx.Err(); err != nil {
		r.fail(wrapErr(CodeDeadline, StepRevocation, err))
		return r
	}
	if e := v.checkRevocation(ctx, ti, iss, key, p, r); e != nil {
		failures = append(failures, e)
	}
	for _, e := range failures {
		r.fail(e)
	}
	if untrusted != nil {
		r.fail(untrusted)
	}

	// 10. What the card says, for people.
	r.Summary, warns = summarize(p.VC.CredentialSubject.FHIRBundle)
	r.Summary.setAges(now)
	if v.cfg.entryRules != nil && len(r.Errors) == 0 {
		e := v.cfg.entryRules.Evaluate(r.Summary, now) // verified content only
		r.Entry = &e
	}
	for _, w := range warns {
		r.warn(w)
	}
	return r
}

// checkTime enforces nbf (with leeway) and exp (exactly), PAY-2/PAY-3.
func (v *Verifier) checkTime(p *shc.Payload, now time.Time, r *Result) *Error {
	nowF := float64(now.UnixNano()) / 1e9
	nbf := float64(p.NotBefore)
	if nbf > nowF+v.leeway.Seconds() {
		if nbf > msThreshold {
			return newErr(CodeNotYetValid, StepTime, "nbf %s looks like milliseconds, not seconds (PAY-2)", fmtNum(nbf))
		}
		return newErr(CodeNotYetValid, StepTime, "nbf %s is after now %s plus leeway %s",
			p.NotBefore.Time().Format(time.RFC3339), now.UTC().Format(time.RFC3339), v.leeway)
	}
	if p.Expires != nil {
		exp := float64(*p.Expires)
		if exp > msThreshold {
			r.warn(fmt.Sprintf("exp %s looks like milliseconds, not seconds (PAY-3)", fmtNum(exp)))
		}
		if exp < nowF {
			return newErr(CodeExpired, StepTime, "expired at %s (PAY-3)", p.Expires.Time().Format(time.RFC3339))
		}
	}
	detail := "issued " + p.NotBefore.Time().Format(time.RFC3339)
	if p.Expires != nil {
		detail += ", expires " + p.Expires.Time().Format(time.RFC3339)
	}
	r.check(StepTime, CheckPassed, detail)
	return nil
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// finish sets the verdict from the recorded errors: the worst of
// VerdictFor their codes (VerdictRank), and the advice of the code that
// decided it.
func (r *Result) finish() {
	r.Verdict = VerdictVerified
	var decided Code
	for _, e := range r.Errors {
		v := VerdictFor(e.Code)
		if e.Code == "" {
			v = VerdictInvalid // an error without a code: fail closed
		}
		if VerdictRank(v) > VerdictRank(r.Verdict) {
			r.Verdict, decided = v, e.Code
		}
	}
	r.Valid = r.Verdict == VerdictVerified
	if !r.Valid {
		r.Entry = nil
	}
	r.Advice = AdviceFor(decided)
	if decided == "" && !r.Valid {
		r.Advice = adviceInvalid
	}
	if !r.Valid && !r.signatureVerified() {
		// Unverified or rejected: keep the identification fields for
		// diagnostics only when the signature verified.
		r.Issuer, r.KeyID, r.NotBefore, r.Expires, r.Types, r.RID, r.FHIRBundle, r.Summary = "", "", nil, nil, nil, "", nil, nil
	}
}

func (r *Result) signatureVerified() bool {
	for _, c := range r.Checks {
		if c.Name == StepSignature && c.Status == CheckPassed {
			return true
		}
	}
	return false
}

// decodeImage returns the text of the QR code in a PNG, JPEG or SVG image
// (SMART Health Card text or a SMART Health Link; the caller tells them
// apart) through the decoder the caller wired in. Without one, an image is
// refused with image_unsupported: the library links no image code itself.
func decodeImage(ctx context.Context, dec ImageDecoder, b []byte) (string, error) {
	if dec == nil {
		return "", newErr(CodeImageUnsupported, StepDecode, "an image was given, but this verifier reads text only (no image decoder configured: WithImageDecoder)")
	}
	text, err := dec(ctx, b)
	if err != nil {
		if CodeOf(err) != "" {
			return "", err
		}
		return "", wrapErr(CodeMalformedQR, StepDecode, err) // a decoder error without a code
	}
	return text, nil
}

func isSVG(b []byte) bool {
	s := bytes.TrimSpace(b[:min(len(b), 256)])
	return bytes.HasPrefix(s, []byte("<svg")) || bytes.HasPrefix(s, []byte("<?xml"))
}
