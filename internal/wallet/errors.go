package wallet

import (
	"github.com/healthcards/healthcards/errcode"
	"github.com/healthcards/healthcards/keys"
)

// Code is a stable, machine-readable error code (the module's one error
// shape, errcode).
type Code = errcode.Code

// Error is the error type of this package.
type Error = errcode.Error

// Error codes of the wallet. Each has a row in the README's registry.
const (
	// CodeInsecure: the wallet folder or one of its files is open to group
	// or others, is not a regular file or folder, or is a symbolic link.
	CodeInsecure Code = "wallet_insecure"
	// CodeUnsupportedPlatform: the wallet runs only where Unix file modes
	// and flock exist (Linux, macOS, the BSDs, WSL); elsewhere Open refuses.
	CodeUnsupportedPlatform Code = "wallet_unsupported_platform"
	// CodePassphraseTooShort: a new grant would be sealed under a
	// passphrase shorter than MinPassphraseChars.
	CodePassphraseTooShort Code = "passphrase_too_short"
	// CodeNotConnected: the command needs a connection to a FHIR server
	// ("shc wallet connect") and the wallet has none.
	CodeNotConnected Code = "wallet_not_connected"
	// CodeDiscoveryFailed: the FHIR server's SMART configuration is missing,
	// malformed, or lacks what the wallet needs (authorization and token
	// endpoints, PKCE S256, the health-cards capability, OP-1).
	CodeDiscoveryFailed Code = "smart_discovery_failed"
	// CodeAuthorizationFailed: the authorization did not complete: refused
	// by the person or the server, a wrong state, no patient in the token
	// response, or the loopback redirect timed out.
	CodeAuthorizationFailed Code = "authorization_failed"
	// CodeAuthorizationExpired: the server refused the stored refresh token
	// (consent withdrawn, revoked, rotated elsewhere) or the access token
	// expired without one: connect again.
	CodeAuthorizationExpired Code = "authorization_expired"
	// CodeIssueRefused: the FHIR server refused $health-cards-issue or
	// answered something that is not a Parameters resource.
	CodeIssueRefused Code = "issue_refused"
	// CodeCardNotVerified: a card did not verify; nothing of that input was
	// kept.
	CodeCardNotVerified Code = "card_not_verified"

	// Shared codes.
	CodeNotFound           = errcode.NotFound
	CodeDecrypt            = errcode.DecryptFailed
	CodeFetchFailed        = errcode.FetchFailed
	CodeTooLarge           = errcode.TooLarge
	CodePassphraseRequired = keys.CodePassphraseRequired
)

const pkg = "wallet"

// Sentinels for errors.Is.
var (
	ErrInsecure             = errcode.Sentinel(pkg, CodeInsecure)
	ErrUnsupportedPlatform  = errcode.Sentinel(pkg, CodeUnsupportedPlatform)
	ErrPassphraseTooShort   = errcode.Sentinel(pkg, CodePassphraseTooShort)
	ErrNotConnected         = errcode.Sentinel(pkg, CodeNotConnected)
	ErrDiscoveryFailed      = errcode.Sentinel(pkg, CodeDiscoveryFailed)
	ErrAuthorizationFailed  = errcode.Sentinel(pkg, CodeAuthorizationFailed)
	ErrAuthorizationExpired = errcode.Sentinel(pkg, CodeAuthorizationExpired)
	ErrIssueRefused         = errcode.Sentinel(pkg, CodeIssueRefused)
	ErrCardNotVerified      = errcode.Sentinel(pkg, CodeCardNotVerified)
	ErrNotFound             = errcode.Sentinel(pkg, CodeNotFound)
	ErrDecrypt              = errcode.Sentinel(pkg, CodeDecrypt)
	ErrPassphraseRequired   = errcode.Sentinel(pkg, CodePassphraseRequired)
	ErrFetchFailed          = errcode.Sentinel(pkg, CodeFetchFailed)
)

// CodeOf returns the Code of the first *Error in err's chain, or "".
func CodeOf(err error) Code { return errcode.CodeOf(err) }

func newErr(code Code, msg string, cause error) error {
	return &Error{Code: code, Pkg: pkg, Msg: msg, Err: cause}
}
