// Package errfmt formats the messages of the project's coded errors the same
// way everywhere: "pkg: code: detail: cause".
package errfmt

// Message returns prefix + ": " + code, then ": " + detail and ": " +
// cause.Error() when they are present.
func Message(prefix, code, detail string, cause error) string {
	s := prefix + ": " + code
	if detail != "" {
		s += ": " + detail
	}
	if cause != nil {
		s += ": " + cause.Error()
	}
	return s
}
