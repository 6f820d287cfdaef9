package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/healthcards/healthcards/verifier"
)

// LinkVerifier resolves SMART Health Links with a passcode. When
// Config.Verifier also implements it (*verifier.Verifier and *Trust do),
// POST /v1/verify accepts links with a passcode and answers with their
// unverified FHIR content too; otherwise links go through Verify (no
// passcode: P links fail with passcode_required).
type LinkVerifier interface {
	VerifyLink(ctx context.Context, link string, opts verifier.LinkOptions) (*verifier.LinkResult, error)
}

// StatsVerifier reports the verifier library's cache and fetch counters.
// When Config.Verifier implements it, /metrics exports them.
type StatsVerifier interface {
	Stats() verifier.Stats
}

var (
	_ LinkVerifier  = (*verifier.Verifier)(nil)
	_ StatsVerifier = (*verifier.Verifier)(nil)
)

// maxPasscodeBytes bounds the passcode a request may carry (the shl
// package's MaxPasscodeLen).
const maxPasscodeBytes = 256

// NotVerifiedNotice is sent with every piece of unverified link content.
const NotVerifiedNotice = "NOT VERIFIED: shared by the link's sender without a signature. Do not rely on it as proof."

// LinkInfo describes the SMART Health Link a response came from. Only the
// response's cards were verified; everything here is what the sharer wrote
// or shared without a signature.
type LinkInfo struct {
	// Label, Flag and ExpiresAt come from the link itself: unauthenticated
	// hints written by the sharer.
	Label     string `json:"label,omitempty"`
	Flag      string `json:"flag,omitempty"`
	ExpiresAt string `json:"expiresAt,omitempty"`
	// Files is the number of files in the link; Cards the number of cards
	// found in them (each is an entry of the response's cards).
	Files int `json:"files"`
	Cards int `json:"cards"`
	// UnverifiedFHIR lists the link's application/fhir+json files. NOT
	// VERIFIED: no signature covers them.
	UnverifiedFHIR []UnverifiedContent `json:"unverifiedFhir,omitempty"`
	Warnings       []string            `json:"warnings,omitempty"`
}

// UnverifiedContent summarises one decrypted application/fhir+json file of
// a link. Verified is always false. The data itself is sent only with
// ?include=bundle, as unverifiedData.
type UnverifiedContent struct {
	Verified     bool            `json:"verified"`
	Notice       string          `json:"notice"`
	File         int             `json:"file"`
	ResourceType string          `json:"resourceType,omitempty"`
	BundleType   string          `json:"bundleType,omitempty"`
	Entries      int             `json:"entries"`
	Resources    []ResourceCount `json:"resources,omitempty"`
	FHIRVersion  string          `json:"fhirVersion,omitempty"`
	LastUpdated  string          `json:"lastUpdated,omitempty"`
	Data         json.RawMessage `json:"unverifiedData,omitempty"`
}

// ResourceCount counts the entries of one resource type.
type ResourceCount struct {
	ResourceType string `json:"resourceType"`
	Count        int    `json:"count"`
}

// maxResourceTypes bounds the distinct resource types listed per file;
// the rest count as "other".
const maxResourceTypes = 32

// summarizeFHIR counts what a FHIR resource (usually a Bundle) holds:
// resource types and counts only, never values.
func summarizeFHIR(f verifier.UnverifiedFHIR, includeData bool) UnverifiedContent {
	u := UnverifiedContent{Notice: NotVerifiedNotice, File: f.File, FHIRVersion: f.FHIRVersion, LastUpdated: f.LastUpdated}
	var probe struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if json.Unmarshal(f.UnverifiedData, &probe) == nil {
		u.ResourceType = safeName(probe.ResourceType)
		if u.ResourceType == "Bundle" {
			u.BundleType = safeName(probe.Type)
			u.Entries = len(probe.Entry)
			counts := map[string]int{}
			for _, e := range probe.Entry {
				rt := safeName(e.Resource.ResourceType)
				if rt == "" {
					rt = "other"
				}
				if _, ok := counts[rt]; !ok && len(counts) >= maxResourceTypes {
					rt = "other"
				}
				counts[rt]++
			}
			for rt, n := range counts {
				u.Resources = append(u.Resources, ResourceCount{rt, n})
			}
			sort.Slice(u.Resources, func(i, j int) bool {
				if u.Resources[i].Count != u.Resources[j].Count {
					return u.Resources[i].Count > u.Resources[j].Count
				}
				return u.Resources[i].ResourceType < u.Resources[j].ResourceType
			})
		}
	}
	if includeData {
		u.Data = f.UnverifiedData
	}
	return u
}

// safeName keeps a FHIR type or code name when it is a short ASCII word
// (letters, digits, '-'), else returns "".
func safeName(s string) string {
	if len(s) == 0 || len(s) > 64 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return ""
		}
	}
	return s
}

// isLinkCode reports whether code is one of the SMART Health Link codes.
func isLinkCode(code verifier.Code) bool {
	switch code {
	case verifier.CodeMalformedLink, verifier.CodeLinkUnsupportedVersion, verifier.CodeLinkExpired,
		verifier.CodeLinkNotFound, verifier.CodePasscodeRequired, verifier.CodePasscodeWrong,
		verifier.CodeDecryptFailed, verifier.CodeMalformedManifest, verifier.CodeLinkFetchFailed,
		verifier.CodeLinkTooLarge, verifier.CodeLinkWithoutCards:
		return true
	}
	return false
}

// verifyLink resolves link with passcode and answers with its cards and,
// separately, its unverified FHIR content. The link and the passcode are
// never logged.
func (s *Server) verifyLink(c ctxResponder, ctx context.Context, lv LinkVerifier, link, passcode string, includeBundle bool, n int, start time.Time) error {
	lr, err := lv.VerifyLink(ctx, link, verifier.LinkOptions{Passcode: passcode})
	if err != nil {
		return s.linkFailed(ctx, err, n, start)
	}
	s.metrics.ObserveLink("ok")
	resp, verdicts, codes := s.buildResponse(lr.Cards, includeBundle)
	info := &LinkInfo{Label: lr.Label, Flag: lr.Flag, Files: len(lr.Files), Cards: len(lr.Cards), Warnings: lr.Warnings}
	if lr.Expires != nil {
		info.ExpiresAt = lr.Expires.UTC().Format(time.RFC3339)
	}
	for _, f := range lr.UnverifiedFHIR {
		info.UnverifiedFHIR = append(info.UnverifiedFHIR, summarizeFHIR(f, includeBundle))
	}
	resp.Link = info
	if len(resp.Cards) == 0 {
		// Nothing signed: the door cannot accept this as proof.
		resp.Verdict = verifier.VerdictFor(verifier.CodeLinkWithoutCards)
		resp.Message = plainReason(verifier.CodeLinkWithoutCards)
		resp.Advice = verifier.AdviceFor(verifier.CodeLinkWithoutCards)
		s.metrics.ObserveVerification(string(resp.Verdict), string(verifier.CodeLinkWithoutCards))
	}
	s.log.LogAttrs(ctx, levelInfo, "link resolution", strAttr("outcome", "ok"),
		attrStrings("verdicts", verdicts), attrStrings("codes", codes),
		intAttr("cards", len(lr.Cards)), intAttr("unverified_files", len(lr.UnverifiedFHIR)),
		intAttr("input_bytes", n), strAttr("duration", time.Since(start).Round(time.Microsecond).String()))
	return writeJSON(c.Response(), http.StatusOK, resp)
}

// ctxResponder is the part of *echo.Context verifyLink needs.
type ctxResponder interface {
	Response() http.ResponseWriter
}

// linkFailed answers a link that could not be resolved, counting the
// outcome. Problem details name the code only: never the link, its URL or
// the passcode.
func (s *Server) linkFailed(ctx context.Context, err error, n int, start time.Time) error {
	if errors.Is(err, errNotReady) {
		return newProblem(http.StatusServiceUnavailable, CodeNotReady, err.Error())
	}
	if ctx.Err() != nil {
		s.metrics.ObserveLink(string(CodeTimeout))
		return newProblem(http.StatusGatewayTimeout, CodeTimeout, "resolving the link did not finish in time")
	}
	code := verifier.CodeOf(err)
	if code == "" {
		code = verifier.CodeLinkFetchFailed
	}
	s.metrics.ObserveLink(string(code))
	s.log.LogAttrs(ctx, levelInfo, "link resolution", strAttr("outcome", string(code)),
		intAttr("input_bytes", n), strAttr("duration", time.Since(start).Round(time.Microsecond).String()))
	status := http.StatusUnprocessableEntity
	detail := "the SMART Health Link could not be resolved (" + string(code) + ")"
	switch code {
	case verifier.CodePasscodeRequired:
		status, detail = http.StatusUnauthorized, `the link has the P flag: send its passcode as "passcode" in the JSON body or multipart form`
	case verifier.CodePasscodeWrong:
		status, detail = http.StatusUnauthorized, "the link's server refused the passcode"
	case verifier.CodeLinkFetchFailed:
		status = http.StatusBadGateway
	case verifier.CodeConfig:
		status = http.StatusInternalServerError
	}
	p := newProblem(status, code, detail)
	if code == verifier.CodePasscodeWrong || code == verifier.CodePasscodeRequired {
		if left := verifier.LinkRemainingAttempts(err); left >= 0 {
			p.RemainingAttempts = &left
			if code == verifier.CodePasscodeWrong {
				p.Title = wrongPasscodeTitle(left)
			}
		}
	}
	return p
}

func wrongPasscodeTitle(left int) string {
	switch left {
	case 0:
		return "The passcode is not correct. No attempts are left: the link is now locked. Ask the person sharing it for a new link."
	case 1:
		return "The passcode is not correct. 1 attempt is left before the link is locked."
	}
	return fmt.Sprintf("The passcode is not correct. %d attempts are left before the link is locked.", left)
}

// trimLink returns the link text of an input that verifier.IsLink accepted.
func trimLink(input []byte) string { return string(bytes.TrimSpace(input)) }
