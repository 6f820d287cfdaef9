package qr

import (
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/healthcards/healthcards/internal/testvectors"
)

func benchText(b *testing.B) string {
	return readText(b, vciEx+"example-00-f-qr-code-numeric-value-0.txt")
}

// Encode example 00 (804-character JWS, version 18) and write a PNG at
// 4 px per module.
func BenchmarkEncodePNG(b *testing.B) {
	text := benchText(b)
	for b.Loop() {
		c, err := Encode(text)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.PNG(io.Discard, 4); err != nil {
			b.Fatal(err)
		}
	}
}

// Encode alone (symbol, mask selection and the structural check).
func BenchmarkEncode(b *testing.B) {
	text := benchText(b)
	for b.Loop() {
		if _, err := Encode(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeCleanPNG(b *testing.B) {
	text := benchText(b)
	c, err := Encode(text)
	if err != nil {
		b.Fatal(err)
	}
	data := pngBytes(b, c, 4)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if got, err := DecodeBytes(data); err != nil || got != text {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePhotoJPEG(b *testing.B) {
	text := benchText(b)
	c, err := Encode(text)
	if err != nil {
		b.Fatal(err)
	}
	data := photoLike(b, c)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if got, err := DecodeBytes(data); err != nil || got != text {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSVG(b *testing.B) {
	data := testvectors.Read(b, vciEx+"example-00-g-qr-code-0.svg")
	for b.Loop() {
		if _, err := DecodeSVG(data); err != nil {
			b.Fatal(err)
		}
	}
}

// The whole ladder on an image with no QR code: the bounded worst case.
func BenchmarkDecodeNoQR(b *testing.B) {
	c, err := Encode(benchText(b))
	if err != nil {
		b.Fatal(err)
	}
	img := toGray(c.mustImage(b, 4))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7919 % 251) // deterministic texture, no finder patterns
	}
	for b.Loop() {
		if _, err := Decode(img); err == nil {
			b.Fatal("decoded a QR from noise")
		}
	}
}

// Render only: the version 18 symbol of example 00 as a PNG at 4 px per
// module, and as an SVG.
func BenchmarkRenderPNG(b *testing.B) {
	c, err := Encode(benchText(b))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := c.PNG(io.Discard, 4); err != nil {
			b.Fatal(err)
		}
	}
}

// The same at 6 px per module: the issuer's default (POST /v1/cards?format=png).
func BenchmarkRenderPNG6(b *testing.B) {
	c, err := Encode(benchText(b))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := c.PNG(io.Discard, 6); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderSVG(b *testing.B) {
	c, err := Encode(benchText(b))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := c.SVG(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// Issue 10's hostile SVG: 16 rectangles reaching 1e308 (196 CPU-seconds
// before clamping), the whole DecodeSVG call including the ladder.
func BenchmarkDecodeSVGHostile16(b *testing.B) {
	data := hostileSVG(16)
	for b.Loop() {
		if _, err := DecodeSVG(data); err == nil {
			b.Fatal("decoded")
		}
	}
}

// BenchmarkDecodePhotoSet decodes one shot of the photo set per op;
// QR_PHOTO=N picks it (default 2, one no decoder reads: the full ladder).
func BenchmarkDecodePhotoSet(b *testing.B) {
	c, err := Encode(benchText(b))
	if err != nil {
		b.Fatal(err)
	}
	i := 2
	if s := os.Getenv("QR_PHOTO"); s != "" {
		i, _ = strconv.Atoi(s)
	}
	data := photoSet(b, photoSeed, photoCount)[i].render(b, c, uint64(i))
	for b.Loop() {
		DecodeBytes(data)
	}
}
