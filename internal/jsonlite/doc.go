// Package jsonlite is a small, strict, allocation-free JSON reader for the
// hot paths of package shc and package verifier: one forward pass over a
// byte slice, no reflection.
//
// It validates RFC 8259 exactly (UTF-8 strings, no control characters,
// the number grammar, one value per text) and limits nesting depth. It has
// no notion of Go types: callers walk objects with Enter/Next, read member
// values with String, Number or Skip (which returns a value's raw bytes,
// so a large member can be kept as a sub-slice without re-encoding), and
// match member names byte for byte (case-sensitively).
//
// Duplicate member names are the caller's business: a caller that decodes
// an object records which names it has seen and refuses repeats. FoldsTo
// helps a caller refuse names that a case-insensitive decoder would
// confuse with a known member.
//
// # Security considerations
//
// Every read is bounded by the input slice and the depth limit; no method
// panics on any input. A Reader that failed stays failed.
package jsonlite
