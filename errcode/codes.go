package errcode

// Codes shared by several packages. Each means one thing wherever it
// appears; the packages re-export them under their own names (for example
// keys.CodeTooLarge, shl.CodeTooLarge) and say in the message which bound,
// key or document it was.
const (
	// TooLarge: an input, a request body or a fetched document exceeds a
	// size or count bound.
	TooLarge Code = "too_large"
	// DecryptFailed: encrypted content (a key file, a link's file) could not
	// be decrypted: wrong passphrase or key, wrong algorithm, or tampered.
	DecryptFailed Code = "decrypt_failed"
	// FetchFailed: a document could not be fetched (network error, timeout,
	// refused address, status or size).
	FetchFailed Code = "fetch_failed"
	// KeyNotFound: no usable key has the requested kid.
	KeyNotFound Code = "key_not_found"
	// UnsupportedKey: the key is not an EC P-256 key for ES256 (KEY-1).
	UnsupportedKey Code = "unsupported_key"
	// NotFound: the named patient, card, key, link or endpoint does not exist.
	NotFound Code = "not_found"
	// Internal: the service failed (store, signing); the detail is in the
	// server's log, never in the answer.
	Internal Code = "internal_error"

	// Codes of the HTTP services (issuer and verifier).

	// BadRequest: the request is not what the endpoint takes.
	BadRequest Code = "bad_request"
	// MethodNotAllowed: the endpoint does not take this HTTP method.
	MethodNotAllowed Code = "method_not_allowed"
	// UnsupportedMediaType: the request's Content-Type is not accepted.
	UnsupportedMediaType Code = "unsupported_media_type"
	// RateLimited: too many requests from this client; retry later.
	RateLimited Code = "rate_limited"
	// Unauthenticated: no valid credential (bearer token, session) came with
	// the request.
	Unauthenticated Code = "unauthenticated"
	// Forbidden: the credential is valid but does not allow this request.
	Forbidden Code = "forbidden"
)
