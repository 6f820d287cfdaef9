// Package identitytest is a software passkey authenticator for tests of
// issuer/identity and the pages built on it: it answers
// navigator.credentials.create / get options with "none" attestation and
// ES256 signatures, as a platform authenticator with user verification
// would. Browser, Clock and Enrol are the rest of what the desk's and the
// patient pages' tests share: a browser with a cookie jar and a passkey,
// the identity clock they move forward, and an enrolment straight at the
// service.
//
// # Security considerations
//
// It is internal so that nothing outside this module can import it: a
// software authenticator holds its private keys in memory and asserts user
// verification it never performed. Never use it outside tests.
package identitytest
