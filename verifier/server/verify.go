package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/internal/jsonlite"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/verifier"
)

// ResponseMediaType versions the JSON body of a successful POST /v1/verify.
const ResponseMediaType = "application/vnd.healthcards.verify-response.v1+json"

// VerifyRequest is the JSON body of POST /v1/verify.
type VerifyRequest struct {
	// Input is any card form: a compact JWS, shc:/ text (legacy chunks
	// separated by white space, in any order), the contents of a
	// .smart-health-card file or a FHIR Parameters response, or a SMART
	// Health Link (shlink:/…, bare or behind a viewer URL).
	Input string `json:"input"`
	// Passcode is the passcode of a SMART Health Link with the P flag. It
	// is sent to the link's server only, never logged or kept. It is
	// accepted only in the body (here or as the multipart field
	// "passcode"), never in the URL.
	Passcode string `json:"passcode,omitempty"`
}

// VerifyResponse is the answer to POST /v1/verify: the overall verdict (the
// worst of the cards), a sentence in plain words, and one entry per card.
type VerifyResponse struct {
	MediaType string           `json:"mediaType"`
	Verdict   verifier.Verdict `json:"verdict"`
	Message   string           `json:"message"`
	// Advice is one line telling staff what to do next (the Advice of the
	// card that decided the verdict).
	Advice string       `json:"advice"`
	Cards  []CardResult `json:"cards"`
	// Entry says whether the venue's entry rule (--entry-rules) is met:
	// by the first verified card that meets it, else as the first verified
	// card was judged. Absent without a rule or without a verified card.
	Entry *verifier.EntryResult `json:"entry,omitempty"`
	// Link is set when the input was a SMART Health Link: what the link
	// said and its unverified FHIR content (only Cards are verified).
	Link *LinkInfo `json:"link,omitempty"`
}

// CardResult is the library's Result for one card (its fields are inlined)
// plus plain-words text for people. fhirBundle is present only when the
// caller asked for it with ?include=bundle.
type CardResult struct {
	*verifier.Result
	// Message says in plain words what the verdict means.
	Message string `json:"message"`
	// Reasons lists why the card did not verify, with stable codes.
	Reasons []Reason `json:"reasons,omitempty"`
	// IssuedAt and ExpiresAt are nbf and exp as RFC 3339 times (UTC).
	IssuedAt  string `json:"issuedAt,omitempty"`
	ExpiresAt string `json:"expiresAt,omitempty"`
}

// Reason is one failure: a stable code and a sentence in plain words.
type Reason struct {
	Code    verifier.Code `json:"code"`
	Message string        `json:"message"`
}

// errNotReady is returned by a CardVerifier that cannot verify yet (its
// trust sources are not loaded); the server answers 503.
var errNotReady = errors.New("trust sources not loaded yet")

func (s *Server) handleVerify(c *echo.Context) error {
	start := time.Now()
	s.metrics.inFlight.Add(1)
	defer s.metrics.inFlight.Add(-1)
	defer func() { s.metrics.ObserveLatency(time.Since(start)) }()

	req := c.Request()
	if _, ok := req.URL.Query()["passcode"]; ok {
		return newProblem(http.StatusBadRequest, CodeBadRequest, `a passcode is never accepted in the URL: send it as "passcode" in the JSON body or multipart form`)
	}
	ctx, cancel := context.WithTimeout(req.Context(), s.cfg.VerifyTimeout)
	defer cancel()
	large := s.isLarge(req)
	if large {
		// Large bodies, images and uploads take one of a few slots before
		// the body is read: they cannot hold the memory and CPU that
		// small card requests need (issue 10).
		if p := s.takeLarge(ctx); p != nil {
			return p
		}
		defer func() { <-s.large }()
	}
	input, passcode, p := s.readInput(c.Response(), req)
	if p != nil {
		return p
	}
	if !large && looksLikeImage(input) {
		// A small image sent as text or JSON (an SVG is text): decoding
		// it is image work all the same.
		if p := s.takeLarge(ctx); p != nil {
			return p
		}
		defer func() { <-s.large }()
	}
	includeBundle := false
	for _, v := range strings.Split(c.QueryParam("include"), ",") {
		if strings.TrimSpace(v) == "bundle" {
			includeBundle = true
		}
	}

	if s.fetchLimiter != nil {
		// Fetches for cards (key sets, revocation lists) count against the
		// client's per-minute budget (issue 10).
		ip := c.RealIP()
		ctx = verifier.ContextWithFetchLimit(ctx, func() bool { ok, _ := s.fetchLimiter.allow(ip); return ok })
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return newProblem(http.StatusServiceUnavailable, CodeTimeout, "too many verifications in progress")
	}
	defer func() { <-s.sem }()
	if cost := s.imageCost(input); cost > 0 {
		// The image's estimated decoding memory is charged against the
		// service's image budget before decoding (issue 10).
		if cost > min(s.cfg.MaxImageBytes, s.cfg.MaxImageMemoryBytes) {
			s.metrics.ObserveVerification(string(verifier.VerdictFor(qr.CodeImageTooLarge)), string(qr.CodeImageTooLarge))
			return newProblem(http.StatusUnprocessableEntity, qr.CodeImageTooLarge, "the image would take too much memory to decode")
		}
		if err := s.imageMem.Acquire(ctx, cost); err != nil {
			return newProblem(http.StatusServiceUnavailable, CodeTimeout, "too many images being decoded")
		}
		defer s.imageMem.Release(cost)
	}
	lv, _ := s.cfg.Verifier.(LinkVerifier)
	if lv != nil && verifier.IsLink(input) {
		return s.verifyLink(c, ctx, lv, trimLink(input), passcode, includeBundle, len(input), start)
	}
	results, err := s.cfg.Verifier.Verify(ctx, input)
	if err != nil {
		if code := verifier.CodeOf(err); isLinkCode(code) && ctx.Err() == nil {
			// A QR image of a link: the library decoded and bounded the
			// image and found a link. Resolve it with the passcode (no
			// request was sent for passcode_required) so its unverified
			// content is shown too.
			if lv != nil && (code == verifier.CodePasscodeRequired || code == verifier.CodeLinkWithoutCards) {
				if link, ok := verifier.LinkFromInput(ctx, input, qr.DecodeImage); ok {
					return s.verifyLink(c, ctx, lv, link, passcode, includeBundle, len(input), start)
				}
			}
			return s.linkFailed(ctx, err, len(input), start)
		}
		return s.verifyFailed(ctx, err, len(input), start)
	}

	resp, verdicts, codes := s.buildResponse(results, includeBundle)
	s.logFetchFailures(ctx, results)
	if len(resp.Cards) == 0 {
		return s.verifyFailed(ctx, &verifier.Error{Code: verifier.CodeMalformedInput, Step: verifier.StepDecode}, len(input), start)
	}
	kind := resp.Cards[len(resp.Cards)-1].InputKind
	if kind == "shlink" {
		s.metrics.ObserveLink("ok") // a link without passcode, read from a QR image
	}
	// Only verdicts, codes and sizes are logged: never names, birth dates,
	// bundles, issuer claims or the input.
	// The line is bounded: verdict counts and the first few codes, never
	// one entry per card.
	s.log.LogAttrs(ctx, levelInfo, "verification",
		verdictCounts(verdicts), attrStrings("codes", firstCodes(codes)),
		intAttr("cards", len(resp.Cards)), strAttr("input_kind", kind),
		intAttr("input_bytes", len(input)), strAttr("duration", time.Since(start).Round(time.Microsecond).String()))
	return writeJSON(c.Response(), http.StatusOK, resp)
}

// imageCost returns the estimated decoding memory of a PNG or JPEG input,
// or 0 (not an image, no estimator, or an image the decoder will refuse
// anyway).
func (s *Server) imageCost(input []byte) int64 {
	if s.cfg.ImageCost == nil || !(bytes.HasPrefix(input, []byte("\x89PNG\r\n\x1a\n")) || bytes.HasPrefix(input, []byte{0xFF, 0xD8, 0xFF})) {
		return 0
	}
	n, err := s.cfg.ImageCost(input)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// takeLarge waits for a large-request slot until ctx ends.
func (s *Server) takeLarge(ctx context.Context) *Problem {
	select {
	case s.large <- struct{}{}:
		return nil
	case <-ctx.Done():
		return newProblem(http.StatusServiceUnavailable, CodeTimeout, "too many large verifications in progress")
	}
}

// looksLikeImage reports whether input is a PNG, JPEG or SVG (as the
// library tells them apart).
func looksLikeImage(input []byte) bool {
	if bytes.HasPrefix(input, []byte("\x89PNG\r\n\x1a\n")) || bytes.HasPrefix(input, []byte{0xFF, 0xD8, 0xFF}) {
		return true
	}
	head := bytes.TrimSpace(input[:min(len(input), 256)])
	return bytes.HasPrefix(head, []byte("<svg")) || bytes.HasPrefix(head, []byte("<?xml"))
}

// isLarge reports whether req goes through the large-request slots: a body
// over LargeBodyBytes or of unknown length, an image or a multipart upload.
func (s *Server) isLarge(req *http.Request) bool {
	if req.ContentLength < 0 || req.ContentLength > s.cfg.LargeBodyBytes {
		return true
	}
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	return strings.HasPrefix(mt, "image/") || strings.HasPrefix(mt, "multipart/")
}

// buildResponse turns results into the response (worst verdict first),
// counts each card in the metrics, and returns the verdicts and first
// reason codes for the log.
func (s *Server) buildResponse(results []*verifier.Result, includeBundle bool) (VerifyResponse, []string, []string) {
	resp := VerifyResponse{MediaType: ResponseMediaType, Verdict: verifier.VerdictVerified, Cards: make([]CardResult, 0, len(results))}
	verdicts := make([]string, 0, len(results))
	codes := make([]string, 0, len(results))
	for _, r := range results {
		if r == nil {
			continue
		}
		cr := toCardResult(r, includeBundle)
		resp.Cards = append(resp.Cards, cr)
		if r.Entry != nil && r.Verdict == verifier.VerdictVerified && (resp.Entry == nil || !resp.Entry.Met && r.Entry.Met) {
			resp.Entry = r.Entry
		}
		if worse(r.Verdict, resp.Verdict) {
			resp.Verdict = r.Verdict
			resp.Message = cr.Message
			resp.Advice = r.Advice
		}
		code := ""
		if len(cr.Reasons) > 0 {
			code = string(cr.Reasons[0].Code)
		}
		s.metrics.ObserveVerification(string(r.Verdict), code)
		s.observeFetchFailures(r)
		verdicts = append(verdicts, string(r.Verdict))
		codes = append(codes, code)
	}
	if resp.Message == "" && len(resp.Cards) > 0 {
		resp.Message = resp.Cards[0].Message
		resp.Advice = resp.Cards[0].Advice
	}
	return resp, verdicts, codes
}

// verifyFailed answers an input that held no card (or a timeout).
func (s *Server) verifyFailed(ctx context.Context, err error, n int, start time.Time) error {
	if errors.Is(err, errNotReady) {
		return newProblem(http.StatusServiceUnavailable, CodeNotReady, err.Error())
	}
	if ctx.Err() != nil {
		s.metrics.ObserveVerification(string(problemVerdict(CodeTimeout)), string(CodeTimeout))
		return newProblem(http.StatusGatewayTimeout, CodeTimeout, "verification did not finish in time")
	}
	code := verifier.CodeOf(err)
	if code == "" {
		code = verifier.CodeMalformedInput
	}
	s.metrics.ObserveVerification(string(problemVerdict(code)), string(code))
	s.log.LogAttrs(ctx, levelInfo, "no card in input", strAttr("code", string(code)),
		intAttr("input_bytes", n), strAttr("duration", time.Since(start).Round(time.Microsecond).String()))
	status := http.StatusUnprocessableEntity
	if code == verifier.CodeConfig {
		status = http.StatusInternalServerError
	}
	// The detail is the library's message for the failed step; format
	// errors describe structure, never claim values.
	return newProblem(status, code, "no verifiable card in the input ("+string(code)+")")
}

// observeFetchFailures counts the fetch failures a result reports.
func (s *Server) observeFetchFailures(r *verifier.Result) {
	for _, e := range r.Errors {
		switch e.Code {
		case verifier.CodeIssuerUnreachable:
			s.metrics.ObserveFetch("issuer", true)
		case verifier.CodeRevocationUnavailable:
			s.metrics.ObserveFetch("revocation", true)
		}
	}
	for _, ch := range r.Checks {
		if ch.Name == verifier.StepRevocation && ch.Status == verifier.CheckWarning {
			s.metrics.ObserveFetch("revocation", true)
		}
	}
}

// worse reports whether verdict a is worse than b: invalid > issuer not
// trusted > unable to check > verified (verifier.VerdictRank).
func worse(a, b verifier.Verdict) bool { return verifier.VerdictRank(a) > verifier.VerdictRank(b) }

func toCardResult(r *verifier.Result, includeBundle bool) CardResult {
	rc := *r
	// The bundle goes out only when asked for, and only for a card that
	// verified: never the content of a revoked, expired or untrusted card.
	if !includeBundle || r.Verdict != verifier.VerdictVerified {
		rc.FHIRBundle = nil
	}
	cr := CardResult{Result: &rc, Message: cardMessage(r)}
	if r.Verdict != verifier.VerdictVerified {
		seen := map[verifier.Code]bool{}
		for _, e := range r.Errors {
			if e.Code == "" || seen[e.Code] {
				continue
			}
			seen[e.Code] = true
			cr.Reasons = append(cr.Reasons, Reason{Code: e.Code, Message: plainReason(e.Code)})
		}
		if len(cr.Reasons) == 0 {
			code := verifier.CodeOf(r.Err())
			if code == "" && r.Verdict == verifier.VerdictUntrusted {
				code = verifier.CodeUntrustedIssuer
			}
			if code != "" {
				cr.Reasons = append(cr.Reasons, Reason{Code: code, Message: plainReason(code)})
			}
		}
	}
	if r.NotBefore != nil {
		cr.IssuedAt = r.NotBefore.Time().UTC().Format(time.RFC3339)
	}
	if r.Expires != nil {
		cr.ExpiresAt = r.Expires.Time().UTC().Format(time.RFC3339)
	}
	return cr
}

// readInput reads the card input, and the passcode of a SMART Health Link
// when one is sent, from the request body in any accepted form, within
// MaxBodyBytes.
func (s *Server) readInput(w http.ResponseWriter, req *http.Request) ([]byte, string, *Problem) {
	limit := s.cfg.MaxBodyBytes
	if req.ContentLength > limit {
		return nil, "", newProblem(http.StatusRequestEntityTooLarge, CodeBodyTooLarge,
			fmt.Sprintf("body of %d bytes exceeds the %d-byte limit", req.ContentLength, limit))
	}
	ct := req.Header.Get("Content-Type")
	if ct == "" {
		return nil, "", newProblem(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type is required")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, "", newProblem(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "unreadable Content-Type")
	}
	body := http.MaxBytesReader(w, req.Body, limit)
	switch mt {
	case "application/json":
		raw, p := readAll(body, limit)
		if p != nil {
			return nil, "", p
		}
		// Member names are matched exactly: encoding/json alone would
		// accept {"INPUT": …} and let a repeated member win (issue 10).
		var vr VerifyRequest
		if err := jsonlite.DecodeExact(raw, &vr); err != nil {
			return nil, "", newProblem(http.StatusBadRequest, CodeBadRequest, `body is not {"input": "<card>"} (with "passcode" for a protected link; names are case-sensitive, each at most once)`)
		}
		if strings.TrimSpace(vr.Input) == "" {
			return nil, "", newProblem(http.StatusBadRequest, CodeMissingInput, `"input" is empty`)
		}
		if len(vr.Passcode) > maxPasscodeBytes {
			return nil, "", passcodeTooLong()
		}
		return []byte(vr.Input), vr.Passcode, nil
	case shc.FileMediaType, "application/jose", "text/plain", "image/png", "image/jpeg":
		raw, p := readAll(body, limit)
		if p != nil {
			return nil, "", p
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			return nil, "", newProblem(http.StatusBadRequest, CodeMissingInput, "empty body")
		}
		return raw, "", nil
	case "multipart/form-data":
		return readMultipart(body, params["boundary"], limit)
	}
	return nil, "", newProblem(http.StatusUnsupportedMediaType, CodeUnsupportedMedia,
		"Content-Type "+strconv.Quote(mt)+" is not accepted (use application/json, "+shc.FileMediaType+", text/plain, image/png, image/jpeg or multipart/form-data)")
}

func passcodeTooLong() *Problem {
	return newProblem(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("passcode longer than %d bytes", maxPasscodeBytes))
}

// maxMultipartParts bounds the parts read from one upload.
const maxMultipartParts = 8

// readMultipart returns the first part named image or file (an image or a
// .smart-health-card file), or else a part named input (card text), and
// the part named passcode, if any.
func readMultipart(body io.Reader, boundary string, limit int64) ([]byte, string, *Problem) {
	if boundary == "" {
		return nil, "", newProblem(http.StatusBadRequest, CodeMalformedMultipart, "multipart body without a boundary")
	}
	mr := multipart.NewReader(body, boundary)
	var text, found []byte
	var passcode string
	malformed := func(err error) *Problem {
		if isTooLarge(err) {
			return tooLarge(limit)
		}
		return newProblem(http.StatusBadRequest, CodeMalformedMultipart, "malformed multipart body")
	}
	for i := 0; ; i++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", malformed(err)
		}
		if i >= maxMultipartParts {
			return nil, "", newProblem(http.StatusBadRequest, CodeMalformedMultipart, fmt.Sprintf("more than %d parts", maxMultipartParts))
		}
		name := part.FormName()
		if name == "passcode" {
			b, err := io.ReadAll(io.LimitReader(part, maxPasscodeBytes+1))
			if err != nil {
				return nil, "", malformed(err)
			}
			if len(b) > maxPasscodeBytes {
				return nil, "", passcodeTooLong()
			}
			passcode = string(b)
			continue
		}
		if name != "image" && name != "file" && name != "input" || found != nil {
			if _, err := io.Copy(io.Discard, part); err != nil {
				return nil, "", malformed(err)
			}
			continue
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, "", malformed(err)
		}
		if name == "input" {
			if text == nil {
				text = data
			}
			continue
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, "", newProblem(http.StatusBadRequest, CodeMissingInput, "the "+name+" part is empty")
		}
		found = data // keep reading: the passcode may follow
	}
	if found != nil {
		return found, passcode, nil
	}
	if len(bytes.TrimSpace(text)) > 0 {
		return text, passcode, nil
	}
	return nil, "", newProblem(http.StatusBadRequest, CodeMissingInput, `no "image", "file" or "input" part`)
}

func readAll(r io.Reader, limit int64) ([]byte, *Problem) {
	b, err := io.ReadAll(r)
	if err != nil {
		if isTooLarge(err) {
			return nil, tooLarge(limit)
		}
		return nil, newProblem(http.StatusBadRequest, CodeBadRequest, "could not read the request body")
	}
	return b, nil
}

func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func tooLarge(limit int64) *Problem {
	return newProblem(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Sprintf("body exceeds the %d-byte limit", limit))
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(v); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}
