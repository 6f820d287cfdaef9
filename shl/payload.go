package shl

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits for links and payloads.
const (
	KeySize        = 32   // SHL-1: the payload key is 32 random bytes
	KeyLen         = 43   // SHL-1: ...written as 43 base64url characters
	MaxURLLen      = 128  // SHL-4: the manifest url is at most 128 characters
	MaxLabelLen    = 80   // SHL-7: label is at most 80 characters
	MaxURILen      = 8192 // bound on the text given to Parse (QR codes hold < 3 KB)
	CurrentVersion = 1    // the payload version this package writes and reads (SHL-8)

	// expMillisThreshold: an exp at or above this many seconds (year 5138)
	// is taken to be milliseconds by mistake (shc-rules §15, §17).
	expMillisThreshold = 100_000_000_000
)

const scheme = "shlink:/"

// Payload is the SMART Health Link payload (SHL-2). The field order matches
// the HL7 examples so that re-encoding them is byte-identical.
type Payload struct {
	// URL is the manifest URL (or, with the U flag, the single file's URL).
	URL string `json:"url"`
	// Flag holds single-letter flags in alphabetical order (SHL-5):
	// L (long-term), P (passcode), U (direct file). Parse keeps only the
	// letters it knows.
	Flag string `json:"flag,omitempty"`
	// Key is the 32-byte AES key, 43 base64url characters (SHL-1).
	Key string `json:"key"`
	// Exp is an optional expiry hint in epoch seconds; 0 means none.
	Exp int64 `json:"exp,omitempty"`
	// Label is an optional short description, at most 80 characters.
	Label string `json:"label,omitempty"`
	// V is the payload version; 0 means omitted (= 1).
	V int `json:"v,omitempty"`
}

// PayloadOption configures NewPayload.
type PayloadOption func(*payloadOptions) error

type payloadOptions struct {
	key   []byte
	flags string
	exp   int64
	label string
}

// WithKey uses the given 32-byte key instead of a fresh random one. Use it
// only to rebuild the payload of an existing link (updated files keep the
// same key, SHL-18) or for deterministic examples.
func WithKey(key []byte) PayloadOption {
	return func(o *payloadOptions) error {
		if len(key) != KeySize {
			return newErr(CodeInvalidArgument, "key must be %d bytes, got %d", KeySize, len(key))
		}
		o.key = append([]byte(nil), key...)
		return nil
	}
}

// WithFlags sets the flags. Letters must be among L, P and U; they are
// stored in alphabetical order (SHL-5). U together with P is refused.
func WithFlags(flags string) PayloadOption {
	return func(o *payloadOptions) error {
		f, err := normalizeFlags(flags, true)
		if err != nil {
			return &Error{Pkg: pkg, Code: CodeInvalidArgument, Msg: err.(*Error).Msg}
		}
		o.flags = f
		return nil
	}
}

// WithExpiry sets exp to t in epoch seconds (SHL-2).
func WithExpiry(t time.Time) PayloadOption {
	return func(o *payloadOptions) error {
		if t.Unix() <= 0 {
			return newErr(CodeInvalidArgument, "expiry must be after 1970")
		}
		o.exp = t.Unix()
		return nil
	}
}

// WithLabel sets the label (at most 80 characters, no control characters).
func WithLabel(label string) PayloadOption {
	return func(o *payloadOptions) error {
		if err := checkLabel(label); err != nil {
			return &Error{Pkg: pkg, Code: CodeInvalidArgument, Msg: err.Msg}
		}
		o.label = label
		return nil
	}
}

// NewPayload builds a payload for url with a fresh random 32-byte key
// (SHL-1). url must be an absolute https URL of at most 128 characters
// (SHL-4); its entropy is the caller's job (Host uses 256 random bits).
func NewPayload(u string, opts ...PayloadOption) (*Payload, error) {
	var o payloadOptions
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if err := checkURL(u, true); err != nil {
		return nil, &Error{Pkg: pkg, Code: CodeInvalidArgument, Msg: err.Msg}
	}
	if o.key == nil {
		o.key = make([]byte, KeySize)
		if _, err := rand.Read(o.key); err != nil {
			return nil, wrapErr(CodeInvalidArgument, err, "reading random key")
		}
	}
	return &Payload{
		URL:   u,
		Flag:  o.flags,
		Key:   base64.RawURLEncoding.EncodeToString(o.key),
		Exp:   o.exp,
		Label: o.label,
	}, nil
}

// HasFlag reports whether the payload carries flag letter f ('L', 'P' or 'U').
func (p *Payload) HasFlag(f byte) bool { return strings.IndexByte(p.Flag, f) >= 0 }

// KeyBytes returns the decoded 32-byte key.
func (p *Payload) KeyBytes() ([]byte, error) { return decodeKey(p.Key) }

// DecodeKey decodes a payload key (43 base64url characters, 32 bytes,
// SHL-1) as stored by a link host.
func DecodeKey(k string) ([]byte, error) { return decodeKey(k) }

// Expired reports whether exp is set and now is at or after it.
func (p *Payload) Expired(now time.Time) bool { return p.Exp != 0 && now.Unix() >= p.Exp }

// JSON returns the minified JSON payload (no HTML escaping, so & stays &).
func (p *Payload) JSON() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(p) // cannot fail: only strings and integers
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// URI returns "shlink:/" + base64url(minified JSON) (SHL-3), prefixed with
// viewerPrefix when it is not empty. A viewer prefix must end in '#'; one is
// appended if it does not.
func (p *Payload) URI(viewerPrefix string) string {
	s := scheme + base64.RawURLEncoding.EncodeToString(p.JSON())
	if viewerPrefix == "" {
		return s
	}
	if !strings.HasSuffix(viewerPrefix, "#") {
		viewerPrefix += "#"
	}
	return viewerPrefix + s
}

// Validate checks the payload as Parse would.
func (p *Payload) Validate() error {
	if err := checkURL(p.URL, false); err != nil {
		return err
	}
	if _, err := decodeKey(p.Key); err != nil {
		return err
	}
	if f, err := normalizeFlags(p.Flag, true); err != nil {
		return &Error{Pkg: pkg, Code: CodeMalformedLink, Msg: err.(*Error).Msg}
	} else if f != p.Flag {
		return newErr(CodeMalformedLink, "flags %q are not in alphabetical order (SHL-5)", p.Flag)
	}
	if p.Exp < 0 || p.Exp >= expMillisThreshold {
		return newErr(CodeMalformedLink, "exp %d is not epoch seconds", p.Exp)
	}
	if err := checkLabel(p.Label); err != nil {
		return err
	}
	if p.V > CurrentVersion {
		return newErr(CodeUnsupportedVersion, "payload version %d is newer than %d", p.V, CurrentVersion)
	}
	if p.V < 0 {
		return newErr(CodeMalformedLink, "v must be a positive integer")
	}
	return nil
}

// Parse reads a SMART Health Link: either a bare "shlink:/..." or a viewer
// URL that contains "#shlink:/..." (SHL-3). Surrounding whitespace is
// trimmed. Unknown payload properties and unknown flag letters are ignored
// (SHL-6). Errors carry CodeMalformedLink, except a version newer than 1,
// which carries CodeUnsupportedVersion (SHL-8): do not fetch such a link.
//
// exp must be a JSON number of epoch seconds. A string, or a number so large
// it can only be milliseconds (as in the IG's shl-payload-1.json example), is
// refused with CodeMalformedLink rather than guessed at: a receiver that
// misreads exp would show a wrong expiry to the user.
func Parse(s string) (*Payload, error) {
	if len(s) > MaxURILen {
		return nil, newErr(CodeMalformedLink, "link longer than %d bytes", MaxURILen)
	}
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "#"); i >= 0 && !hasSchemePrefix(s) {
		s = s[i+1:] // viewer URL: the shlink follows the first '#'
	}
	if !hasSchemePrefix(s) {
		return nil, newErr(CodeMalformedLink, "no %q found", scheme)
	}
	enc := strings.TrimRight(s[len(scheme):], "=")
	raw, err := base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil {
		return nil, wrapErr(CodeMalformedLink, err, "payload is not base64url")
	}
	return ParsePayloadJSON(raw)
}

func hasSchemePrefix(s string) bool {
	return len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme)
}

// ParsePayloadJSON reads a decoded payload JSON object with the same rules as
// Parse.
func ParsePayloadJSON(raw []byte) (*Payload, error) {
	if len(raw) > MaxURILen {
		return nil, newErr(CodeMalformedLink, "payload longer than %d bytes", MaxURILen)
	}
	members, err := objectMembers(raw)
	if err != nil {
		return nil, wrapErr(CodeMalformedLink, err, "payload is not a JSON object")
	}
	p := &Payload{}
	str := func(name string, dst *string, required bool) error {
		v, ok := members[name]
		if !ok {
			if required {
				return newErr(CodeMalformedLink, "payload has no %q", name)
			}
			return nil
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return newErr(CodeMalformedLink, "%q must be a string", name)
		}
		return nil
	}
	// Version first: a newer version may change everything else (SHL-8).
	if v, ok := members["v"]; ok {
		n, err := jsonInt(v)
		if err != nil || n < 1 {
			return nil, newErr(CodeMalformedLink, "v must be a positive integer, got %s", truncate(string(v)))
		}
		if n > CurrentVersion {
			return nil, newErr(CodeUnsupportedVersion, "payload version %d is newer than %d; not fetching", n, CurrentVersion)
		}
		p.V = int(n)
	}
	if err := str("url", &p.URL, true); err != nil {
		return nil, err
	}
	if err := str("key", &p.Key, true); err != nil {
		return nil, err
	}
	if err := str("flag", &p.Flag, false); err != nil {
		return nil, err
	}
	if err := str("label", &p.Label, false); err != nil {
		return nil, err
	}
	if v, ok := members["exp"]; ok {
		if len(v) > 0 && v[0] == '"' {
			return nil, newErr(CodeMalformedLink, "exp must be a JSON number of epoch seconds, got the string %s", truncate(string(v)))
		}
		var f float64
		if err := json.Unmarshal(v, &f); err != nil {
			return nil, newErr(CodeMalformedLink, "exp must be a JSON number of epoch seconds, got %s", truncate(string(v)))
		}
		if f >= expMillisThreshold {
			return nil, newErr(CodeMalformedLink, "exp %s looks like milliseconds; it must be epoch seconds", truncate(string(v)))
		}
		if f <= 0 || math.IsNaN(f) {
			return nil, newErr(CodeMalformedLink, "exp must be positive")
		}
		p.Exp = int64(f) // fractional seconds are truncated
	}
	// SHL-6: ignore unknown flag letters; reorder known ones.
	p.Flag, err = normalizeFlags(p.Flag, false)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// objectMembers decodes a JSON object into its members, refusing duplicate
// names (a payload read differently by two parsers is a security bug) and
// trailing data.
func objectMembers(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errString("not an object")
	}
	m := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, ok := tok.(string)
		if !ok {
			return nil, errString("bad member name")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if _, dup := m[name]; dup {
			return nil, errString("duplicate member " + truncate(name))
		}
		m[name] = v
	}
	if _, err := dec.Token(); err != nil { // closing '}'
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errString("trailing data after object")
	}
	return m, nil
}

type errString string

func (e errString) Error() string { return string(e) }

func jsonInt(v json.RawMessage) (int64, error) {
	var n json.Number
	if err := json.Unmarshal(v, &n); err != nil {
		return 0, err
	}
	return n.Int64()
}

func truncate(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

// normalizeFlags returns the known flags (L, P, U) in alphabetical order.
// With strict, unknown or repeated letters are an error (for writers);
// otherwise they are dropped (SHL-6, for readers). U with P is always refused.
func normalizeFlags(f string, strict bool) (string, error) {
	var l, p, u bool
	for i := 0; i < len(f); i++ {
		var seen *bool
		switch f[i] {
		case 'L':
			seen = &l
		case 'P':
			seen = &p
		case 'U':
			seen = &u
		default:
			if strict {
				return "", newErr(CodeInvalidArgument, "unknown flag %q", f[i])
			}
			continue
		}
		if *seen && strict {
			return "", newErr(CodeInvalidArgument, "flag %q repeated", f[i])
		}
		*seen = true
	}
	if u && p {
		return "", newErr(CodeMalformedLink, "flags U and P cannot be combined (SHL-5)")
	}
	var b strings.Builder
	for _, x := range []struct {
		on bool
		c  byte
	}{{l, 'L'}, {p, 'P'}, {u, 'U'}} {
		if x.on {
			b.WriteByte(x.c)
		}
	}
	return b.String(), nil
}

func checkLabel(label string) *Error {
	if !utf8.ValidString(label) {
		return newErr(CodeMalformedLink, "label is not UTF-8")
	}
	if n := utf8.RuneCountInString(label); n > MaxLabelLen {
		return newErr(CodeMalformedLink, "label has %d characters; at most %d allowed (SHL-7)", n, MaxLabelLen)
	}
	for _, r := range label {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return newErr(CodeMalformedLink, "label contains control character %U", r)
		}
	}
	return nil
}

// checkURL checks an absolute http(s) URL of at most 128 characters
// (https only when httpsOnly).
func checkURL(s string, httpsOnly bool) *Error {
	if s == "" {
		return newErr(CodeMalformedLink, "url is empty")
	}
	if len(s) > MaxURLLen {
		return newErr(CodeMalformedLink, "url has %d characters; at most %d allowed (SHL-4)", len(s), MaxURLLen)
	}
	u, err := url.Parse(s)
	if err != nil {
		return newErr(CodeMalformedLink, "url does not parse")
	}
	if u.Scheme != "https" && (httpsOnly || u.Scheme != "http") {
		return newErr(CodeMalformedLink, "url scheme %q not allowed", u.Scheme)
	}
	if u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return newErr(CodeMalformedLink, "url must be absolute, without user info or fragment")
	}
	return nil
}

func decodeKey(k string) ([]byte, error) {
	if len(k) != KeyLen {
		return nil, newErr(CodeMalformedLink, "key must be %d base64url characters, got %d", KeyLen, len(k))
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(k)
	if err != nil || len(b) != KeySize {
		return nil, newErr(CodeMalformedLink, "key is not base64url of %d bytes", KeySize)
	}
	return b, nil
}
