package shl

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Manifest limits.
const (
	MaxManifestBytes  = 1 << 20 // a manifest body larger than this is refused (embedded files count)
	MaxManifestFiles  = 100     // files per manifest
	MaxRequestBytes   = 4096    // manifest request body
	MaxRecipientLen   = 256     // recipient string, in bytes
	MaxPasscodeLen    = 256     // passcode, in bytes
	MaxLocationURLLen = 2048    // a location URL in a manifest
	maxContentTypeLen = 100
	MaxFHIRVersionLen = 20 // a file's fhirVersion
)

// File status values (SHL-11).
const (
	StatusFinalized     = "finalized"
	StatusCanChange     = "can-change"
	StatusNoLongerValid = "no-longer-valid"
)

// Manifest is the manifest response (SHL-11).
type Manifest struct {
	Files []File `json:"files"`
	// List is an optional FHIR List resource, kept as raw JSON.
	List json.RawMessage `json:"list,omitempty"`
}

// File is one manifest entry: exactly one of Location and Embedded is set.
type File struct {
	ContentType string `json:"contentType"`
	Location    string `json:"location,omitempty"`
	Embedded    string `json:"embedded,omitempty"`
	LastUpdated string `json:"lastUpdated,omitempty"` // ISO 8601 / RFC 3339
	Status      string `json:"status,omitempty"`
	FHIRVersion string `json:"fhirVersion,omitempty"`
}

// ManifestRequest is the body of the manifest POST (SHL-9).
type ManifestRequest struct {
	Recipient string `json:"recipient"`
	Passcode  string `json:"passcode,omitempty"`
	// EmbeddedLengthMax, when not nil, is the longest embedded JWE the
	// client accepts (SHL-14); 0 asks for locations only.
	EmbeddedLengthMax *int `json:"embeddedLengthMax,omitempty"`
}

// ParseManifest reads and validates a manifest response. Unknown properties
// are ignored; the list is checked only to be a JSON object. Errors carry
// CodeMalformedManifest (or CodeTooLarge).
func ParseManifest(b []byte) (*Manifest, error) {
	if len(b) > MaxManifestBytes {
		return nil, newErr(CodeTooLarge, "manifest of %d bytes exceeds %d", len(b), MaxManifestBytes)
	}
	var raw struct {
		Files *[]json.RawMessage `json:"files"`
		List  json.RawMessage    `json:"list"`
	}
	if err := strictObject(b, &raw, "files", "list"); err != nil {
		return nil, wrapErr(CodeMalformedManifest, err, "manifest is not a JSON object")
	}
	if raw.Files == nil {
		return nil, newErr(CodeMalformedManifest, "manifest has no files array")
	}
	if len(*raw.Files) > MaxManifestFiles {
		return nil, newErr(CodeTooLarge, "manifest has %d files; at most %d", len(*raw.Files), MaxManifestFiles)
	}
	m := &Manifest{Files: make([]File, 0, len(*raw.Files))}
	if len(raw.List) > 0 && !bytes.Equal(raw.List, []byte("null")) {
		if raw.List[0] != '{' {
			return nil, newErr(CodeMalformedManifest, "list must be a FHIR List object")
		}
		m.List = raw.List
	}
	for i, rf := range *raw.Files {
		var f File
		if err := strictObject(rf, &f, "contentType", "location", "embedded", "lastUpdated", "status", "fhirVersion"); err != nil {
			return nil, wrapErr(CodeMalformedManifest, err, "files[%d] is not a valid object", i)
		}
		if err := f.Validate(); err != nil {
			e := err.(*Error)
			e.Msg = "files[" + itoa(i) + "]: " + e.Msg
			return nil, e
		}
		m.Files = append(m.Files, f)
	}
	return m, nil
}

// Validate checks one manifest entry (SHL-11): a content type, exactly one
// of location (an absolute http(s) URL) and embedded, and well-formed
// optional fields.
func (f *File) Validate() error {
	if f.ContentType == "" || len(f.ContentType) > maxContentTypeLen {
		return newErr(CodeMalformedManifest, "contentType missing or too long")
	}
	if (f.Location == "") == (f.Embedded == "") {
		return newErr(CodeMalformedManifest, "exactly one of location and embedded is required")
	}
	if f.Location != "" {
		if len(f.Location) > MaxLocationURLLen {
			return newErr(CodeMalformedManifest, "location longer than %d", MaxLocationURLLen)
		}
		u, err := url.Parse(f.Location)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return newErr(CodeMalformedManifest, "location is not an absolute http(s) URL")
		}
	}
	if f.LastUpdated != "" {
		if _, err := time.Parse(time.RFC3339Nano, f.LastUpdated); err != nil {
			return newErr(CodeMalformedManifest, "lastUpdated %q is not an ISO 8601 instant", truncate(f.LastUpdated))
		}
	}
	switch f.Status {
	case "", StatusFinalized, StatusCanChange, StatusNoLongerValid:
	default:
		return newErr(CodeMalformedManifest, "unknown status %q", truncate(f.Status))
	}
	if len(f.FHIRVersion) > MaxFHIRVersionLen {
		return newErr(CodeMalformedManifest, "fhirVersion too long")
	}
	return nil
}

// ParseManifestRequest reads a manifest request body (server side). The
// recipient is required (SHL-9); sizes are bounded. Errors carry
// CodeMalformedManifest or CodeTooLarge.
func ParseManifestRequest(b []byte) (*ManifestRequest, error) {
	if len(b) > MaxRequestBytes {
		return nil, newErr(CodeTooLarge, "request of %d bytes exceeds %d", len(b), MaxRequestBytes)
	}
	var r ManifestRequest
	if err := strictObject(b, &r, "recipient", "passcode", "embeddedLengthMax"); err != nil {
		return nil, wrapErr(CodeMalformedManifest, err, "request is not a valid JSON object")
	}
	if err := checkRecipient(r.Recipient); err != nil {
		return nil, err
	}
	if len(r.Passcode) > MaxPasscodeLen {
		return nil, newErr(CodeMalformedManifest, "passcode longer than %d bytes", MaxPasscodeLen)
	}
	if r.EmbeddedLengthMax != nil && *r.EmbeddedLengthMax < 0 {
		return nil, newErr(CodeMalformedManifest, "embeddedLengthMax must not be negative")
	}
	return &r, nil
}

// CheckRecipient checks a recipient string as a manifest request or a
// direct (U) link request carries it (SHL-9): present, UTF-8, at most
// MaxRecipientLen bytes. It returns a malformed_manifest *Error.
func CheckRecipient(s string) error {
	if err := checkRecipient(s); err != nil {
		return err
	}
	return nil
}

func checkRecipient(s string) *Error {
	if s == "" {
		return newErr(CodeMalformedManifest, "recipient is required (SHL-9)")
	}
	if len(s) > MaxRecipientLen || !utf8.ValidString(s) {
		return newErr(CodeMalformedManifest, "recipient must be UTF-8 of at most %d bytes", MaxRecipientLen)
	}
	return nil
}

// strictObject decodes a JSON object into v, refusing duplicate member names
// and trailing data; unknown members are ignored.
// A member whose name equals a known name only case-insensitively is refused,
// because encoding/json would match it and other parsers would not.
func strictObject(b []byte, v any, known ...string) error {
	m, err := objectMembers(b)
	if err != nil {
		return err
	}
	for name := range m {
		for _, k := range known {
			if name != k && strings.EqualFold(name, k) {
				return errString("member " + truncate(name) + " differs from " + k + " only in case")
			}
		}
	}
	return json.Unmarshal(b, v)
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
