package keydb

import (
	"github.com/healthcards/healthcards/errcode"
	"github.com/healthcards/healthcards/keys"
)

// Code is the module's stable error code type.
type Code = errcode.Code

// Error codes returned by this package. Ring states reuse the keys
// package's codes, so `keys retire` fails the same way on files and on the
// database.
const (
	CodeBadKEK      Code = "bad_kek"     // the KEK file is missing, open to others or not 32 base64 bytes
	CodeWrongKEK    Code = "wrong_kek"   // a sealed value was sealed under another KEK
	CodeSealBroken  Code = "seal_broken" // a sealed value is damaged or moved to another row
	CodeRingState        = keys.CodeRingState
	CodeKeyNotFound      = keys.CodeKeyNotFound
	CodeNoActiveKey      = keys.CodeNoActiveKey
	CodeTooLarge         = keys.CodeTooLarge
	CodeMigrated    Code = "already_migrated" // the database already holds a different key ring or secret
)

const pkg = "keydb"

// Sentinels for errors.Is.
var (
	ErrBadKEK     = errcode.Sentinel(pkg, CodeBadKEK)
	ErrWrongKEK   = errcode.Sentinel(pkg, CodeWrongKEK)
	ErrSealBroken = errcode.Sentinel(pkg, CodeSealBroken)
	ErrMigrated   = errcode.Sentinel(pkg, CodeMigrated)
)

func newErr(code Code, msg string, cause error) error {
	return &errcode.Error{Pkg: pkg, Code: code, Msg: msg, Err: cause}
}
