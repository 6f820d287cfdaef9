package errcode

import "errors"

// Code is a stable, machine-readable error code. Codes are part of the
// public contract (CLI JSON, HTTP problem documents, OperationOutcomes):
// once released a code never changes meaning.
type Code string

// Error is the error type of every healthcards package.
type Error struct {
	// Code is the stable code; branch on it (or on errors.Is with a
	// sentinel), never on Msg.
	Code Code
	// Pkg names the reporting package ("shc", "keys", "verifier", …); it
	// prefixes the message.
	Pkg string
	// Step is the verification step that failed (verifier only), else "".
	Step string
	// Msg is the human-readable detail, if any.
	Msg string
	// Err is the underlying cause, if any.
	Err error
}

// Error formats "pkg: code (step): detail: cause", leaving out the parts
// that are empty.
func (e *Error) Error() string {
	s := string(e.Code)
	if e.Pkg != "" {
		s = e.Pkg + ": " + s
	}
	if e.Step != "" {
		s += " (" + e.Step + ")"
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is a sentinel with e's Code. It is the one
// matching rule of the module: an *Error that carries detail, a step or a
// cause is a specific failure, not a sentinel, and matches nothing by Is
// (compare such errors by identity or by Code).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.isSentinel()
}

func (e *Error) isSentinel() bool { return e.Step == "" && e.Msg == "" && e.Err == nil }

// Sentinel returns the sentinel of code, reported by package pkg, for use
// with errors.Is.
func Sentinel(pkg string, code Code) *Error { return &Error{Code: code, Pkg: pkg} }

// CodeOf returns the Code of the first *Error in err's chain, or "" if
// there is none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
