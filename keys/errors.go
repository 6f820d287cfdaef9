package keys

import (
	"errors"

	"github.com/healthcards/healthcards/internal/errfmt"
)

// Code is a stable, machine-readable error code. Codes never change meaning;
// callers may switch on them and services may return them to clients.
type Code string

// Error codes returned by this package.
const (
	CodeMalformed          Code = "malformed_key"       // not a well-formed P-256 JWK / JWKS / key file
	CodeUnsupportedKey     Code = "unsupported_key"     // not EC P-256 ES256 (KEY-1, KEY-2)
	CodeKeyMismatch        Code = "key_mismatch"        // d*G != (x,y), or kid != thumbprint
	CodeNotSigningKey      Code = "not_signing_key"     // use:"enc" or alg other than ES256 (KEY-5)
	CodeAmbiguousKey       Code = "ambiguous_key"       // several signing keys and no kid given
	CodeKeyNotFound        Code = "key_not_found"       // no key with the requested kid
	CodeTooLarge           Code = "too_large"           // input over a size or count bound
	CodePassphraseRequired Code = "passphrase_required" // file is encrypted, no passphrase given
	CodeNotEncrypted       Code = "not_encrypted"       // passphrase given, file is plaintext
	CodeDecrypt            Code = "decrypt_failed"      // wrong passphrase or tampered file
	CodeBadPBES2Count      Code = "bad_pbes2_count"     // p2c outside the accepted range
	CodeIO                 Code = "io_error"            // reading or writing a file failed
	CodeRingState          Code = "ring_state"          // operation not allowed in the key's state
	CodeNoActiveKey        Code = "no_active_key"       // the ring has no signing key
	CodeSign               Code = "sign_failed"         // bad digest / hash for ES256
	CodeToken              Code = "token_error"         // a PKCS#11 token failed or refused
)

// Error is the error type of this package. Match it with errors.As, or match
// a code with errors.Is against one of the Err* sentinels.
type Error struct {
	Code Code
	Msg  string
	Err  error // optional cause
}

func (e *Error) Error() string { return errfmt.Message("keys", string(e.Code), e.Msg, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, keys.ErrDecrypt) works on any error carrying that code.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Code == e.Code
}

// Sentinels, one per code, for errors.Is.
var (
	ErrMalformed          = &Error{Code: CodeMalformed}
	ErrUnsupportedKey     = &Error{Code: CodeUnsupportedKey}
	ErrKeyMismatch        = &Error{Code: CodeKeyMismatch}
	ErrNotSigningKey      = &Error{Code: CodeNotSigningKey}
	ErrAmbiguousKey       = &Error{Code: CodeAmbiguousKey}
	ErrKeyNotFound        = &Error{Code: CodeKeyNotFound}
	ErrTooLarge           = &Error{Code: CodeTooLarge}
	ErrPassphraseRequired = &Error{Code: CodePassphraseRequired}
	ErrNotEncrypted       = &Error{Code: CodeNotEncrypted}
	ErrDecrypt            = &Error{Code: CodeDecrypt}
	ErrBadPBES2Count      = &Error{Code: CodeBadPBES2Count}
	ErrIO                 = &Error{Code: CodeIO}
	ErrRingState          = &Error{Code: CodeRingState}
	ErrNoActiveKey        = &Error{Code: CodeNoActiveKey}
	ErrSign               = &Error{Code: CodeSign}
	ErrToken              = &Error{Code: CodeToken}
)

// CodeOf returns the Code of the first *Error in err's chain, or "" if none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func newErr(code Code, msg string, cause error) error {
	return &Error{Code: code, Msg: msg, Err: cause}
}
