package qr

import (
	"bytes"
	"context"
	"image"
	"math/rand"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
)

// Every clean render of ours reads back. Before pureBits, one symbol in
// about 200 (seed 1, symbol 192: version 19, level L, mask 3, at 8 px a
// module) was refused with no_qr_found: the finder-pattern detector took
// data modules for a finder and sampled outside the image, and the ladder
// budget ended before a rung read it (a desk test read such a QR from the
// issuer's PNG about one run in four).
func TestCleanRendersAlwaysRead(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	levels := []Level{L, M, Q, H}
	tried := 0
	for i := range 240 {
		n := 200 + r.Intn(2000)
		lv := levels[i%4]
		if n > 1000 && lv != L {
			n /= 3
		}
		var b strings.Builder
		b.WriteString("shc:/")
		for range n / 2 {
			v := r.Intn(78)
			b.WriteByte(byte('0' + v/10))
			b.WriteByte(byte('0' + v%10))
		}
		c, err := Encode(b.String(), WithLevel(lv))
		if err != nil {
			continue // over capacity at this level
		}
		tried++
		scale := []int{8, 4, 2}[i%3]
		var png bytes.Buffer
		if err := c.PNG(&png, scale); err != nil {
			t.Fatal(err)
		}
		got, err := DecodeImage(context.Background(), png.Bytes())
		if err != nil || got != b.String() {
			t.Errorf("symbol %d (version %d, level %v, mask %d, %d px a module) did not read back: %v", i, c.Version(), lv, c.Mask(), scale, err)
		}
	}
	if tried < 150 {
		t.Fatalf("only %d symbols tried", tried)
	}
}

// pureBits refuses what is not a clean upright symbol, so a photo's answer
// comes from the detector.
func TestPureBitsRefusesNonSymbols(t *testing.T) {
	c, err := Encode("shc:/" + strings.Repeat("56", 40))
	if err != nil {
		t.Fatal(err)
	}
	img := c.mustImage(t, 4)
	black := blackMatrix(t, img)
	bits, err := pureBits(black)
	if err != nil || bits.GetWidth() != c.Size() {
		tl, br := black.GetTopLeftOnBit(), black.GetBottomRightOnBit()
		t.Fatalf("clean symbol: %v (size %d, box %v %v, image %v)", err, c.Size(), tl, br, img.Bounds())
	}
	rotated := blackMatrix(t, rotate(toGray(img), 12))
	if _, err := pureBits(rotated); err == nil {
		t.Error("a rotated symbol was read as an upright clean one")
	}
}

func blackMatrix(t *testing.T, img image.Image) *gozxing.BitMatrix {
	t.Helper()
	g := toGray(img)
	w, h := g.Rect.Dx(), g.Rect.Dy()
	src, err := gozxing.NewPlanarYUVLuminanceSource(g.Pix, w, h, 0, 0, w, h, false)
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewGlobalHistgramBinarizer(src))
	if err != nil {
		t.Fatal(err)
	}
	m, err := bmp.GetBlackMatrix()
	if err != nil {
		t.Fatal(err)
	}
	return m
}
