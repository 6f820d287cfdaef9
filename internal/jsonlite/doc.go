// Package jsonlite is the project's strict JSON reader: the one definition
// of how packages shc and verifier read signed content (the JWS header,
// the claim set and its FHIR bundle). It reads a byte slice in one
// forward pass, without reflection.
//
// It validates RFC 8259 exactly (UTF-8 strings, no control characters,
// the number grammar, one value per text), limits nesting depth, and adds
// the rules that keep two readers from seeing different content in the
// same signed bytes, in every object at every depth:
//
//   - a member name written with an escape is refused;
//   - a member name repeated in one object is refused (encoding/json keeps
//     the last, other readers the first);
//   - two names of one object that are equal under Unicode case folding
//     ("iss" and "ISS", "k" and the Kelvin sign) are refused
//     (encoding/json matches struct fields case-insensitively);
//   - a \u escape of a lone surrogate (no UTF-8 form) is refused.
//
// Refusals of names are *MemberError values naming the member and its JSON
// path; other failures are ErrSyntax or ErrDepth.
//
// Callers walk objects with Enter/Members (or Next), read values with
// String, Number or Skip (which returns a value's raw bytes), or build an
// order-preserving tree with Parse (used by shc.Minify). encoding/json is
// kept only as a test oracle (FuzzStrictDifferential).
//
// # Security considerations
//
// Every read is bounded by the input slice and the depth limit; no method
// panics on any input. Name checks are linear per object (a map past 16
// members), so a hostile object cannot cost quadratic time. A Reader that
// failed stays failed.
package jsonlite
