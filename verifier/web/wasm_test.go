package web_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestWasmUpToDate rebuilds the on-device verifier the way go generate does
// and fails when static/wasm differs byte for byte (after gunzip) from the
// fresh build, so the committed build cannot go stale. It builds for
// GOOS=js GOARCH=wasm (about 15 s on a warm cache); -short skips it.
func TestWasmUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: not rebuilding the WebAssembly verifier")
	}
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "run", "./internal/wasmgen", "-check")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("%s", out)
}
