package verifier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shl"
)

// SMART Health Link codes (shc-rules §13). They have the values of the shl
// package's codes, so a client can switch on one set of strings.
const (
	// CodeMalformedLink: not a shlink (bare or behind a viewer URL), or its
	// payload is invalid (SHL-2..7).
	CodeMalformedLink Code = Code(shl.CodeMalformedLink)
	// CodeLinkUnsupportedVersion: the payload's v is newer than 1; nothing
	// was fetched (SHL-8).
	CodeLinkUnsupportedVersion Code = Code(shl.CodeUnsupportedVersion)
	// CodeLinkExpired: the payload's exp has passed; nothing was fetched.
	CodeLinkExpired Code = Code(shl.CodeLinkExpired)
	// CodeLinkNotFound: the server answered 404 (unknown, revoked, expired
	// or locked after too many wrong passcodes, SHL-10).
	CodeLinkNotFound Code = Code(shl.CodeLinkNotFound)
	// CodePasscodeRequired: the link has the P flag and no passcode was
	// given (nothing was sent).
	CodePasscodeRequired Code = Code(shl.CodePasscodeRequired)
	// CodePasscodeWrong: the server refused the passcode (401);
	// LinkRemainingAttempts tells how many tries are left.
	CodePasscodeWrong Code = Code(shl.CodePasscodeWrong)
	// CodeDecryptFailed: a file is not a dir/A256GCM JWE under the link's
	// key, or its cty contradicts the manifest (SHL-17).
	CodeDecryptFailed Code = Code(shl.CodeDecryptFailed)
	// CodeMalformedManifest: the manifest is not valid (SHL-11).
	CodeMalformedManifest Code = Code(shl.CodeMalformedManifest)
	// CodeLinkFetchFailed: a manifest or file fetch failed (network,
	// timeout, refused address, status, size cap).
	CodeLinkFetchFailed Code = Code(shl.CodeFetchFailed)
	// CodeLinkTooLarge: a manifest, file count or decrypted size bound was
	// exceeded.
	CodeLinkTooLarge Code = Code(shl.CodeTooLarge)
	// CodeLinkWithoutCards: Verify was given a link that holds no SMART
	// Health Card (only FHIR data, which VerifyLink returns unverified).
	CodeLinkWithoutCards Code = "link_without_cards"
)

// StepLink is the pipeline step of link resolution (shc-rules §13).
const StepLink = "link"

// Sentinels for errors.Is on link failures.
var (
	ErrMalformedLink     = &Error{Pkg: pkg, Code: CodeMalformedLink}
	ErrLinkExpired       = &Error{Pkg: pkg, Code: CodeLinkExpired}
	ErrLinkNotFound      = &Error{Pkg: pkg, Code: CodeLinkNotFound}
	ErrPasscodeRequired  = &Error{Pkg: pkg, Code: CodePasscodeRequired}
	ErrPasscodeWrong     = &Error{Pkg: pkg, Code: CodePasscodeWrong}
	ErrDecryptFailed     = &Error{Pkg: pkg, Code: CodeDecryptFailed}
	ErrLinkWithoutCards  = &Error{Pkg: pkg, Code: CodeLinkWithoutCards}
	ErrLinkFetchFailed   = &Error{Pkg: pkg, Code: CodeLinkFetchFailed}
	ErrMalformedManifest = &Error{Pkg: pkg, Code: CodeMalformedManifest}
)

// Link defaults.
const (
	// DefaultLinkRecipient is sent as the manifest request's recipient
	// (SHL-9) when LinkOptions.Recipient is empty.
	DefaultLinkRecipient = "healthcards verifier"
	// DefaultLinkTimeout bounds a whole VerifyLink: every manifest and file
	// fetch (each also bounded by the fetch timeout) and the verification
	// of the cards inside.
	DefaultLinkTimeout = 60 * time.Second
)

// LinkResultMediaType versions the JSON form of LinkResult.
const LinkResultMediaType = "application/vnd.healthcards.link-result.v1+json"

// LinkOptions are the caller's values for one link.
type LinkOptions struct {
	// Passcode is sent when the link has the P flag (SHL-9). Without it a P
	// link fails with passcode_required before anything is fetched.
	Passcode string
	// Recipient names the verifier to the sharer (SHL-9; it shows in the
	// sharer's access log). Empty means DefaultLinkRecipient.
	Recipient string
	// Timeout bounds the whole call; 0 means DefaultLinkTimeout.
	Timeout time.Duration
}

// LinkResult is what a SMART Health Link held.
//
// Only the entries of Cards were verified (each is a normal Result: check
// its Verdict). UnverifiedFHIR is decrypted FHIR content the sharer put in
// the link: nobody signed it, so show it as "shared by the link's sender,
// not verified", never with the verified mark.
type LinkResult struct {
	MediaType string `json:"mediaType"`
	// Label, Flag and Expires come from the link payload (unauthenticated
	// hints written by the sharer).
	Label   string     `json:"label,omitempty"`
	Flag    string     `json:"flag,omitempty"`
	Expires *time.Time `json:"exp,omitempty"`
	// ManifestFetched is when the manifest (or a U link's file) was fetched.
	ManifestFetched time.Time `json:"manifestFetched"`

	// Cards holds one Result per card found in the link's
	// application/smart-health-card files, in file order; Index counts
	// across files and InputKind is "shlink".
	Cards []*Result `json:"cards"`
	// UnverifiedFHIR holds the decrypted application/fhir+json files. NOT
	// VERIFIED: no signature covers them.
	UnverifiedFHIR []UnverifiedFHIR `json:"unverifiedFhir,omitempty"`
	// Files describes every file of the manifest, in order.
	Files    []LinkFile `json:"files"`
	Warnings []string   `json:"warnings,omitempty"`
}

// Valid reports whether the link held at least one card and every card
// verified.
func (r *LinkResult) Valid() bool {
	if r == nil || len(r.Cards) == 0 {
		return false
	}
	for _, c := range r.Cards {
		if !c.Valid {
			return false
		}
	}
	return true
}

// LinkFile describes one file of a link.
type LinkFile struct {
	Index       int    `json:"index"`
	ContentType string `json:"contentType"` // the manifest's, or sniffed when a U link's JWE has no cty
	Status      string `json:"status,omitempty"`
	LastUpdated string `json:"lastUpdated,omitempty"`
	FHIRVersion string `json:"fhirVersion,omitempty"`
	// Cards is how many entries of LinkResult.Cards came from this file.
	Cards int `json:"cards,omitempty"`
	// Note says why a file was not used (unsupported type, not JSON).
	Note string `json:"note,omitempty"`
}

// UnverifiedFHIR is one decrypted application/fhir+json file. The JSON
// member is named unverifiedData on purpose.
type UnverifiedFHIR struct {
	File           int             `json:"file"`
	FHIRVersion    string          `json:"fhirVersion,omitempty"`
	LastUpdated    string          `json:"lastUpdated,omitempty"`
	UnverifiedData json.RawMessage `json:"unverifiedData"`
}

// LinkRemainingAttempts returns the passcode attempts the server said are
// left, from a passcode_wrong (or passcode_required) error; -1 when unknown.
func LinkRemainingAttempts(err error) int { return shl.RemainingAttempts(err) }

// IsLink reports whether input looks like a SMART Health Link: a shlink:/
// URI, bare or behind a viewer URL ("…#shlink:/…"), as one token.
func IsLink(input []byte) bool {
	s := bytes.TrimSpace(input)
	if len(s) == 0 || len(s) > shl.MaxURILen {
		return false
	}
	all := s
	for {
		if len(s) >= len(linkScheme) && bytes.EqualFold(s[:len(linkScheme)], []byte(linkScheme)) {
			// Whitespace is looked for only now: a card (the usual input)
			// is not scanned for it a second time.
			return !bytes.ContainsAny(all, " \t\r\n")
		}
		i := bytes.IndexByte(s, '#')
		if i < 0 {
			return false
		}
		s = s[i+1:]
	}
}

// linkScheme starts a SMART Health Link, alone or after a viewer URL's '#'.
// It is matched ignoring ASCII case only: a slice of len(linkScheme) bytes
// holding a multi-byte rune cannot fold-equal this all-ASCII text.
const linkScheme = "shlink:/"

func linkError(err error) *Error {
	var e *Error
	if errors.As(err, &e) && e.Pkg == pkg {
		return e
	}
	code := Code(shl.CodeOf(err))
	switch code {
	case "":
		code = CodeLinkFetchFailed
	case Code(shl.CodeInvalidArgument):
		code = CodeConfig
	}
	return &Error{Pkg: pkg, Code: code, Step: StepLink, Err: err}
}

// VerifyLink resolves a SMART Health Link and verifies what it holds:
// the manifest (or a U link's file) is fetched through the verifier's
// guarded fetcher (https only, no private addresses unless
// WithAllowPrivateNetwork — WithPrivateOrigins never applies to links —,
// size caps, timeouts), every file is decrypted,
// every card in an application/smart-health-card file is verified like any
// other card, and application/fhir+json files are returned in
// UnverifiedFHIR. A location URL is never fetched more than an hour after
// its manifest (SHL-13): the manifest is fetched again instead.
//
// The error is non-nil when the link itself fails (an *Error with step
// "link" and a code such as malformed_link, link_expired, link_not_found,
// passcode_required, passcode_wrong — see LinkRemainingAttempts —,
// decrypt_failed, malformed_manifest, fetch_failed); per-card failures are
// in each Result.
func (v *Verifier) VerifyLink(ctx context.Context, link string, opts LinkOptions) (*LinkResult, error) {
	ctx = v.withBudget(ctx) // one card and fetch budget for all the link's files (limits.go)
	p, err := shl.Parse(link)
	if err != nil {
		return nil, linkError(err)
	}
	if v.fetch == nil {
		return nil, newErr(CodeLinkFetchFailed, StepLink, "an offline verifier cannot resolve links")
	}
	if opts.Recipient == "" {
		opts.Recipient = DefaultLinkRecipient
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultLinkTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	client := &shl.Client{Fetch: v.linkFetch, Now: v.clock}
	res, err := client.Resolve(ctx, p, shl.ResolveOptions{Recipient: opts.Recipient, Passcode: opts.Passcode})
	if err != nil {
		return nil, linkError(err)
	}
	out := &LinkResult{
		MediaType: LinkResultMediaType, Label: p.Label, Flag: p.Flag, ManifestFetched: res.ManifestFetched.UTC(),
		Cards: []*Result{}, Files: make([]LinkFile, 0, len(res.Files)),
	}
	if p.Exp != 0 {
		t := time.Unix(p.Exp, 0).UTC()
		out.Expires = &t
	}
	for i, f := range res.Files {
		lf := LinkFile{Index: i, ContentType: f.ContentType, Status: f.Status, LastUpdated: f.LastUpdated, FHIRVersion: f.FHIRVersion}
		if lf.ContentType == "" {
			lf.ContentType = sniffContentType(f.Data)
			if lf.ContentType != "" {
				out.Warnings = append(out.Warnings, fmt.Sprintf("files[%d] has no content type (no JWE cty); taken as %s from its content", i, lf.ContentType))
			}
		}
		if f.Status == shl.StatusNoLongerValid {
			out.Warnings = append(out.Warnings, fmt.Sprintf("files[%d] is marked no-longer-valid by the sharer", i))
		}
		switch lf.ContentType {
		case shl.ContentTypeSHC:
			jws, kind, err := shc.ExtractJWS(f.Data)
			if err == nil && kind != shc.KindFile {
				err = fmt.Errorf("files[%d] is a %s, not a .smart-health-card file", i, kind)
			}
			if err != nil {
				r := ErrorResult(err)
				r.Index, r.InputKind = len(out.Cards), "shlink"
				out.Cards = append(out.Cards, r)
				lf.Cards, lf.Note = 1, "not a valid .smart-health-card file"
				break
			}
			for _, s := range jws {
				r := v.verifyJWS(ctx, s)
				r.Index, r.InputKind = len(out.Cards), "shlink"
				out.Cards = append(out.Cards, r)
			}
			lf.Cards = len(jws)
		case shl.ContentTypeFHIR:
			if !json.Valid(f.Data) {
				lf.Note = "not JSON; left out"
				break
			}
			out.UnverifiedFHIR = append(out.UnverifiedFHIR, UnverifiedFHIR{File: i, FHIRVersion: f.FHIRVersion, LastUpdated: f.LastUpdated, UnverifiedData: f.Data})
		default:
			lf.Note = "content type not supported by this verifier; left out"
		}
		out.Files = append(out.Files, lf)
	}
	return out, nil
}

// sniffContentType decides a file's type when neither the manifest nor
// the JWE says (U links; the HL7 demo JWEs have no cty).
func sniffContentType(b []byte) string {
	var probe struct {
		VC           json.RawMessage `json:"verifiableCredential"`
		ResourceType string          `json:"resourceType"`
	}
	if json.Unmarshal(b, &probe) != nil {
		return ""
	}
	switch {
	case probe.VC != nil:
		return shl.ContentTypeSHC
	case probe.ResourceType != "":
		return shl.ContentTypeFHIR
	}
	return ""
}

// verifyLinkCards is Verify on a link: no passcode (a P link fails with
// passcode_required), and only the cards are returned.
func (v *Verifier) verifyLinkCards(ctx context.Context, link string) ([]*Result, error) {
	lr, err := v.VerifyLink(ctx, link, LinkOptions{})
	if err != nil {
		return nil, err
	}
	if len(lr.Cards) == 0 {
		return nil, newErr(CodeLinkWithoutCards, StepLink, "the link holds no SMART Health Card (%d unverified FHIR file(s)); use VerifyLink to read them", len(lr.UnverifiedFHIR))
	}
	if n := len(lr.UnverifiedFHIR); n > 0 {
		for _, r := range lr.Cards {
			r.warn(fmt.Sprintf("the link also holds %d unverified FHIR file(s), not shown here", n))
		}
	}
	return lr.Cards, nil
}

// linkInput marks an input (or a QR image's text) that is a link.
type linkInput struct{ text string }

func (l *linkInput) Error() string { return "input is a SMART Health Link" }
