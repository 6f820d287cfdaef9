package qr

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/shc"
)

// Every official SVG QR decodes to exactly its f-file, and its symbol is
// byte(prefix) + numeric(digits) as QR-1 requires (the spec generator is
// the reference; MANIFEST: "segments: byte 5 + numeric 1608" for VCI ex 0).
func TestDecodeSVGOfficialExamples(t *testing.T) {
	svgs := append(testvectors.Glob(t, vciEx+"example-*-g-qr-code-*.svg"),
		testvectors.Glob(t, "hl7-ig/input/images/example-*-g-qr-code-*.svg")...)
	if len(svgs) != 12 {
		t.Fatalf("found %d example SVGs, want 12", len(svgs))
	}
	for _, path := range svgs {
		dir, name := filepath.Base(filepath.Dir(path)), filepath.Base(path)
		t.Run(dir+"/"+name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.Replace(strings.TrimSuffix(path, ".svg"), "-g-qr-code-", "-f-qr-code-numeric-value-", 1) + ".txt")
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeSVG(data)
			if err != nil {
				t.Fatal(err)
			}
			if got != strings.TrimSpace(string(want)) {
				t.Fatalf("decoded text differs from the f-file")
			}
			g, work, err := rasterizeSVG(context.Background(), data, svgWorkBudget)
			if err != nil {
				t.Fatal(err)
			}
			if work > svgWorkBudget/4 {
				t.Errorf("rasterizing took %d work units; the budget (%d) should leave 4x headroom over official SVGs", work, svgWorkBudget)
			}
			res, err := scanGray(context.Background(), g)
			if err != nil {
				t.Fatal(err)
			}
			requireTwoSegments(t, res.segments, got)
			wantV := 18
			if strings.Contains(name, "example-02") {
				wantV = 21
			}
			if res.version != wantV || res.level != L {
				t.Fatalf("version %d level %s, want %d L (SIZE-4)", res.version, res.level, wantV)
			}
			if name == "example-00-g-qr-code-0.svg" && dir == "examples" && describeSegments(res.segments) != "byte(5) + numeric(1608)" {
				t.Fatalf("segments %s, MANIFEST says byte 5 + numeric 1608", describeSegments(res.segments))
			}
		})
	}
}

func TestDecodeThirdPartyPNG(t *testing.T) {
	const dir = "third-party/seanno-shc-demo-data/cards/example-covid/"
	got, err := DecodeBytes(testvectors.Read(t, dir+"shc.png"))
	if err != nil {
		t.Fatal(err)
	}
	if got != readText(t, dir+"shc.txt") {
		t.Fatal("decoded text differs from shc.txt")
	}
	jws, err := shc.DecodeQRText(got)
	if err != nil || jws != readText(t, dir+"jws-raw.txt") {
		t.Fatalf("shc.DecodeQRText: err %v, equals jws-raw.txt %v", err, jws == readText(t, dir+"jws-raw.txt"))
	}
}

// photoLike renders c as a phone photo of a printout might look: on a
// larger grey canvas, off centre, rotated 7°, blurred, low contrast with
// uneven light, noisy, then JPEG quality 60.
func photoLike(t testing.TB, c *Code) []byte {
	t.Helper()
	qrImg, err := c.Image(5)
	if err != nil {
		t.Fatal(err)
	}
	src := qrImg.Bounds().Dx()
	const W, H = 1400, 1100
	canvas := image.NewGray(image.Rect(0, 0, W, H))
	cx, cy := 560.0, 610.0 // centre of the QR on the canvas, off centre
	sin, cos := math.Sincos(7 * math.Pi / 180)
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			// Inverse-rotate into the QR image, nearest neighbour.
			dx, dy := float64(x)-cx, float64(y)-cy
			sx := int(math.Floor(cos*dx + sin*dy + float64(src)/2))
			sy := int(math.Floor(-sin*dx + cos*dy + float64(src)/2))
			v := 235.0 // paper
			if sx >= 0 && sy >= 0 && sx < src && sy < src {
				v = 255
				if qrImg.ColorIndexAt(sx, sy) == 1 {
					v = 0
				}
			}
			canvas.Pix[y*W+x] = uint8(v)
		}
	}
	// Blur: three 3×3 box passes approximate a gaussian (sigma ~1.4 px).
	for range 3 {
		canvas = boxBlurForTest(canvas)
	}
	r := rand.New(rand.NewPCG(7, 7))
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			v := float64(canvas.Pix[y*W+x])
			v = 70 + v*110/255        // low contrast: black 70, white 180
			v += 30 * float64(x) / W  // uneven light, brighter to the right
			v += r.NormFloat64() * 10 // sensor noise
			canvas.Pix[y*W+x] = uint8(min(255, max(0, math.Round(v))))
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, canvas, &jpeg.Options{Quality: 60}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func boxBlurForTest(g *image.Gray) *image.Gray {
	b := g.Bounds()
	out := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			sum, n := 0, 0
			for yy := max(y-1, b.Min.Y); yy <= min(y+1, b.Max.Y-1); yy++ {
				for xx := max(x-1, b.Min.X); xx <= min(x+1, b.Max.X-1); xx++ {
					sum += int(g.GrayAt(xx, yy).Y)
					n++
				}
			}
			out.SetGray(x, y, color.Gray{Y: uint8(sum / n)})
		}
	}
	return out
}

func TestDecodePhotoLike(t *testing.T) {
	text := readText(t, vciEx+"example-00-f-qr-code-numeric-value-0.txt")
	c, err := Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	photo := photoLike(t, c)
	got, err := DecodeBytes(photo)
	if err != nil {
		t.Fatal(err)
	}
	if got != text {
		t.Fatal("decoded text differs")
	}
	img, _ := jpeg.Decode(bytes.NewReader(photo))
	res, err := scan(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("photo-like image decoded at ladder rung %d", res.attempt)
}

// Images that need a later rung of the ladder: tiny (upscale), inverted,
// transparent background, rotated 12° and shrunk small.
func TestDecodeLadderCases(t *testing.T) {
	text := readText(t, vciEx+"example-03-f-qr-code-numeric-value-0.txt")
	c, err := Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	one, err := c.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	three, err := c.Image(3)
	if err != nil {
		t.Fatal(err)
	}
	inverted := toGray(three)
	for i, v := range inverted.Pix {
		inverted.Pix[i] = 255 - v
	}
	transparent := image.NewNRGBA(three.Bounds())
	for y := 0; y < three.Bounds().Dy(); y++ {
		for x := 0; x < three.Bounds().Dx(); x++ {
			if three.ColorIndexAt(x, y) == 1 {
				transparent.SetNRGBA(x, y, color.NRGBA{0, 0, 80, 255}) // dark blue modules
			} // else fully transparent
		}
	}
	big := image.NewRGBA(image.Rect(0, 0, 2600, 2600)) // above the working size
	for i := range big.Pix {
		big.Pix[i] = 255
	}
	for y := 0; y < 101*8; y++ {
		for x := 0; x < 101*8; x++ {
			if three.ColorIndexAt(x/8*3, y/8*3) == 1 {
				o := big.PixOffset(900+x, 700+y)
				big.Pix[o], big.Pix[o+1], big.Pix[o+2] = 0, 0, 0
			}
		}
	}
	for _, tc := range []struct {
		name string
		img  image.Image
	}{
		{"one pixel per module", one},
		{"inverted", inverted},
		{"transparent background", transparent},
		{"large RGBA canvas", big},
		{"rotated 12 degrees", rotate(toGray(three), 12)},
		{"sub-image", three.SubImage(image.Rect(2, 3, three.Bounds().Dx()-1, three.Bounds().Dy()))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.img)
			if err != nil {
				t.Fatal(err)
			}
			if got != text {
				t.Fatal("decoded text differs")
			}
		})
	}
}

func TestDecodeFailures(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 800, 600))
	for i := range blank.Pix {
		blank.Pix[i] = 255
	}
	noise := image.NewGray(image.Rect(0, 0, 1200, 900))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(r.IntN(256))
	}
	// A real QR whose text is not SHC text.
	q, err := EncodeBytes("https://example.org/not-a-health-card", M)
	if err != nil {
		t.Fatal(err)
	}
	other := q.mustImage(t, 10)
	// A QR code with its middle wiped out: found but unreadable.
	c, err := Encode(readText(t, vciEx+"example-00-f-qr-code-numeric-value-0.txt"))
	if err != nil {
		t.Fatal(err)
	}
	damaged := toGray(c.mustImage(t, 4))
	for y := 120; y < 300; y++ {
		for x := 120; x < 300; x++ {
			damaged.Pix[y*damaged.Stride+x] = 255
		}
	}
	for _, tc := range []struct {
		name string
		img  image.Image
		want shc.Code
	}{
		{"blank", blank, CodeNoQRFound},
		{"noise", noise, CodeNoQRFound},
		{"damaged", damaged, CodeNoQRFound},
		{"not SHC text", other, shc.CodeMalformedQR},
		{"nil", nil, shc.CodeMalformedInput},
		{"empty", image.NewGray(image.Rect(0, 0, 0, 0)), shc.CodeMalformedInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.img)
			if got != "" {
				t.Fatalf("text %q on error", got)
			}
			requireCode(t, err, tc.want)
		})
	}
	if _, err := Decode(blank); !errors.Is(err, ErrNoQRFound) {
		t.Fatalf("errors.Is: %v", err)
	}
}

// pngHeader returns the signature and IHDR chunk of a PNG claiming w×h
// 8-bit RGBA pixels; no pixel data follows.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // bit depth 8, colour type RGBA
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	crc := crc32.NewIEEE()
	crc.Write([]byte("IHDR"))
	crc.Write(ihdr)
	b.WriteString("IHDR")
	b.Write(ihdr)
	binary.Write(&b, binary.BigEndian, crc.Sum32())
	return b.Bytes()
}

func TestDecodeBytesRefusals(t *testing.T) {
	// The header check itself must accept a well-formed header: a small one
	// gets past the size check and fails later on the missing pixel data.
	_, err := DecodeBytes(pngHeader(100, 100))
	requireCode(t, err, shc.CodeMalformedInput)

	var gif bytes.Buffer
	gif.WriteString("GIF89a\x01\x00\x01\x00\x00\x00\x00;")
	for _, tc := range []struct {
		name string
		data []byte
		want shc.Code
	}{
		{"50000x50000 header", pngHeader(50000, 50000), CodeImageTooLarge},
		{"7000x6000 header", pngHeader(7000, 6000), CodeImageTooLarge},
		{"too many bytes", make([]byte, MaxImageBytes+1), CodeImageTooLarge},
		{"garbage", []byte("this is not an image"), shc.CodeMalformedInput},
		{"empty", nil, shc.CodeMalformedInput},
		{"gif", gif.Bytes(), shc.CodeMalformedInput},
		{"zero width", pngHeader(0, 10), shc.CodeMalformedInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeBytes(tc.data)
			if got != "" {
				t.Fatal("text on error")
			}
			requireCode(t, err, tc.want)
		})
	}
	// Decode checks the pixel count of an already decoded image too.
	_, err = Decode(hugeImage{})
	requireCode(t, err, CodeImageTooLarge)
}

// hugeImage claims 10^8 pixels but has no storage; only Bounds is called
// before the size check refuses it.
type hugeImage struct{}

func (hugeImage) ColorModel() color.Model { return color.GrayModel }
func (hugeImage) Bounds() image.Rectangle { return image.Rect(0, 0, 10000, 10000) }
func (hugeImage) At(int, int) color.Color { panic("pixels must not be read") }

func TestDecodeSVGRejects(t *testing.T) {
	const head = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 29 29">`
	for _, tc := range []struct {
		name, svg string
		want      shc.Code
	}{
		{"not XML", "hello", shc.CodeMalformedInput},
		{"not svg root", `<html></html>`, shc.CodeMalformedInput},
		{"no size", `<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0h1"/></svg>`, shc.CodeMalformedInput},
		{"bad viewBox", `<svg viewBox="0 0 -5 5"></svg>`, shc.CodeMalformedInput},
		{"huge viewBox", `<svg viewBox="0 0 1e9 1e9"></svg>`, shc.CodeMalformedInput},
		{"transform", head + `<g transform="scale(2)"><path d="M0 0h1"/></g></svg>`, shc.CodeMalformedInput},
		{"curve", head + `<path d="M0 0C1 1 2 2 3 3"/></svg>`, shc.CodeMalformedInput},
		{"arc", head + `<path d="M0 0a1 1 0 0 1 2 2"/></svg>`, shc.CodeMalformedInput},
		{"number without command", head + `<path d="0 0"/></svg>`, shc.CodeMalformedInput},
		{"bad number", head + `<path d="M0 0h1e400"/></svg>`, shc.CodeMalformedInput},
		{"nested svg", head + `<svg viewBox="0 0 1 1"/></svg>`, shc.CodeMalformedInput},
		{"bad colour", head + `<path fill="#12" d="M0 0h1v1z"/></svg>`, shc.CodeMalformedInput},
		{"unclosed", head + `<path d="M0 0h1"/>`, shc.CodeMalformedInput},
		{"too deep", head + strings.Repeat("<g>", 40) + strings.Repeat("</g>", 40) + `</svg>`, shc.CodeMalformedInput},
		{"too big", head + strings.Repeat(" ", MaxSVGBytes) + `</svg>`, CodeImageTooLarge},
		{"blank", head + `<rect width="29" height="29" fill="#fff"/></svg>`, CodeNoQRFound},
		{"only defs", head + `<defs><rect width="29" height="29"/></defs></svg>`, CodeNoQRFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeSVG([]byte(tc.svg))
			if got != "" {
				t.Fatal("text on error")
			}
			requireCode(t, err, tc.want)
		})
	}
}

// Other SVG shapes QR generators emit: one <rect> per module in a <g>
// with an inherited fill, style attributes, and filled run rectangles in
// pixel units with a width/height instead of a viewBox.
func TestDecodeSVGVariants(t *testing.T) {
	text := readText(t, vciEx+"example-00-f-qr-code-numeric-value-0.txt")
	c, err := Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	n := c.Size() + 8
	var rects, runs strings.Builder
	rects.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="-4 -4 ` + itoa(n) + " " + itoa(n) + `"><g style="fill: rgb(20,20,20)">`)
	runs.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" width="` + itoa(10*n) + `px" height="` + itoa(10*n) + `"><rect width="100%" height="100%" fill="white"/><path style="fill:#000;stroke:none" d="`)
	for y := 0; y < c.Size(); y++ {
		for x := 0; x < c.Size(); x++ {
			if c.Dark(x, y) {
				rects.WriteString(`<rect x="` + itoa(x) + `" y="` + itoa(y) + `" width="1" height="1"/>`)
				// Absolute L/V and relative forms, comma separated.
				runs.WriteString("M" + itoa(10*(x+4)) + "," + itoa(10*(y+4)) + "L" + itoa(10*(x+5)) + "," + itoa(10*(y+4)) + "V" + itoa(10*(y+5)) + "h-10z")
			}
		}
	}
	rects.WriteString(`</g><title>x</title></svg>`)
	runs.WriteString(`"/></svg>`)
	for name, svg := range map[string]string{"rect per module": rects.String(), "filled squares in px": runs.String()} {
		t.Run(name, func(t *testing.T) {
			got, err := DecodeSVG([]byte(svg))
			if err != nil {
				t.Fatal(err)
			}
			if got != text {
				t.Fatal("decoded text differs")
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// Decoding must never panic, and every failure is a *shc.Error. With a
// fixed budget, the rasterizer is never fed more work than the budget and
// never a coordinate outside the clamp box, whatever the geometry.
func FuzzDecodeSVG(f *testing.F) {
	f.Add([]byte(`<svg viewBox="0 0 29 29"><path stroke="#000" d="M4 4.5h7m2 0h1"/></svg>`))
	f.Add([]byte(`<svg viewBox="0 0 2 2"><rect x="0" y="0" width="1" height="1" style="fill:#333"/></svg>`))
	f.Add([]byte(`<svg width="3" height="3"><path d="m1 1l1 1z m0 0 h-1v-1"/></svg>`))
	f.Add([]byte(`<svg viewBox="0 0 29 29"><rect x="-1e308" y="-1e308" width="1e308" height="1e308"/></svg>`))
	f.Add([]byte(`<svg viewBox="0 0 29 29"><path stroke-width="1e6" stroke="#000" d="M-9999999 0L9999999 9999999"/></svg>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		const budget = 1 << 20
		_, r, err := rasterizeSVGRaster(context.Background(), data, budget)
		if r != nil {
			if r.work > budget {
				t.Fatalf("rasterizer fed %d work units, budget %d", r.work, budget)
			}
			if lo, hi := r.lo, r.hi; float64(r.penX) < lo.x || float64(r.penX) > hi.x || float64(r.penY) < lo.y || float64(r.penY) > hi.y {
				t.Fatalf("pen at (%g,%g) outside the clamp box %v-%v", r.penX, r.penY, lo, hi)
			}
		}
		if err != nil && shc.CodeOf(err) == "" {
			t.Fatalf("failure without a code: %v", err)
		}
		s, err := DecodeSVG(data)
		if err != nil {
			if s != "" || shc.CodeOf(err) == "" {
				t.Fatalf("bad failure: %q, %v", s, err)
			}
			return
		}
		if _, err := shc.ParseQRText(s); err != nil {
			t.Fatalf("returned text that is not SHC QR text: %v", err)
		}
	})
}

// Decoding PNG bytes must never panic, and every failure is a *shc.Error.
func FuzzDecodeBytes(f *testing.F) {
	c, err := Encode("shc:/" + strings.Repeat("5676", 100))
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.PNG(&buf, 1); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(pngHeader(10, 10))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeBytes(data)
		if err != nil && (s != "" || shc.CodeOf(err) == "") {
			t.Fatalf("bad failure: %q, %v", s, err)
		}
	})
}

// DecodeRawBytes reads any QR text (a SMART Health Link, a URL) with the
// same caps and ladder, where DecodeBytes insists on shc:/ text.
func TestDecodeRawBytes(t *testing.T) {
	const link = "shlink:/eyJ1cmwiOiJodHRwczovL2V4YW1wbGUub3JnL3NobC9hYmMiLCJrZXkiOiJyeFRnWWxPYUtKUEZ0Y0VkMHFjY2VOOHdFVTRwOTRTcUF3SVdRZTZ1WDdRIiwiZmxhZyI6IlAifQ"
	q, err := EncodeBytes(link, M)
	if err != nil {
		t.Fatal(err)
	}
	var pb bytes.Buffer
	if err := q.PNGSize(&pb, 300); err != nil {
		t.Fatal(err)
	}
	png := pb.Bytes()
	if got, err := DecodeRawBytes(png); err != nil || got != link {
		t.Fatalf("DecodeRawBytes = %q, %v", got, err)
	}
	if _, err := DecodeBytes(png); shc.CodeOf(err) != shc.CodeMalformedQR {
		t.Fatalf("DecodeBytes on a link: %v, want malformed_qr", err)
	}
	if _, err := DecodeRawBytes([]byte("not an image")); shc.CodeOf(err) != shc.CodeMalformedInput {
		t.Fatalf("garbage: %v", err)
	}
}
