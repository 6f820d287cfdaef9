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
	"image/png"
	"runtime"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/shc"
)

// hostileSVG is the 124-byte shape of issue 10 (n rectangles reaching
// 1e308), which cost 11-14 CPU-seconds each before geometry was clamped.
func hostileSVG(n int) []byte {
	return []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 29 29">` +
		strings.Repeat(`<rect x="-1e308" y="-1e308" width="1e308" height="1e308"/>`, n) + `</svg>`)
}

// Huge coordinates are clamped: 16 such shapes cost a few canvas areas of
// work, and a document needing more work than the budget is refused with
// CodeImageTooLarge before the rasterizer is fed it.
func TestDecodeSVGHostileGeometry(t *testing.T) {
	for _, n := range []int{1, 16} {
		_, work, err := rasterizeSVG(context.Background(), hostileSVG(n), svgWorkBudget)
		if err != nil {
			t.Fatal(err)
		}
		// Canvas 600×600: the fill and one composite (3 areas) plus
		// edges along the clamp box (at most 4 × 3 × 600 × 2 per shape).
		if limit := int64(3*600*600 + n*4*3*600*2); work > limit {
			t.Fatalf("%d shapes: %d work units, want <= %d", n, work, limit)
		}
		if _, err := DecodeSVG(hostileSVG(n)); shc.CodeOf(err) != CodeNoQRFound {
			t.Fatalf("%d shapes: %v, want no_qr_found", n, err)
		}
	}
	// Many long edges: over budget, refused.
	var b strings.Builder
	b.WriteString(`<svg viewBox="0 0 29 29"><path d="`)
	for i := 0; i < 2000; i++ {
		b.WriteString("M-100 -100L200 200L-100 200Z")
	}
	b.WriteString(`"/></svg>`)
	_, work, err := rasterizeSVG(context.Background(), []byte(b.String()), svgWorkBudget)
	if shc.CodeOf(err) != CodeImageTooLarge || work > svgWorkBudget {
		t.Fatalf("over-budget document: %v after %d units, want image_too_large within %d", err, work, svgWorkBudget)
	}
	// A cancelled context stops rasterizing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := DecodeSVGContext(ctx, hostileSVG(100)); shc.CodeOf(err) != CodeCanceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// pngWithHeader is a PNG with a valid IHDR (any size, depth, colour type
// and interlace) and a few bytes of IDAT: enough for DecodeConfig.
func pngWithHeader(w, h uint32, depth, ctype, interlace byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		c := crc32.NewIEEE()
		c.Write([]byte(typ))
		c.Write(data)
		binary.Write(&b, binary.BigEndian, c.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9], ihdr[12] = depth, ctype, interlace
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00})
	chunk("IEND", nil)
	return b.Bytes()
}

// jpegWithSOF is a JPEG header with an SOF0 (baseline) or SOF2
// (progressive) segment declaring w×h and 4:4:4 YCbCr, enough for
// DecodeConfig and DecodeCost.
func jpegWithSOF(w, h uint16, progressive bool) []byte {
	m := byte(0xc0)
	if progressive {
		m = 0xc2
	}
	b := []byte{0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, // APP0 JFIF
		0xff, m, 0, 17, 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3,
		1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1}
	return append(b, 0xff, 0xd9)
}

func heapAllocDuring(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// Images whose decoding would need more than MaxDecodeBytes are refused
// from their header, before decoding: the refusal allocates almost
// nothing, though the pixel count is under MaxImagePixels.
func TestDecodeCostRefusesBeforeDecoding(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		min  int64 // the estimate is at least this
	}{
		{"16-bit RGBA PNG 6000x6000", pngWithHeader(6000, 6000, 16, 6, 0), 6000 * 6000 * 8},
		{"16-bit grey+alpha interlaced PNG 6000x6000", pngWithHeader(6000, 6000, 16, 4, 1), 6000 * 6000 * 16},
		{"progressive JPEG 6000x6000", jpegWithSOF(6000, 6000, true), 6000 * 6000 * 3 * 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cost, err := DecodeCost(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if cost < tc.min || cost <= MaxDecodeBytes {
				t.Fatalf("DecodeCost = %d, want >= %d and over MaxDecodeBytes", cost, tc.min)
			}
			var derr error
			alloc := heapAllocDuring(func() { _, derr = DecodeRawBytes(tc.data) })
			if shc.CodeOf(derr) != CodeImageTooLarge {
				t.Fatalf("DecodeRawBytes: %v, want image_too_large", derr)
			}
			if alloc > 1<<20 {
				t.Fatalf("refusal allocated %d bytes", alloc)
			}
		})
	}
	// The same dimensions in a cheap form pass the budget check.
	if cost, err := DecodeCost(jpegWithSOF(6000, 6000, false)); err != nil || cost > MaxDecodeBytes {
		t.Fatalf("baseline 6000x6000 JPEG: cost %d, %v; want within budget", cost, err)
	}
	if _, err := DecodeCost([]byte("GIF89a")); shc.CodeOf(err) != shc.CodeMalformedInput {
		t.Fatalf("GIF: %v", err)
	}
}

// DecodeCost is an upper bound of what decoding really allocates, for
// PNGs of every colour form and for baseline and progressive JPEG.
func TestDecodeCostBoundsAllocation(t *testing.T) {
	c, err := Encode(qrTextFor(t, fakeJWS(300)))
	if err != nil {
		t.Fatal(err)
	}
	src := c.mustImage(t, 6)
	b := src.Bounds()
	conv := func(img interface {
		image.Image
		Set(x, y int, c color.Color)
	}) image.Image {
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				img.Set(x, y, src.At(x, y))
			}
		}
		return img
	}
	var images [][]byte
	for _, img := range []image.Image{
		src,
		conv(image.NewGray(b)),
		conv(image.NewGray16(b)),
		conv(image.NewNRGBA(b)),
		conv(image.NewNRGBA64(b)),
	} {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		images = append(images, buf.Bytes())
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, src, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	images = append(images, jb.Bytes(), photoLike(t, c))
	for i, data := range images {
		cost, err := DecodeCost(data)
		if err != nil {
			t.Fatal(err)
		}
		var text string
		alloc := heapAllocDuring(func() { text, err = DecodeRawBytes(data) })
		if err != nil || text != c.Text() {
			t.Fatalf("image %d: %v", i, err)
		}
		if int64(alloc) > cost {
			t.Errorf("image %d: decoding allocated %d bytes, DecodeCost said %d", i, alloc, cost)
		}
	}
}

// A finished context stops image decoding before any work.
func TestDecodeContext(t *testing.T) {
	c, err := Encode(qrTextFor(t, fakeJWS(100)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := DecodeBytesContext(ctx, pngBytes(t, c, 3)); shc.CodeOf(err) != CodeCanceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("DecodeBytesContext: %v", err)
	}
	if _, err := DecodeContext(ctx, c.mustImage(t, 3)); !errors.Is(err, ErrCanceled) {
		t.Fatalf("DecodeContext: %v", err)
	}
	if got, err := DecodeContext(context.Background(), c.mustImage(t, 3)); err != nil || got != c.Text() {
		t.Fatalf("live context: %v", err)
	}
}
