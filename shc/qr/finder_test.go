package qr

import (
	"context"
	"image"
	"math/rand/v2"
	"strings"
	"testing"
)

// The finder pre-scan lets through every rendering the ladder reads
// (clean, 1 px per module, tilted, inverted) and refuses images with no
// 1:1:3:1:1 pattern before any decode attempt.
func TestFinderPrescan(t *testing.T) {
	c, err := Encode(readText(t, vciEx+"example-00-f-qr-code-numeric-value-0.txt"))
	if err != nil {
		t.Fatal(err)
	}
	clean := toGray(c.mustImage(t, 4))
	for name, g := range map[string]*image.Gray{
		"clean 4 px":     clean,
		"clean 1 px":     toGray(c.mustImage(t, 1)),
		"clean 2 px":     toGray(c.mustImage(t, 2)),
		"tilted 12°":     rotate(clean, 12),
		"tilted -20°":    rotate(clean, -20),
		"inverted":       invert(clean),
		"blurred twice":  blur(blur(clean)),
		"half size blur": resize(blur(clean), clean.Rect.Dx()/2),
	} {
		if !hasFinderCandidate(g, nil) {
			t.Errorf("%s: no finder candidate found", name)
		}
	}

	noise := newGray(clean.Rect.Dx(), clean.Rect.Dy())
	for i := range noise.Pix {
		noise.Pix[i] = uint8(i * 7919 % 251) // BenchmarkDecodeNoQR's texture
	}
	grad := newGray(640, 480)
	rng := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			grad.Pix[y*640+x] = uint8(x*200/640 + rng.IntN(6)) // a lit wall with sensor noise
		}
	}
	stripes := newGray(300, 300)
	for i := range stripes.Pix {
		if (i%300)/5%2 == 0 { // even bars: runs 1:1:1:1:1, never 1:1:3:1:1
			stripes.Pix[i] = 255
		}
	}
	for name, g := range map[string]*image.Gray{"noise texture": noise, "gradient": grad, "even stripes": stripes} {
		if hasFinderCandidate(g, nil) {
			t.Errorf("%s: finder candidate found in an image with no QR", name)
			continue
		}
		_, err := DecodeContext(context.Background(), g)
		requireCode(t, err, CodeNoQRFound)
		if !strings.Contains(err.Error(), "no finder pattern") {
			t.Errorf("%s: refused by %v, want the pre-scan", name, err)
		}
	}
}

func TestFinderRatio(t *testing.T) {
	for _, c := range []struct {
		r    [5]int
		want bool
	}{
		{[5]int{1, 1, 3, 1, 1}, true},
		{[5]int{4, 4, 12, 4, 4}, true},
		{[5]int{5, 3, 14, 4, 5}, true},
		{[5]int{1, 1, 1, 1, 1}, false},
		{[5]int{4, 4, 4, 4, 4}, false},
		{[5]int{4, 4, 12, 4, 20}, false},
		{[5]int{0, 0, 3, 0, 0}, false},
	} {
		if got := finderRatio(c.r); got != c.want {
			t.Errorf("finderRatio(%v) = %v, want %v", c.r, got, c.want)
		}
	}
}
