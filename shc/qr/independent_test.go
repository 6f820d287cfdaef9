package qr

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/shc"
	zxdecoder "github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// The capacity tables in package shc agree with gozxing's version table
// (ISO/IEC 18004 table 9) for every version and level, and the alignment
// pattern positions with its table (annex E).
func TestTablesMatchIndependentDecoder(t *testing.T) {
	zl := [...]zxdecoder.ErrorCorrectionLevel{zxdecoder.ErrorCorrectionLevel_L, zxdecoder.ErrorCorrectionLevel_M,
		zxdecoder.ErrorCorrectionLevel_Q, zxdecoder.ErrorCorrectionLevel_H}
	for v := 1; v <= 40; v++ {
		zv, err := zxdecoder.Version_GetVersionForNumber(v)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := shc.QRTotalCodewords(v), zv.GetTotalCodewords(); got != want {
			t.Errorf("v%d: total codewords %d, gozxing %d", v, got, want)
		}
		for i, lv := range qrLevels {
			ecb := zv.GetECBlocksForLevel(zl[i])
			blocks, ec := shc.QRBlocks(v, lv)
			if blocks != ecb.GetNumBlocks() || ec != ecb.GetECCodewordsPerBlock() {
				t.Errorf("v%d %s: %d blocks of %d EC codewords, gozxing %d of %d", v, lv, blocks, ec, ecb.GetNumBlocks(), ecb.GetECCodewordsPerBlock())
			}
		}
		if got, want := fmt.Sprint(alignmentCenters(v)), fmt.Sprint(zv.GetAlignmentPatternCenters()); got != want && !(v == 1 && want == "[]") {
			t.Errorf("v%d: alignment centres %s, gozxing %s", v, got, want)
		}
	}
}

// zbarimg returns the path of zbar's command-line reader, skipping the
// test when it is absent (failing under CI=true: .ci/run installs it).
func zbarimg(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("zbarimg not found; CI must have zbar-tools")
		}
		t.Skip("zbarimg not installed (Debian package zbar-tools)")
	}
	return p
}

// zbarRead decodes the PNGs with one zbarimg run and returns the text of
// each, in order.
func zbarRead(t *testing.T, pngs [][]byte) []string {
	t.Helper()
	bin := zbarimg(t)
	dir := t.TempDir()
	var files []string
	for i, b := range pngs {
		f := filepath.Join(dir, fmt.Sprintf("%04d.png", i))
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	out := make([]string, 0, len(files))
	for i := 0; i < len(files); i += 64 {
		batch := files[i:min(i+64, len(files))]
		cmd := exec.Command(bin, append([]string{"--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"}, batch...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("zbarimg: %v: %s", err, stderr.String())
		}
		// zbar writes each symbol's text (ASCII here) and a newline.
		lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
		if len(lines) != len(batch) {
			t.Fatalf("zbarimg read %d symbols from %d images", len(lines), len(batch))
		}
		out = append(out, lines...)
	}
	return out
}

// encodedCorpus is every symbol shape the package's tests make: the spec
// examples and, at every level, both sides of every version boundary
// from version 1 to 22 plus short texts.
func encodedCorpus(t *testing.T) []*Code {
	t.Helper()
	var codes []*Code
	for _, f := range []string{"example-00-f-qr-code-numeric-value-0.txt", "example-01-f-qr-code-numeric-value-0.txt",
		"example-02-f-qr-code-numeric-value-1.txt", "example-03-f-qr-code-numeric-value-0.txt"} {
		c, err := Encode(readText(t, vciEx+f))
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, c)
	}
	for _, lv := range qrLevels {
		lengths := []int{1, 2, 3, 7}
		for n := 1; n < MaxJWSLen(lv, 5); n++ {
			if smallestVersion(5, 2*n, lv) != smallestVersion(5, 2*n+2, lv) {
				lengths = append(lengths, n, n+1)
			}
		}
		lengths = append(lengths, MaxJWSLen(lv, 5))
		for _, n := range lengths {
			c, err := Encode(qrTextFor(t, fakeJWS(n)), WithLevel(lv))
			if err != nil {
				t.Fatalf("%s %d: %v", lv, n, err)
			}
			codes = append(codes, c)
		}
	}
	return codes
}

// Every symbol is read back byte for byte by gozxing (from the module
// grid, with its version, level and two segments) and by zbar (from the
// PNG), versions 1 to 22 at every level.
func TestEncodedSymbolsReadByIndependentDecoders(t *testing.T) {
	codes := encodedCorpus(t)
	seen := map[string]bool{}
	var pngs [][]byte
	for _, c := range codes {
		segs, v, l, text, err := readModules(c.size, c.modules)
		if err != nil {
			t.Fatalf("gozxing: v%d %s: %v", c.version, c.level, err)
		}
		if text != c.text || v != c.version || l != c.level {
			t.Fatalf("gozxing read v%d %s (text equal %v), want v%d %s", v, l, text == c.text, c.version, c.level)
		}
		requireTwoSegments(t, segs, c.text)
		seen[fmt.Sprintf("%d%s", c.version, c.level)] = true
		pngs = append(pngs, pngBytes(t, c, 2))
	}
	for v := 1; v <= MaxVersion; v++ {
		for _, lv := range qrLevels {
			if !seen[fmt.Sprintf("%d%s", v, lv)] && v >= smallestVersion(5, 2, lv) {
				t.Errorf("corpus has no version %d level %s symbol", v, lv)
			}
		}
	}
	for i, got := range zbarRead(t, pngs) {
		if got != codes[i].text {
			t.Fatalf("zbar: symbol %d (v%d %s) reads %d bytes, want the %d-byte text", i, codes[i].version, codes[i].level, len(got), len(codes[i].text))
		}
	}
}

// SMART Health Links go through EncodeBytes; zbar reads them too.
func TestEncodeBytesReadByIndependentDecoders(t *testing.T) {
	var codes []*Code
	var pngs [][]byte
	for _, n := range []int{1, 17, 100, 255, 256, 1000, 2331} {
		s := strings.Repeat("shlink:/eyJ1cmwiOiJodHRwczovL2V4YW1wbGUub3Jn", 60)[:n]
		c, err := EncodeBytes(s, M)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		segs, _, l, text, err := readModules(c.size, c.modules)
		if err != nil || text != s || l != M || len(segs) != 1 || segs[0].mode != modeByte {
			t.Fatalf("%d bytes: gozxing %v, level %s, segments %s", n, err, l, describeSegments(segs))
		}
		codes = append(codes, c)
		pngs = append(pngs, pngBytes(t, c, 2))
	}
	if _, err := EncodeBytes(strings.Repeat("a", 2332), M); shc.CodeOf(err) != shc.CodeQRTooLarge {
		t.Fatalf("2332 bytes at M: %v, want qr_too_large", err)
	}
	if _, err := EncodeBytes("", M); shc.CodeOf(err) != shc.CodeMalformedInput {
		t.Fatalf("empty: %v", err)
	}
	for i, got := range zbarRead(t, pngs) {
		if got != codes[i].text {
			t.Fatalf("zbar: link %d differs", i)
		}
	}
}

// Differential fuzzing: random card-like payloads (JWS-alphabet text of
// any length that fits, optionally chunked) at every level, encoded and
// read back by gozxing from the module grid: same text, level, smallest
// version, two segments.
func FuzzEncodeDecode(f *testing.F) {
	f.Add([]byte("eyJhbGciOiJFUzI1NiJ9"), uint16(800), uint8(0), false)
	f.Add([]byte{1, 2, 3}, uint16(1), uint8(3), true)
	f.Add([]byte("x"), uint16(1195), uint8(0), false)
	f.Add([]byte("y"), uint16(519), uint8(3), false)
	f.Fuzz(func(t *testing.T, seed []byte, n uint16, level uint8, chunk bool) {
		lv := Level(level % 4)
		prefix := "shc:/"
		if chunk {
			prefix = "shc:/2/3/"
		}
		limit := MaxJWSLen(lv, len(prefix))
		length := 1 + int(n)%limit
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
		jws := make([]byte, length)
		for i := range jws {
			k := i
			if len(seed) > 0 {
				k = int(seed[i%len(seed)]) + i*31
			}
			jws[i] = alphabet[k%len(alphabet)]
		}
		digits, err := shc.EncodeNumeric(string(jws))
		if err != nil {
			t.Fatal(err)
		}
		text := prefix + digits
		c, err := Encode(text, WithLevel(lv))
		if err != nil {
			t.Fatalf("%d chars at %s: %v", length, lv, err)
		}
		segs, v, l, got, err := readModules(c.size, c.modules)
		if err != nil {
			t.Fatalf("gozxing: %v", err)
		}
		if got != text || l != lv || v != c.version || v != smallestVersion(len(prefix), len(digits), lv) || v > MaxVersion {
			t.Fatalf("read v%d %s (text equal %v); encoded v%d, smallest %d", v, l, got == text, c.version, smallestVersion(len(prefix), len(digits), lv))
		}
		requireTwoSegments(t, segs, text)
		// One more character than the limit is refused.
		if _, err := Encode(prefix+digits+strings.Repeat("00", limit+1-length), WithLevel(lv)); shc.CodeOf(err) != shc.CodeQRTooLarge {
			t.Fatalf("over the limit: %v", err)
		}
	})
}
