package errcode_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/healthcards/healthcards/errcode"
)

func TestMessage(t *testing.T) {
	for _, c := range []struct {
		e    *errcode.Error
		want string
	}{
		{&errcode.Error{Code: "bad_payload"}, "bad_payload"},
		{&errcode.Error{Pkg: "shc", Code: "bad_payload"}, "shc: bad_payload"},
		{&errcode.Error{Pkg: "shc", Code: "bad_payload", Msg: `member "iss" repeated`}, `shc: bad_payload: member "iss" repeated`},
		{&errcode.Error{Pkg: "verifier", Code: "expired", Step: "time", Err: io.EOF}, "verifier: expired (time): EOF"},
		{&errcode.Error{Pkg: "keys", Code: "io_error", Msg: "write", Err: io.ErrShortWrite}, "keys: io_error: write: short write"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
}

func TestIsOneRule(t *testing.T) {
	sent := errcode.Sentinel("shc", "bad_payload")
	other := errcode.Sentinel("shc", "bad_signature")
	specific := &errcode.Error{Pkg: "shc", Code: "bad_payload", Msg: "exp is null"}
	wrapped := fmt.Errorf("verifying: %w", &errcode.Error{Pkg: "verifier", Code: "bad_payload", Step: "parse", Err: specific})

	if !errors.Is(specific, sent) || !errors.Is(wrapped, sent) {
		t.Error("an error with the sentinel's code must match it, through wrapping and across packages")
	}
	if errors.Is(specific, other) || errors.Is(wrapped, other) {
		t.Error("an error must not match another code's sentinel")
	}
	if errors.Is(sent, specific) {
		t.Error("a specific error is not a sentinel: nothing matches it by code")
	}
	if errors.Is(io.EOF, sent) {
		t.Error("a foreign error must not match")
	}
	if got := errcode.CodeOf(wrapped); got != "bad_payload" {
		t.Errorf("CodeOf = %q, want the outermost code", got)
	}
	if got := errcode.CodeOf(io.EOF); got != "" {
		t.Errorf("CodeOf(foreign) = %q, want empty", got)
	}
	caused := fmt.Errorf("reading: %w", &errcode.Error{Pkg: "keys", Code: "io_error", Err: io.EOF})
	if !errors.Is(caused, io.EOF) || !errors.Is(caused, errcode.Sentinel("", "io_error")) {
		t.Error("the cause and the code must both stay reachable")
	}
}
