package keys

import "github.com/healthcards/healthcards/errcode"

// Code is a stable, machine-readable error code. Codes never change meaning;
// callers may switch on them and services may return them to clients.
type Code = errcode.Code

// Error codes returned by this package.
const (
	CodeMalformed          Code = "malformed_key"        // not a well-formed P-256 JWK / JWKS / key file
	CodeUnsupportedKey          = errcode.UnsupportedKey // not EC P-256 ES256 (KEY-1, KEY-2)
	CodeKeyMismatch        Code = "key_mismatch"         // d*G != (x,y), or kid != thumbprint
	CodeNotSigningKey      Code = "not_signing_key"      // use:"enc" or alg other than ES256 (KEY-5)
	CodeAmbiguousKey       Code = "ambiguous_key"        // several signing keys and no kid given
	CodeKeyNotFound             = errcode.KeyNotFound    // no key with the requested kid
	CodeTooLarge                = errcode.TooLarge       // input over a size or count bound
	CodePassphraseRequired Code = "passphrase_required"  // file is encrypted, no passphrase given
	CodeNotEncrypted       Code = "not_encrypted"        // passphrase given, file is plaintext
	CodeDecrypt                 = errcode.DecryptFailed  // wrong passphrase or tampered file
	CodeBadPBES2Count      Code = "bad_pbes2_count"      // p2c outside the accepted range
	CodeIO                 Code = "io_error"             // reading or writing a file failed
	CodeRingState          Code = "ring_state"           // operation not allowed in the key's state
	CodeNoActiveKey        Code = "no_active_key"        // the ring has no signing key
	CodeSign               Code = "sign_failed"          // bad digest / hash for ES256
	CodeToken              Code = "token_error"          // a PKCS#11 token failed or refused
)

// Error is the error type of this package: the module's one coded error
// shape ([errcode.Error]). Match a code with errors.Is against the Err*
// sentinels below, or read it with CodeOf.
type Error = errcode.Error

// pkg prefixes this package's error messages.
const pkg = "keys"

// Sentinels, one per code, for errors.Is.
var (
	ErrMalformed          = errcode.Sentinel(pkg, CodeMalformed)
	ErrUnsupportedKey     = errcode.Sentinel(pkg, CodeUnsupportedKey)
	ErrKeyMismatch        = errcode.Sentinel(pkg, CodeKeyMismatch)
	ErrNotSigningKey      = errcode.Sentinel(pkg, CodeNotSigningKey)
	ErrAmbiguousKey       = errcode.Sentinel(pkg, CodeAmbiguousKey)
	ErrKeyNotFound        = errcode.Sentinel(pkg, CodeKeyNotFound)
	ErrTooLarge           = errcode.Sentinel(pkg, CodeTooLarge)
	ErrPassphraseRequired = errcode.Sentinel(pkg, CodePassphraseRequired)
	ErrNotEncrypted       = errcode.Sentinel(pkg, CodeNotEncrypted)
	ErrDecrypt            = errcode.Sentinel(pkg, CodeDecrypt)
	ErrBadPBES2Count      = errcode.Sentinel(pkg, CodeBadPBES2Count)
	ErrIO                 = errcode.Sentinel(pkg, CodeIO)
	ErrRingState          = errcode.Sentinel(pkg, CodeRingState)
	ErrNoActiveKey        = errcode.Sentinel(pkg, CodeNoActiveKey)
	ErrSign               = errcode.Sentinel(pkg, CodeSign)
	ErrToken              = errcode.Sentinel(pkg, CodeToken)
)

// CodeOf returns the Code of the first *Error in err's chain, or "" if none.
func CodeOf(err error) Code { return errcode.CodeOf(err) }

func newErr(code Code, msg string, cause error) error {
	return &Error{Pkg: pkg, Code: code, Msg: msg, Err: cause}
}
