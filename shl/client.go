package shl

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/healthcards/healthcards/safehttp"
)

// Receiver bounds.
const (
	// MaxLocationAge: a location URL is never dereferenced more than an hour
	// after its manifest was fetched (SHL-13).
	MaxLocationAge = time.Hour
	// MaxResolvedBytes bounds the sum of decrypted file sizes of one Resolve.
	MaxResolvedBytes = 64 << 20
	// maxManifestFetches bounds manifest re-fetches for fresh locations.
	maxManifestFetches = 3
)

// Client resolves SMART Health Links (the receiver side). Per-response
// sizes and timeouts come from Fetch's safehttp.Config: raise its MaxBytes
// (default 1 MiB) to accept larger files.
type Client struct {
	// Fetch makes every request. Required.
	Fetch *safehttp.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// ResolveOptions are per-link request values (SHL-9).
type ResolveOptions struct {
	// Recipient names the requester to the sharer; required (SHL-9, SHL-16).
	Recipient string
	// Passcode is sent when the link has the P flag.
	Passcode string
	// EmbeddedLengthMax, when positive, is sent as embeddedLengthMax
	// (SHL-14); zero leaves the choice to the server.
	EmbeddedLengthMax int
}

// Resolved is the decrypted content of a link. Verifying the cards inside
// is the caller's job: files are returned as data only.
type Resolved struct {
	Files []ResolvedFile
	// List is the manifest's FHIR List, if any (never for U links).
	List json.RawMessage
	// ManifestFetched is when the manifest (or the U file) was fetched.
	ManifestFetched time.Time
}

// ResolvedFile is one decrypted file.
type ResolvedFile struct {
	// ContentType is the manifest's contentType; for a U link, the JWE cty
	// header, which may be "" (the HL7 demo files have none): the caller
	// then decides from the content.
	ContentType string
	// CTY is the JWE cty header ("" when absent). When both are present
	// they are equal; Resolve refuses a mismatch.
	CTY         string
	Data        []byte
	LastUpdated string
	Status      string
	FHIRVersion string
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Resolve fetches and decrypts a link's files: POST the manifest (SHL-9),
// or GET the single file for a U link (SHL-16). A location is fetched only
// within an hour of its manifest; after that the manifest is fetched again
// (SHL-13). Errors are *Error with codes malformed_link,
// link_unsupported_version, link_expired (exp passed: nothing is fetched),
// link_not_found (404), passcode_required, passcode_wrong (with
// RemainingAttempts), decrypt_failed, malformed_manifest, fetch_failed,
// too_large or invalid_argument.
func (c *Client) Resolve(ctx context.Context, p *Payload, opts ResolveOptions) (*Resolved, error) {
	if c.Fetch == nil {
		return nil, newErr(CodeInvalidArgument, "Client.Fetch is required")
	}
	if p == nil {
		return nil, newErr(CodeMalformedLink, "nil payload")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := checkRecipient(opts.Recipient); err != nil {
		return nil, newErr(CodeInvalidArgument, "recipient is required (SHL-9) and at most %d bytes", MaxRecipientLen)
	}
	if len(opts.Passcode) > MaxPasscodeLen || opts.EmbeddedLengthMax < 0 {
		return nil, newErr(CodeInvalidArgument, "passcode too long or negative embeddedLengthMax")
	}
	if p.Expired(c.now()) {
		return nil, newErr(CodeLinkExpired, "link expired at %s", time.Unix(p.Exp, 0).UTC().Format(time.RFC3339))
	}
	key, err := p.KeyBytes()
	if err != nil {
		return nil, err
	}
	if p.HasFlag('U') {
		return c.resolveDirect(ctx, p, key, opts)
	}
	if p.HasFlag('P') && opts.Passcode == "" {
		return nil, newErr(CodePasscodeRequired, "the link needs a passcode (P flag)")
	}

	for fetches := 1; ; fetches++ {
		m, fetched, err := c.fetchManifest(ctx, p, opts)
		if err != nil {
			return nil, err
		}
		res, stale, err := c.readFiles(ctx, key, m, fetched)
		if err != nil {
			return nil, err
		}
		if !stale {
			return res, nil
		}
		if fetches >= maxManifestFetches {
			return nil, newErr(CodeFetchFailed, "locations went stale %d times; giving up (SHL-13)", fetches)
		}
	}
}

func (c *Client) resolveDirect(ctx context.Context, p *Payload, key []byte, opts ResolveOptions) (*Resolved, error) {
	u := p.URL
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	u += sep + "recipient=" + url.QueryEscape(opts.Recipient)
	fetched := c.now()
	resp, err := c.Fetch.Get(ctx, u)
	if err != nil {
		return nil, wrapErr(CodeFetchFailed, err, "fetching file")
	}
	if err := statusError(resp, p, opts); err != nil {
		return nil, err
	}
	cty, data, err := Decrypt(key, string(resp.Body))
	if err != nil {
		return nil, err
	}
	return &Resolved{Files: []ResolvedFile{{ContentType: cty, CTY: cty, Data: data}}, ManifestFetched: fetched}, nil
}

func (c *Client) fetchManifest(ctx context.Context, p *Payload, opts ResolveOptions) (*Manifest, time.Time, error) {
	req := ManifestRequest{Recipient: opts.Recipient}
	if p.HasFlag('P') {
		req.Passcode = opts.Passcode // SHL-9: SHALL be sent with P
	}
	if opts.EmbeddedLengthMax > 0 {
		n := opts.EmbeddedLengthMax
		req.EmbeddedLengthMax = &n
	}
	body, _ := json.Marshal(req)
	fetched := c.now()
	resp, err := c.Fetch.Post(ctx, p.URL, "application/json", body)
	if err != nil {
		return nil, time.Time{}, wrapErr(CodeFetchFailed, err, "fetching manifest")
	}
	if err := statusError(resp, p, opts); err != nil {
		return nil, time.Time{}, err
	}
	m, err := ParseManifest(resp.Body)
	if err != nil {
		return nil, time.Time{}, err
	}
	return m, fetched, nil
}

// readFiles decrypts every file; stale reports that a location could not be
// used because its manifest is more than an hour old (SHL-13).
func (c *Client) readFiles(ctx context.Context, key []byte, m *Manifest, fetched time.Time) (*Resolved, bool, error) {
	res := &Resolved{List: m.List, ManifestFetched: fetched, Files: make([]ResolvedFile, 0, len(m.Files))}
	total := 0
	for i, f := range m.Files {
		jwe := f.Embedded
		if f.Location != "" {
			if c.now().Sub(fetched) >= MaxLocationAge {
				return nil, true, nil
			}
			resp, err := c.Fetch.Get(ctx, f.Location)
			if err != nil {
				return nil, false, wrapErr(CodeFetchFailed, err, "fetching files[%d]", i)
			}
			switch resp.StatusCode {
			case http.StatusOK:
			case http.StatusNotFound: // revoked, expired or locked meanwhile
				return nil, false, newErr(CodeLinkNotFound, "files[%d]: location answered 404", i)
			default:
				return nil, false, newErr(CodeFetchFailed, "files[%d]: location answered %d", i, resp.StatusCode)
			}
			jwe = string(resp.Body)
		}
		cty, data, err := Decrypt(key, jwe)
		if err != nil {
			e := err.(*Error)
			e.Msg = "files[" + itoa(i) + "]: " + e.Msg
			return nil, false, e
		}
		if cty != "" && cty != f.ContentType {
			return nil, false, newErr(CodeDecryptFailed, "files[%d]: cty %q differs from contentType %q", i, truncate(cty), truncate(f.ContentType))
		}
		total += len(data)
		if total > MaxResolvedBytes {
			return nil, false, newErr(CodeTooLarge, "decrypted files exceed %d bytes", MaxResolvedBytes)
		}
		res.Files = append(res.Files, ResolvedFile{
			ContentType: f.ContentType, CTY: cty, Data: data,
			LastUpdated: f.LastUpdated, Status: f.Status, FHIRVersion: f.FHIRVersion,
		})
	}
	return res, false, nil
}

// statusError maps a non-200 answer to an *Error (SHL-10).
func statusError(resp *safehttp.Response, p *Payload, opts ResolveOptions) error {
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
		return newErr(CodeLinkNotFound, "the link is unknown, revoked, expired or locked (404)")
	case http.StatusUnauthorized:
		var body struct {
			RemainingAttempts *int `json:"remainingAttempts"`
		}
		var cause error
		if json.Unmarshal(resp.Body, &body) == nil && body.RemainingAttempts != nil && *body.RemainingAttempts >= 0 {
			cause = &PasscodeAttempts{Remaining: *body.RemainingAttempts}
		}
		code := CodePasscodeWrong
		if opts.Passcode == "" || !p.HasFlag('P') {
			code = CodePasscodeRequired
		}
		return &Error{Pkg: pkg, Code: code, Msg: "server answered 401", Err: cause}
	case http.StatusTooManyRequests:
		return newErr(CodeFetchFailed, "server answered 429; retry after %q (SHL-15)", truncate(resp.Header.Get("Retry-After")))
	default:
		return newErr(CodeFetchFailed, "server answered %d", resp.StatusCode)
	}
}
