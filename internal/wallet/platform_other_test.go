//go:build !unix

package wallet

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// Without Unix mode bits and flock the wallet refuses to open instead of
// running unchecked and unlocked (runs on Windows; cross-checked elsewhere
// with GOOS=windows go vet).
func TestOpenRefusedWithoutUnix(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "w"), Options{})
	if !errors.Is(err, ErrUnsupportedPlatform) || !strings.Contains(err.Error(), "the wallet needs a Unix file system") {
		t.Fatalf("Open on a non-Unix system: %v", err)
	}
	var w Wallet
	if _, err := w.lock(); !errors.Is(err, ErrUnsupportedPlatform) {
		t.Fatalf("lock: %v", err)
	}
}
