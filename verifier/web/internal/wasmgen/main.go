// Command wasmgen builds the on-device verifier (cmd/shc-verifier-wasm) for
// the scanning page: GOOS=js GOARCH=wasm, -trimpath, -ldflags "-s -w",
// gzip-compressed (best compression, no name or time in the header, so the
// output depends on the source and the Go version only) into
// static/wasm/verifier.wasm.gz, next to the Go version's wasm_exec.js.
// Run it with go generate in verifier/web. With -check it writes nothing
// and fails when the committed files differ from a fresh build (the test
// TestWasmUpToDate runs it so the committed build cannot go stale).
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

func main() {
	check := flag.Bool("check", false, "compare with the committed files instead of writing them")
	dir := flag.String("dir", "static/wasm", "output folder")
	flag.Parse()
	if err := run(*dir, *check); err != nil {
		fmt.Fprintln(os.Stderr, "wasmgen:", err)
		os.Exit(1)
	}
}

func run(dir string, check bool) error {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	tmp, err := os.MkdirTemp("", "wasmgen")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "verifier.wasm")
	cmd := exec.Command(goBin, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, "github.com/healthcards/healthcards/cmd/shc-verifier-wasm")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building: %w", err)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return err
	}
	zw.Write(wasm)
	if err := zw.Close(); err != nil {
		return err
	}
	execJS, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		if execJS, err = os.ReadFile(filepath.Join(runtime.GOROOT(), "misc", "wasm", "wasm_exec.js")); err != nil {
			return err
		}
	}
	if !check {
		if err := os.WriteFile(filepath.Join(dir, "verifier.wasm.gz"), gz.Bytes(), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "wasm_exec.js"), execJS, 0o644); err != nil {
			return err
		}
		fmt.Printf("wasmgen: %s: %d bytes raw, %d gzip (%s)\n", dir, len(wasm), gz.Len(), runtime.Version())
		return nil
	}
	var stale []string
	old, err := os.ReadFile(filepath.Join(dir, "verifier.wasm.gz"))
	if err == nil {
		var r io.ReadCloser
		if r, err = gzip.NewReader(bytes.NewReader(old)); err == nil {
			old, err = io.ReadAll(r)
		}
	}
	if err != nil || !bytes.Equal(old, wasm) {
		stale = append(stale, fmt.Sprintf("verifier.wasm.gz (committed %d bytes raw, fresh build %d)", len(old), len(wasm)))
	}
	if old, err := os.ReadFile(filepath.Join(dir, "wasm_exec.js")); err != nil || !bytes.Equal(old, execJS) {
		stale = append(stale, "wasm_exec.js")
	}
	if len(stale) > 0 {
		return fmt.Errorf("stale with %s: %s; run go generate ./verifier/web", runtime.Version(), strings.Join(stale, ", "))
	}
	fmt.Printf("wasmgen: %s up to date: %d bytes raw, %d gzip\n", dir, len(wasm), gz.Len())
	return nil
}
