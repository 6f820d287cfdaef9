package qr

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"io"
	"testing"
)

// checkPNG decodes b with image/png and compares every pixel with the
// symbol: side×side, modules of scale pixels from pixel off+4*scale, white
// elsewhere. It also inflates the IDAT stream to its end with
// compress/zlib, which checks the Adler-32.
func checkPNG(t *testing.T, c *Code, b []byte, side, scale, off int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("image/png: %v", err)
	}
	g, ok := img.(*image.Gray)
	if !ok || g.Bounds() != image.Rect(0, 0, side, side) {
		t.Fatalf("decoded %T %v, want a %d-pixel square *image.Gray", img, img.Bounds(), side)
	}
	first := off + quietZone*scale
	for y := 0; y < side; y++ {
		row := g.Pix[y*g.Stride : y*g.Stride+side]
		my := (y - first) / scale
		if y < first {
			my = -1
		}
		for x, v := range row {
			mx := (x - first) / scale
			if x < first {
				mx = -1
			}
			if want := c.Dark(mx, my); (v == 0) != want || (v != 0 && v != 0xff) {
				t.Fatalf("scale %d: pixel (%d,%d) = %d, want dark=%v", scale, x, y, v, want)
			}
		}
	}
	// The IDAT chunk (one) inflates to side rows of 1 + ceil(side/8) bytes.
	idat := b[8+25:]
	if string(idat[4:8]) != "IDAT" {
		t.Fatalf("second chunk is %q", idat[4:8])
	}
	zr, err := zlib.NewReader(bytes.NewReader(idat[8 : 8+binary.BigEndian.Uint32(idat)]))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("inflating IDAT: %v", err)
	}
	if want := side * (1 + (side+7)/8); len(raw) != want {
		t.Fatalf("IDAT inflates to %d bytes, want %d", len(raw), want)
	}
}

// Every scale 1..MaxScale on a version 1 symbol, the first ten and 16 on
// example 00 (version 18), and PNGSize with centring offsets and modules
// of up to 68 px: every pixel is right, the zlib stream is whole.
func TestPNGPixels(t *testing.T) {
	small, err := Encode("shc:/5676")
	if err != nil {
		t.Fatal(err)
	}
	ex00, err := Encode(readText(t, vciEx+"example-00-f-qr-code-numeric-value-0.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for scale := 1; scale <= MaxScale; scale++ {
		checkPNG(t, small, pngBytes(t, small, scale), (small.Size()+8)*scale, scale, 0)
	}
	for _, scale := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16} {
		checkPNG(t, ex00, pngBytes(t, ex00, scale), (ex00.Size()+8)*scale, scale, 0)
	}
	for _, size := range []int{1, 37, 100, 333, 1000} {
		for _, c := range []*Code{small, ex00} {
			var b bytes.Buffer
			if err := c.PNGSize(&b, size); err != nil {
				t.Fatal(err)
			}
			n := c.Size() + 8
			side := max(size, n)
			scale := side / n
			checkPNG(t, c, b.Bytes(), side, scale, (side-n*scale)/2)
		}
	}
	// 68 px modules (29 with the quiet zone in 2000 px): past the spread
	// tables, one module at a time.
	var b bytes.Buffer
	if err := small.PNGSize(&b, 2000); err != nil {
		t.Fatal(err)
	}
	if small.Size() != 21 {
		t.Fatalf("version 1 symbol of %d modules", small.Size())
	}
	checkPNG(t, small, b.Bytes(), 2000, 68, (2000-29*68)/2)
}

// The PNGs zbar and our decoder read: example 00 at several scales and
// sizes.
func TestPNGReadBack(t *testing.T) {
	text := readText(t, vciEx+"example-00-f-qr-code-numeric-value-0.txt")
	c, err := Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	var pngs [][]byte
	for _, scale := range []int{2, 3, 4, 5, 6, 7, 8, 12} {
		pngs = append(pngs, pngBytes(t, c, scale))
	}
	var b bytes.Buffer
	if err := c.PNGSize(&b, 700); err != nil {
		t.Fatal(err)
	}
	pngs = append(pngs, b.Bytes())
	for i, p := range pngs {
		if got, err := DecodeBytes(p); err != nil || got != text {
			t.Fatalf("image %d: our decoder: %v", i, err)
		}
	}
	for i, got := range zbarRead(t, pngs) {
		if got != text {
			t.Fatalf("zbar: image %d reads %d bytes, want the %d-byte text", i, len(got), len(text))
		}
	}
}

// A version 18 PNG at the issuer's 6 px per module stays about as small as
// zlib made it (3,107 B at BestSpeed; 2,771 B at this writing).
func TestPNGSize(t *testing.T) {
	c, err := Encode(readText(t, vciEx+"example-00-f-qr-code-numeric-value-0.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pngBytes(t, c, 6)); n > 3100 {
		t.Fatalf("example 00 at 6 px: %d bytes, want at most 3,100", n)
	}
}

// huffmanLengths keeps to its limit (frequencies that would give a 24-bit
// code) and gives a complete code (Kraft sum 1) that canonicalCodes turns
// into distinct prefix-free codes.
func TestHuffmanLengths(t *testing.T) {
	for _, tc := range []struct {
		freq  []int
		limit int
	}{
		{fib(25), 15}, {fib(19), 7}, {[]int{5}, 15}, {[]int{0, 0, 3, 0}, 7}, {[]int{1, 1}, 15},
		{[]int{100, 1, 1, 1, 1, 1, 1, 1, 50, 0, 0, 7}, 15},
	} {
		t.Run(fmt.Sprint(tc.freq), func(t *testing.T) {
			lens := make([]uint8, max(len(tc.freq), 2))
			huffmanLengths(append(tc.freq, make([]int, len(lens)-len(tc.freq))...), lens, tc.limit)
			kraft := 0.0
			for i, l := range lens {
				if int(l) > tc.limit {
					t.Fatalf("symbol %d: length %d over %d", i, l, tc.limit)
				}
				if i < len(tc.freq) && tc.freq[i] > 0 && l == 0 {
					t.Fatalf("used symbol %d has no code", i)
				}
				if l > 0 {
					kraft += 1 / float64(uint(1)<<l)
				}
			}
			if kraft != 1 {
				t.Fatalf("Kraft sum %v, want 1", kraft)
			}
			codes := make([]uint16, len(lens))
			canonicalCodes(lens, codes)
			for i := range lens {
				for j := range lens {
					if i == j || lens[i] == 0 || lens[j] == 0 || lens[i] > lens[j] {
						continue
					}
					// codes are bit-reversed: a prefix is the low bits.
					if codes[j]&(1<<lens[i]-1) == codes[i] {
						t.Fatalf("code of %d is a prefix of the code of %d", i, j)
					}
				}
			}
		})
	}
}

func fib(n int) []int {
	f := []int{1, 1}
	for len(f) < n {
		f = append(f, f[len(f)-1]+f[len(f)-2])
	}
	return f
}

// FuzzPNG: random card-like symbols at any level, scale (1..MaxScale) or
// PNGSize: every PNG decodes with image/png to exactly the symbol's pixels
// and its zlib stream inflates whole.
func FuzzPNG(f *testing.F) {
	f.Add([]byte("56762909"), uint8(0), uint8(6), uint16(0))
	f.Add([]byte{7, 7, 7}, uint8(3), uint8(1), uint16(0))
	f.Add([]byte("0123456789"), uint8(1), uint8(0), uint16(777))
	f.Fuzz(func(t *testing.T, seed []byte, level, scale uint8, size uint16) {
		if len(seed) == 0 || len(seed) > 400 {
			return
		}
		digits := make([]byte, 0, 2*len(seed))
		for _, b := range seed {
			v := int(b) % 78
			digits = append(digits, byte('0'+v/10), byte('0'+v%10))
		}
		c, err := Encode("shc:/"+string(digits), WithLevel(Level(level%4)))
		if err != nil {
			t.Fatal(err)
		}
		n := c.Size() + 8
		if size == 0 {
			s := 1 + int(scale)%MaxScale
			if n*s > 1200 {
				s = 1200 / n
			}
			checkPNG(t, c, pngBytes(t, c, s), n*s, s, 0)
			return
		}
		side := max(int(size)%1400, n)
		var b bytes.Buffer
		if err := c.PNGSize(&b, side); err != nil {
			t.Fatal(err)
		}
		s := side / n
		checkPNG(t, c, b.Bytes(), side, s, (side-n*s)/2)
	})
}
