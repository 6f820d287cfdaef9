// Package safefetch is the former home of the guarded HTTP client, now the
// public package safehttp. It only forwards to safehttp so that code not
// yet moved keeps building; new code imports safehttp. Delete it once
// nothing imports it.
package safefetch

import "github.com/healthcards/healthcards/safehttp"

// Aliases of the safehttp names.
type (
	Config   = safehttp.Config
	Client   = safehttp.Client
	Response = safehttp.Response
)

// Errors of safehttp.
var (
	ErrBlockedAddress = safehttp.ErrBlockedAddress
	ErrTooLarge       = safehttp.ErrTooLarge
	ErrScheme         = safehttp.ErrScheme
	ErrRedirect       = safehttp.ErrRedirect
	ErrTimeout        = safehttp.ErrTimeout
)

// Defaults of safehttp.
const (
	DefaultTimeout  = safehttp.DefaultTimeout
	DefaultMaxBytes = safehttp.DefaultMaxBytes
)

// New is safehttp.MustNew: the remaining callers pass no PrivateOrigins.
func New(cfg Config) *Client { return safehttp.MustNew(cfg) }

// PublicAddr is safehttp.PublicAddr.
var PublicAddr = safehttp.PublicAddr
