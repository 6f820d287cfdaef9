package capped

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(p, 5); err != nil || string(b) != "12345" {
		t.Fatalf("at the limit: %q %v", b, err)
	}
	if _, err := ReadFile(p, 4); err == nil || !strings.Contains(err.Error(), "4-byte limit") {
		t.Fatalf("over the limit: %v", err)
	}
	// A device reports size 0 but never ends: the limit still holds.
	if _, err := ReadFile("/dev/zero", 1024); err == nil {
		t.Fatal("/dev/zero read without hitting the limit")
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing"), 10); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
}
