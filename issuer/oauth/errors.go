package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/healthcards/healthcards/errcode"
)

// Code is a stable error code (see the README's error-code table). Errors
// of the OAuth protocol itself (invalid_grant, invalid_request,
// access_denied …) are answered to clients as RFC 6749 says, not as codes.
type Code = errcode.Code

// Error codes of this package.
const (
	// CodeInvalidClientRegistration: a client's name or redirect URI is not acceptable.
	CodeInvalidClientRegistration Code = "invalid_client_registration"
	CodeNotFound                       = errcode.NotFound // no such client or grant
	CodeInternal                       = errcode.Internal // store failure
)

// Error is the module's coded error shape.
type Error = errcode.Error

const pkg = "oauth"

// Sentinels for errors.Is.
var (
	ErrInvalidClientRegistration = errcode.Sentinel(pkg, CodeInvalidClientRegistration)
	ErrNotFound                  = errcode.Sentinel(pkg, CodeNotFound)
)

func errf(code Code, format string, a ...any) error {
	return &Error{Pkg: pkg, Code: code, Msg: fmt.Sprintf(format, a...)}
}

// CodeOf returns err's code, or "".
func CodeOf(err error) Code { return errcode.CodeOf(err) }

func random(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("oauth: crypto/rand failed: " + err.Error())
	}
	return b
}

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
