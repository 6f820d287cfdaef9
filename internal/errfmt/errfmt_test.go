package errfmt

import (
	"errors"
	"testing"
)

func TestMessage(t *testing.T) {
	for _, tc := range []struct {
		detail string
		cause  error
		want   string
	}{
		{"", nil, "shc: bad_signature"},
		{"key k1", nil, "shc: bad_signature: key k1"},
		{"", errors.New("boom"), "shc: bad_signature: boom"},
		{"key k1", errors.New("boom"), "shc: bad_signature: key k1: boom"},
	} {
		if got := Message("shc", "bad_signature", tc.detail, tc.cause); got != tc.want {
			t.Errorf("Message(%q, %v) = %q, want %q", tc.detail, tc.cause, got, tc.want)
		}
	}
}
