package verifier

import "strings"

// FetchError is a failed fetch of issuer material: a key set, a DID
// document, a revocation list or a trust source. Its message says in plain
// words what could not be fetched ("the issuer's key set could not be
// fetched") and never why: the cause — a transport error that may name
// internal addresses, DNS resolvers or DNS answers, a status, a size — is
// in URL and Err, for operators' logs (see Detail).
//
// # Security considerations
//
// Results are shown to whoever sent the card. Distinct causes (refused
// address, connection refused, timeout, no such host) would let a sender
// map the verifier's network with cards naming chosen issuers, so they
// stay out of Error and out of every Result message.
type FetchError struct {
	URL string // what was fetched
	Err error  // why it failed (never shown to the sender)
}

func (e *FetchError) Error() string { return fetchWhat(e.URL) + " could not be fetched" }

// Unwrap returns the cause, so errors.Is(err, safehttp.ErrBlockedAddress)
// and friends still work.
func (e *FetchError) Unwrap() error { return e.Err }

// Detail is the URL and the cause, for a server log.
func (e *FetchError) Detail() string {
	if e.Err == nil {
		return e.URL
	}
	return e.URL + ": " + e.Err.Error()
}

// fetchWhat names what url is, in plain words.
func fetchWhat(url string) string {
	switch {
	case strings.HasSuffix(url, "/.well-known/jwks.json"):
		return "the issuer's key set"
	case strings.HasSuffix(url, "/did.json"):
		return "the issuer's DID document"
	case strings.Contains(url, "/.well-known/crl/"):
		return "the issuer's revocation list"
	case strings.HasSuffix(url, SignatureSuffix):
		return "a trust source's signature"
	}
	return "a trust source"
}
