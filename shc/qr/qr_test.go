package qr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/shc"
)

const vciEx = "vci-spec-site/examples/"

// readText returns a QR text vector without surrounding whitespace.
func readText(t testing.TB, rel string) string {
	t.Helper()
	return strings.TrimSpace(string(testvectors.Read(t, rel)))
}

// fakeJWS returns a deterministic string of n JWS-alphabet characters.
func fakeJWS(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
	r := rand.New(rand.NewPCG(uint64(n), 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func qrTextFor(t testing.TB, jws string) string {
	t.Helper()
	s, err := shc.EncodeQRText(jws)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// splitText returns the byte-segment prefix and the digits of QR text.
func splitText(t testing.TB, s string) (string, string) {
	t.Helper()
	q, err := shc.ParseQRText(s)
	if err != nil {
		t.Fatal(err)
	}
	return q.Prefix(), q.Digits
}

// requireTwoSegments reads the symbol's data codewords back and requires
// exactly byte(prefix) + numeric(digits) (QR-1, QR-3).
func requireTwoSegments(t *testing.T, segs []segment, text string) {
	t.Helper()
	prefix, digits := splitText(t, text)
	if len(segs) != 2 || segs[0].mode != modeByte || segs[0].data != prefix ||
		segs[1].mode != modeNumeric || segs[1].data != digits {
		t.Fatalf("segments = %s, want byte(%q) + numeric(%d digits)", describeSegments(segs), prefix, len(digits))
	}
}

func pngBytes(t testing.TB, c *Code, scale int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := c.PNG(&buf, scale); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func requireCode(t *testing.T, err error, want shc.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want code %s", want)
	}
	if got := shc.CodeOf(err); got != want {
		t.Fatalf("code = %q (%v), want %q", got, err, want)
	}
}

// SIZE-4, QR-1: the official examples come out at the versions the spec
// generator chose (V18 single cards, V21 chunks), with exactly two
// segments, and decode back from PNG.
func TestEncodeSpecExamples_QR1_SIZE4(t *testing.T) {
	cases := []struct {
		file    string
		version int
	}{
		{vciEx + "example-00-f-qr-code-numeric-value-0.txt", 18},
		{vciEx + "example-01-f-qr-code-numeric-value-0.txt", 18},
		{vciEx + "example-03-f-qr-code-numeric-value-0.txt", 18},
		{vciEx + "example-02-f-qr-code-numeric-value-0.txt", 21},
		{vciEx + "example-02-f-qr-code-numeric-value-1.txt", 21},
		{vciEx + "example-02-f-qr-code-numeric-value-2.txt", 21},
		{"hl7-ig/input/images/example-00-f-qr-code-numeric-value-0.txt", 18},
		{"hl7-ig/input/images/example-02-f-qr-code-numeric-value-0.txt", 21},
	}
	for _, tc := range cases {
		t.Run(strings.Split(tc.file, "/")[0]+"/"+filepath.Base(tc.file), func(t *testing.T) {
			text := readText(t, tc.file)
			c, err := Encode(text)
			if err != nil {
				t.Fatal(err)
			}
			if c.Version() != tc.version || c.Level() != L {
				t.Fatalf("version %d level %s, want %d L", c.Version(), c.Level(), tc.version)
			}
			// Proof from the module grid itself.
			segs, v, l, got, err := readModules(c.size, c.modules)
			if err != nil {
				t.Fatal(err)
			}
			if v != tc.version || l != L || got != text {
				t.Fatalf("read back version %d level %s text-equal %v", v, l, got == text)
			}
			requireTwoSegments(t, segs, text)
			// And through a rendered image and the full decode pipeline.
			img, err := png.Decode(bytes.NewReader(pngBytes(t, c, 4)))
			if err != nil {
				t.Fatal(err)
			}
			res, err := scan(context.Background(), img)
			if err != nil {
				t.Fatal(err)
			}
			if res.text != text || res.version != tc.version {
				t.Fatalf("image decode: version %d, text-equal %v", res.version, res.text == text)
			}
			requireTwoSegments(t, res.segments, text)
		})
	}
}

// symbolFromSegments builds a symbol from hand-written segments (mode,
// characters), through the same placement and masking as Encode, so that
// tests can make symbols Encode would never produce.
func symbolFromSegments(t *testing.T, v int, l Level, segs ...[2]string) *Code {
	t.Helper()
	w := bitWriter{}
	for _, sg := range segs {
		d := sg[1]
		switch sg[0] {
		case modeByte:
			w.put(4, 4)
			w.put(uint32(len(d)), countBits(4, v))
			for i := 0; i < len(d); i++ {
				w.put(uint32(d[i]), 8)
			}
		case modeNumeric:
			w.put(1, 4)
			w.put(uint32(len(d)), countBits(1, v))
			for i := 0; i < len(d); i += 3 {
				g := d[i:min(i+3, len(d))]
				n := 0
				for _, c := range []byte(g) {
					n = n*10 + int(c-'0')
				}
				w.put(uint32(n), [4]int{0, 4, 7, 10}[len(g)])
			}
		case modeAlphanumeric:
			w.put(2, 4)
			w.put(uint32(len(d)), countBits(2, v))
			for i := 0; i < len(d); i += 2 {
				if i+1 < len(d) {
					w.put(uint32(strings.IndexByte(alnumChars, d[i])*45+strings.IndexByte(alnumChars, d[i+1])), 11)
				} else {
					w.put(uint32(strings.IndexByte(alnumChars, d[i])), 6)
				}
			}
		}
	}
	w.put(0, 4)
	w.flush()
	capBytes := dataBits(v, l) / 8
	if len(w.b) > capBytes {
		t.Fatalf("segments do not fit version %d", v)
	}
	for pad := byte(0xec); len(w.b) < capBytes; pad ^= 0xec ^ 0x11 {
		w.b = append(w.b, pad)
	}
	return buildData(&scratch{data: w.b}, v, l)
}

// The segment proof must be able to fail: symbols with other segmentations
// are reported as such by the independent reader, and Encode's structural
// check refuses them.
func TestSegmentParserSeesOtherSegmentations(t *testing.T) {
	for _, tc := range []struct {
		segs [][2]string
		want string
	}{
		{[][2]string{{modeAlphanumeric, "SHC:/"}, {modeNumeric, "56762909"}}, "alphanumeric(5) + numeric(8)"},
		{[][2]string{{modeByte, "shc:/00"}}, "byte(7)"},
		{[][2]string{{modeByte, "https://example.org/"}}, "byte(20)"},
		{[][2]string{{modeNumeric, "0123456789"}}, "numeric(10)"},
		{[][2]string{{modeByte, "shc:/1/2/"}, {modeNumeric, "5676290956"}}, "byte(9) + numeric(10)"},
		{[][2]string{{modeByte, "shc:/56"}, {modeNumeric, "76290956"}}, "byte(7) + numeric(8)"},
	} {
		c := symbolFromSegments(t, 2, L, tc.segs...)
		segs, _, _, _, err := readModules(c.size, c.modules)
		if err != nil {
			t.Fatal(err)
		}
		if describeSegments(segs) != tc.want {
			t.Errorf("segments %s, want %s", describeSegments(segs), tc.want)
		}
		if tc.want != "byte(9) + numeric(10)" {
			if err := c.structuralCheck(segSpec{bytes: "shc:/", digits: "56762909"}); shc.CodeOf(err) != CodeEncodeFailed {
				t.Errorf("%s: structural check passed a wrong segmentation (%v)", tc.want, err)
			}
		}
	}
}

// QR-1/QR-3 across sizes: at every level, every JWS length from 1 to 40
// and both sides of every version boundary up to version 22 either encode
// with exactly two segments (Encode's self-check) in the smallest version
// that fits, proven by the independent decoder.
func TestEncodeTwoSegmentsAllSizes_QR1_QR3(t *testing.T) {
	for _, lv := range []Level{L, M, Q, H} {
		t.Run(lv.String(), func(t *testing.T) {
			t.Parallel()
			lengths := map[int]bool{}
			for n := 1; n <= 40; n++ {
				lengths[n] = true
			}
			for n := 1; n <= MaxJWSLen(lv, 5); n++ {
				if smallestVersion(5, 2*n, lv) != smallestVersion(5, 2*n+2, lv) {
					lengths[n], lengths[n+1] = true, true // last fit, first of next version
				}
			}
			lengths[MaxJWSLen(lv, 5)] = true
			for n := range lengths {
				if n > MaxJWSLen(lv, 5) {
					continue
				}
				text := qrTextFor(t, fakeJWS(n))
				c, err := Encode(text, WithLevel(lv))
				if err != nil {
					t.Fatalf("JWS %d chars: %v", n, err)
				}
				requireTwoSegmentsFromCode(t, c, text)
				want := smallestVersion(len("shc:/"), 2*n, lv)
				if c.Version() != want {
					t.Fatalf("JWS %d chars: version %d, want smallest fitting %d", n, c.Version(), want)
				}
			}
		})
	}
}

func requireTwoSegmentsFromCode(t *testing.T, c *Code, text string) {
	t.Helper()
	segs, _, _, _, err := readModules(c.size, c.modules)
	if err != nil {
		t.Fatal(err)
	}
	requireTwoSegments(t, segs, text)
}

// smallestVersion computes, from gozxing's capacity table, the smallest
// version whose data capacity holds byte(prefix) + numeric(digits).
func smallestVersion(prefixLen, digits int, lv Level) int {
	for v := 1; v <= 40; v++ {
		if segmentBits(prefixLen, digits, v) <= dataBits(v, lv) {
			return v
		}
	}
	return 0
}

// SIZE-3: a JWS of exactly the limit fits one version 22 QR, one more
// character does not, and the error says so.
func TestEncodeV22Boundaries_SIZE3(t *testing.T) {
	for _, tc := range []struct {
		level  Level
		prefix string
		limit  int
	}{
		{L, "", 1195}, {M, "", 927}, {Q, "", 670}, {H, "", 519},
		{L, "1/2/", 1191}, // SIZE-2: chunks of at most 1191 characters
	} {
		t.Run(fmt.Sprintf("%s%s", tc.level, tc.prefix), func(t *testing.T) {
			if got := MaxJWSLen(tc.level, len("shc:/"+tc.prefix)); got != tc.limit {
				t.Fatalf("MaxJWSLen = %d, want %d", got, tc.limit)
			}
			text := func(n int) string {
				d, err := shc.EncodeNumeric(fakeJWS(n))
				if err != nil {
					t.Fatal(err)
				}
				return "shc:/" + tc.prefix + d
			}
			c, err := Encode(text(tc.limit), WithLevel(tc.level))
			if err != nil {
				t.Fatalf("%d chars: %v", tc.limit, err)
			}
			if c.Version() != 22 {
				t.Fatalf("%d chars: version %d, want 22", tc.limit, c.Version())
			}
			_, err = Encode(text(tc.limit+1), WithLevel(tc.level))
			requireCode(t, err, shc.CodeQRTooLarge)
			if !errors.Is(err, shc.ErrQRTooLarge) {
				t.Fatalf("errors.Is(err, shc.ErrQRTooLarge) = false")
			}
			msg := err.Error()
			if !strings.Contains(msg, fmt.Sprint(tc.limit+1)) || !strings.Contains(msg, fmt.Sprintf("limit is %d", tc.limit)) ||
				!strings.Contains(msg, "level "+tc.level.String()) {
				t.Fatalf("message %q lacks the length, level or limit", msg)
			}
		})
	}
}

func TestEncodeRoundTripEveryLevel(t *testing.T) {
	jws := readText(t, vciEx+"example-03-d-jws.txt")
	for _, lv := range []Level{L, M, Q, H} {
		t.Run(lv.String(), func(t *testing.T) {
			n := min(len(jws), MaxJWSLen(lv, 5))
			text := qrTextFor(t, jws[:n])
			c, err := Encode(text, WithLevel(lv))
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeBytes(pngBytes(t, c, 3))
			if err != nil {
				t.Fatal(err)
			}
			if got != text {
				t.Fatal("decoded text differs")
			}
			res, err := scan(context.Background(), c.mustImage(t, 3))
			if err != nil {
				t.Fatal(err)
			}
			if res.level != lv || res.version != c.Version() {
				t.Fatalf("read level %s version %d, want %s %d", res.level, res.version, lv, c.Version())
			}
			requireTwoSegments(t, res.segments, text)
			var svg bytes.Buffer
			if err := c.SVG(&svg); err != nil {
				t.Fatal(err)
			}
			got, err = DecodeSVG(svg.Bytes())
			if err != nil || got != text {
				t.Fatalf("SVG round trip: err %v, equal %v", err, got == text)
			}
		})
	}
	// The full chain back to the JWS.
	c, err := Encode(qrTextFor(t, jws))
	if err != nil {
		t.Fatal(err)
	}
	text, err := DecodeBytes(pngBytes(t, c, 2))
	if err != nil {
		t.Fatal(err)
	}
	back, err := shc.DecodeQRText(text)
	if err != nil || back != jws {
		t.Fatalf("shc.DecodeQRText: err %v, JWS equal %v", err, back == jws)
	}
}

func (c *Code) mustImage(t testing.TB, scale int) image.Image {
	t.Helper()
	img, err := c.Image(scale)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestEncodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       shc.Code
	}{
		{"empty", "", shc.CodeMalformedInput},
		{"no digits", "shc:/", shc.CodeMalformedInput},
		{"odd digits", "shc:/567", shc.CodeMalformedInput},
		{"pair above 77 (QR-2)", "shc:/5678", shc.CodeMalformedInput},
		{"non-digit", "shc:/56a7", shc.CodeMalformedInput},
		{"upper-case scheme", "SHC:/5676", shc.CodeMalformedInput},
		{"other scheme", "shlink:/eyJ1cmwiOi", shc.CodeMalformedInput},
		{"chunk 0", "shc:/0/1/5676", shc.CodeMalformedInput},
		{"chunk C > N", "shc:/3/2/5676", shc.CodeMalformedInput},
		{"chunk leading zero", "shc:/01/2/5676", shc.CodeMalformedInput},
		{"chunk without digits", "shc:/1/2/", shc.CodeMalformedInput},
		{"half a chunk prefix", "shc:/1/5676", shc.CodeMalformedInput},
		{"too long for one V22", "shc:/" + strings.Repeat("56", 2000), shc.CodeQRTooLarge},
		{"too long for any QR", "shc:/" + strings.Repeat("56", 5000), shc.CodeQRTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Encode(tc.text)
			if c != nil {
				t.Fatal("non-nil Code on error")
			}
			requireCode(t, err, tc.want)
		})
	}
	_, err := Encode("shc:/5676", WithLevel(Level(7)))
	requireCode(t, err, shc.CodeMalformedInput)
}

func TestRender(t *testing.T) {
	c, err := Encode(readText(t, vciEx+"example-00-f-qr-code-numeric-value-0.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// PNG: 4-module quiet zone, scale px per module, 1-bit palette.
	img, err := png.Decode(bytes.NewReader(pngBytes(t, c, 3)))
	if err != nil {
		t.Fatal(err)
	}
	if n := (c.Size() + 8) * 3; img.Bounds() != image.Rect(0, 0, n, n) {
		t.Fatalf("PNG bounds %v, want %d square", img.Bounds(), n)
	}
	dark := func(x, y int) bool { r, _, _, _ := img.At(x, y).RGBA(); return r < 0x8000 }
	for y := 0; y < c.Size()+8; y++ {
		for x := 0; x < c.Size()+8; x++ {
			if got, want := dark(x*3+1, y*3+1), c.Dark(x-4, y-4); got != want {
				t.Fatalf("module (%d,%d) dark=%v, want %v", x, y, got, want)
			}
		}
	}
	for _, bad := range []int{0, -1, MaxScale + 1} {
		requireCode(t, c.PNG(&bytes.Buffer{}, bad), shc.CodeMalformedInput)
	}
	// SVG: compact, one module path, accessible.
	var buf bytes.Buffer
	if err := c.SVG(&buf); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, want := range []string{`viewBox="0 0 97 97"`, `shape-rendering="crispEdges"`, `<title>SMART Health Card QR code</title>`, `aria-label="SMART Health Card QR code"`, `role="img"`} {
		if !strings.Contains(s, want) {
			t.Errorf("SVG lacks %s", want)
		}
	}
	if n := strings.Count(s, "<path"); n != 2 { // background + modules
		t.Errorf("SVG has %d paths, want 2", n)
	}
	_, modulePath, _ := strings.Cut(s, `stroke="#000" d="`)
	if n := strings.Count(modulePath, "M"); n != c.Size()-countEmptyRows(c) {
		t.Errorf("SVG module path has %d absolute moves, want one per non-empty row", n)
	}
	if len(s) > 14000 {
		t.Errorf("SVG is %d bytes; the official V18 SVG is about 12.5 KB", len(s))
	}
}

func countEmptyRows(c *Code) int {
	n := 0
	for y := 0; y < c.Size(); y++ {
		empty := true
		for x := 0; x < c.Size(); x++ {
			empty = empty && !c.Dark(x, y)
		}
		if empty {
			n++
		}
	}
	return n
}
