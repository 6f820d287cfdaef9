// Package verifier verifies SMART Health Cards: it turns any card input
// into a verdict a person can act on (verified, issuer not trusted, or
// invalid with a reason) and, for verified cards, the signed FHIR bundle and
// a human summary of it. Work in progress: see the final package doc.
package verifier
