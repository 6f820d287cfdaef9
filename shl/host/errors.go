package host

import (
	"fmt"

	"github.com/healthcards/healthcards/shl"
)

// Errors of this package are *shl.Error values with the shl codes, so one
// errors.Is rule (shl.ErrLinkNotFound, shl.ErrInvalidArgument, ...) and
// shl.CodeOf cover both sides of a link.
func newErr(code shl.Code, format string, args ...any) *shl.Error {
	return &shl.Error{Pkg: "shl", Code: code, Msg: fmt.Sprintf(format, args...)}
}

func wrapErr(code shl.Code, err error, format string, args ...any) *shl.Error {
	return &shl.Error{Pkg: "shl", Code: code, Msg: fmt.Sprintf(format, args...), Err: err}
}

// truncate shortens a caller-supplied string quoted in an error.
func truncate(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}
