package check

import (
	"errors"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/issuer/store"
)

// TestEntry checks CRL entry syntax (REV-5: rid or rid.TIMESTAMP).
func TestEntry(t *testing.T) {
	for _, e := range []string{"MTEyMzQ1Njc4OTA", "a", "a-_Z9", "MTEyMzQ1Njc4OTA.1636977600", "r.0", strings.Repeat("r", 64), "r." + strings.Repeat("9", 19)} {
		if err := Entry(e); err != nil {
			t.Errorf("Entry(%q) = %v, want ok", e, err)
		}
	}
	for _, e := range []string{"", ".1", "a.", "a.1.2", "a b", "a.-1", "a.1x", "a/b", "ä", strings.Repeat("r", 65), "r." + strings.Repeat("9", 20), "a\x00"} {
		if err := Entry(e); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Entry(%q) = %v, want ErrInvalid", e, err)
		}
	}
}

func TestKid(t *testing.T) {
	if err := Kid("3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s"); err != nil {
		t.Error(err)
	}
	for _, k := range []string{"", "a.b", "../x", "a=", strings.Repeat("k", store.MaxIDBytes+1)} {
		if err := Kid(k); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Kid(%q) = %v, want ErrInvalid", k, err)
		}
	}
}

func TestJSONErrorsDoNotQuote(t *testing.T) {
	err := JSON("resource", []byte(`{"name":"Jane Secret"`))
	if !errors.Is(err, store.ErrInvalid) || strings.Contains(err.Error(), "Jane") {
		t.Errorf("JSON error = %v", err)
	}
}
